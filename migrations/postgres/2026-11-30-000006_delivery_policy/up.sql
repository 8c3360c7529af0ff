-- Each app's defences against SMS pumping and mail abuse: the countries SMS may go to (NULL: any,
-- else comma-separated calling codes) and daily caps per channel.
ALTER TABLE apps ADD COLUMN sms_countries TEXT;
ALTER TABLE apps ADD COLUMN sms_per_day BIGINT NOT NULL DEFAULT 1000;
ALTER TABLE apps ADD COLUMN emails_per_day BIGINT NOT NULL DEFAULT 10000;
