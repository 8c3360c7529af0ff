-- When a key was withdrawn (a leak): out of the JWKS at once, and no token it signed accepted.
ALTER TABLE signing_keys ADD COLUMN withdrawn_at BIGINT;
