DROP TRIGGER signing_keys_config_changed ON signing_keys;
DROP TRIGGER apps_config_changed ON apps;
DROP FUNCTION config_changed();
DROP TABLE config_version;
