-- Facts about the engine's data as a whole. The first: the master key's check value, so an engine
-- started with another key refuses to start instead of failing on the first login.
CREATE TABLE engine_settings (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
