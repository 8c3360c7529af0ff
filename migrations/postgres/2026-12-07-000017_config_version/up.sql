-- What every request reads and almost nothing changes (apps and their signing keys) is kept in each
-- engine process. Every change to them bumps this version and notifies `auth_engine_config`, by
-- trigger, so no writer can forget: each process drops what it kept as soon as it hears.
CREATE TABLE config_version (
    id      SMALLINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 0);

CREATE FUNCTION config_changed() RETURNS trigger AS $$
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
    PERFORM pg_notify('auth_engine_config', '');
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER apps_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON apps
    FOR EACH STATEMENT EXECUTE FUNCTION config_changed();
CREATE TRIGGER signing_keys_config_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON signing_keys
    FOR EACH STATEMENT EXECUTE FUNCTION config_changed();
