-- The secret a rotation replaced keeps working until previous_secret_expires_at (microseconds since
-- the epoch), so deployed backends can switch over; both NULL when there is none.
ALTER TABLE apps ADD COLUMN previous_secret_hash TEXT;
ALTER TABLE apps ADD COLUMN previous_secret_expires_at BIGINT;
