-- What a developer tunes per app: token lifetimes (NULL: the engine's) and the sign-in channels.
ALTER TABLE apps ADD COLUMN access_ttl_secs BIGINT;
ALTER TABLE apps ADD COLUMN reuse_grace_secs BIGINT;
ALTER TABLE apps ADD COLUMN sms_enabled BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE apps ADD COLUMN email_enabled BOOLEAN NOT NULL DEFAULT TRUE;
