DROP TABLE audit_events;
DROP TABLE rate_counters;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE otp_requests;
DROP TABLE users;
DROP TABLE signing_keys;
DROP TABLE apps;
