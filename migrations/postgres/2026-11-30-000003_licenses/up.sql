-- Keys and device fingerprints are stored only as keyed hashes.
CREATE TABLE licenses (
    id              TEXT PRIMARY KEY,
    app_id          TEXT NOT NULL REFERENCES apps (id),
    key_hash        BYTEA NOT NULL UNIQUE,
    user_id         TEXT REFERENCES users (id),
    tenant          TEXT,
    product         TEXT,
    max_activations BIGINT NOT NULL,
    -- Seats in use: activation takes a seat with one conditional update of this row.
    active_seats    BIGINT NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,
    expires_at      BIGINT,
    metadata        TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX licenses_by_app ON licenses (app_id, id);

CREATE TABLE activations (
    id             TEXT PRIMARY KEY,
    license_id     TEXT NOT NULL REFERENCES licenses (id),
    app_id         TEXT NOT NULL REFERENCES apps (id),
    device_hash    BYTEA NOT NULL,
    device_name    TEXT,
    created_at     BIGINT NOT NULL,
    deactivated_at BIGINT
);
-- One live seat per device and license.
CREATE UNIQUE INDEX activations_live_device ON activations (license_id, device_hash)
    WHERE deactivated_at IS NULL;
