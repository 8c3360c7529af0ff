-- What every request reads and almost nothing changes (apps and their signing keys) is kept in the
-- engine process. Every change to them bumps this version, by trigger, so no writer can forget
-- (an operator command in another process included): the engine compares it before using what
-- it kept.
CREATE TABLE config_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO config_version (id, version) VALUES (1, 0);

CREATE TRIGGER apps_insert_config_changed AFTER INSERT ON apps
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER apps_update_config_changed AFTER UPDATE ON apps
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER apps_delete_config_changed AFTER DELETE ON apps
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER signing_keys_insert_config_changed AFTER INSERT ON signing_keys
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER signing_keys_update_config_changed AFTER UPDATE ON signing_keys
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;

CREATE TRIGGER signing_keys_delete_config_changed AFTER DELETE ON signing_keys
BEGIN
    UPDATE config_version SET version = version + 1 WHERE id = 1;
END;
