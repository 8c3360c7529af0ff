ALTER TABLE apps ADD COLUMN revoke_sessions_on_role_change BOOLEAN NOT NULL DEFAULT FALSE;

-- Users can now exist before they first sign in (a role assigned by phone or email), so "new user"
-- means "first login", recorded here. Everyone already stored has signed in.
ALTER TABLE users ADD COLUMN first_login_at BIGINT;
UPDATE users SET first_login_at = created_at;

CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES apps (id),
    slug       TEXT NOT NULL,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (app_id, slug)
);

-- One row per role held: a membership is the set of a user's rows in a tenant, so removing the last
-- role removes the membership, and concurrent assignments of one role meet on the primary key.
CREATE TABLE role_assignments (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    app_id     TEXT NOT NULL REFERENCES apps (id),
    role       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, role)
);
CREATE INDEX role_assignments_by_user ON role_assignments (app_id, user_id);
