DROP TABLE engine_settings;
