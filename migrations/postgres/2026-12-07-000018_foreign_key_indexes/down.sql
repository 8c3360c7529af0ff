DROP INDEX activations_by_license;
DROP INDEX licenses_by_user;
DROP INDEX role_assignments_by_user;
CREATE INDEX role_assignments_by_user ON role_assignments (app_id, user_id);
DROP INDEX sessions_by_user;
CREATE INDEX sessions_by_user ON sessions (app_id, user_id);
