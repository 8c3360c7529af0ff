DROP TABLE role_assignments;
DROP TABLE tenants;
ALTER TABLE users DROP COLUMN first_login_at;
ALTER TABLE apps DROP COLUMN revoke_sessions_on_role_change;
