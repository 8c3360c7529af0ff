ALTER TABLE signing_keys DROP COLUMN withdrawn_at;
