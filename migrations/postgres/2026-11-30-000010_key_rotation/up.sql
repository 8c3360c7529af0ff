-- When a signing key was replaced by a newer one (microseconds since the epoch); NULL while it signs.
-- A replaced key stays published until every token it signed has expired.
ALTER TABLE signing_keys ADD COLUMN retired_at BIGINT;
