-- Whose request a code was sent for: a keyed hash of the caller's address. A new code supersedes
-- only the earlier codes of the same caller, so a stranger's sends cannot cancel someone's code.
ALTER TABLE otp_requests ADD COLUMN caller_key TEXT NOT NULL DEFAULT '';
