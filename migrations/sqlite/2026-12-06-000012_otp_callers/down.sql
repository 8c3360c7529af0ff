ALTER TABLE otp_requests DROP COLUMN caller_key;
