ALTER TABLE signing_keys DROP COLUMN retired_at;
