ALTER TABLE apps DROP COLUMN emails_per_day;
ALTER TABLE apps DROP COLUMN sms_per_day;
ALTER TABLE apps DROP COLUMN sms_countries;
