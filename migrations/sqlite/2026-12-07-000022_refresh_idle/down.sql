ALTER TABLE apps DROP COLUMN refresh_idle_secs;
