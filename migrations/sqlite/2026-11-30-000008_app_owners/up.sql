-- The developer who created an app in the portal (a user of the portal app); NULL for apps an
-- operator created with the CLI.
ALTER TABLE apps ADD COLUMN owner_id TEXT REFERENCES users (id);
CREATE INDEX apps_by_owner ON apps (owner_id);
