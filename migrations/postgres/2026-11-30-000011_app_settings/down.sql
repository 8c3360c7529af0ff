ALTER TABLE apps DROP COLUMN email_enabled;
ALTER TABLE apps DROP COLUMN sms_enabled;
ALTER TABLE apps DROP COLUMN reuse_grace_secs;
ALTER TABLE apps DROP COLUMN access_ttl_secs;
