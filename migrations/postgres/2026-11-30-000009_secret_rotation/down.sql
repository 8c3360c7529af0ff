ALTER TABLE apps DROP COLUMN previous_secret_expires_at;
ALTER TABLE apps DROP COLUMN previous_secret_hash;
