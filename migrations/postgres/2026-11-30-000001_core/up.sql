-- Times are microseconds since the Unix epoch (BIGINT) so one diesel schema serves both backends.
CREATE TABLE apps (
    id             TEXT PRIMARY KEY,
    slug           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    secret_hash    TEXT NOT NULL,
    secret_version BIGINT NOT NULL,
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid                   TEXT PRIMARY KEY,
    app_id                TEXT NOT NULL REFERENCES apps (id),
    encrypted_private_key BYTEA NOT NULL,
    public_key_der        BYTEA NOT NULL,
    created_at            BIGINT NOT NULL
);
CREATE INDEX signing_keys_by_app ON signing_keys (app_id, created_at);

CREATE TABLE users (
    id         TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES apps (id),
    phone      TEXT,
    email      TEXT,
    created_at BIGINT NOT NULL,
    CHECK (phone IS NOT NULL OR email IS NOT NULL)
);
CREATE UNIQUE INDEX users_by_phone ON users (app_id, phone);
CREATE UNIQUE INDEX users_by_email ON users (app_id, email);

CREATE TABLE otp_requests (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL REFERENCES apps (id),
    identifier_kind TEXT NOT NULL,
    identifier      TEXT NOT NULL,
    code_hash       BYTEA NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    consumed_at     BIGINT,
    superseded_at   BIGINT
);
CREATE INDEX otp_requests_open ON otp_requests (app_id, identifier_kind, identifier)
    WHERE consumed_at IS NULL AND superseded_at IS NULL;

CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    app_id     TEXT NOT NULL REFERENCES apps (id),
    user_id    TEXT NOT NULL REFERENCES users (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_by_user ON sessions (app_id, user_id);

CREATE TABLE refresh_tokens (
    token_hash     BYTEA PRIMARY KEY,
    session_id     TEXT NOT NULL REFERENCES sessions (id),
    app_id         TEXT NOT NULL REFERENCES apps (id),
    created_at     BIGINT NOT NULL,
    rotated_at     BIGINT,
    successor_hash BYTEA
);
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

CREATE TABLE rate_counters (
    key          TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    window_end   BIGINT NOT NULL,
    hits         BIGINT NOT NULL
);

CREATE TABLE audit_events (
    seq         BIGSERIAL PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    app_id      TEXT,
    event       TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    actor       TEXT,
    subject     TEXT,
    client_ip   TEXT,
    user_agent  TEXT,
    request_id  TEXT,
    details     TEXT NOT NULL,
    occurred_at BIGINT NOT NULL
);
CREATE INDEX audit_events_by_app ON audit_events (app_id, seq);

-- The audit log is append-only: the database itself refuses to change or remove a record.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;
CREATE TRIGGER audit_events_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
