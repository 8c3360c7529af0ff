-- Each foreign key's referencing column leads an index, so a check from the referenced side (a
-- user, licence or session removed, or SQLite's check when a user is upserted) searches rather
-- than reads the whole table. Reordered indexes serve the same app-and-user lookups as before.
DROP INDEX sessions_by_user;
CREATE INDEX sessions_by_user ON sessions (user_id, app_id);
DROP INDEX role_assignments_by_user;
CREATE INDEX role_assignments_by_user ON role_assignments (user_id, app_id);
CREATE INDEX licenses_by_user ON licenses (user_id);
CREATE INDEX activations_by_license ON activations (license_id);
