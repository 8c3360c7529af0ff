-- How long an app's refresh tokens may go unused, in seconds; NULL: the engine's (14 days).
ALTER TABLE apps ADD COLUMN refresh_idle_secs BIGINT;
