DROP TABLE app_test_identifiers;
ALTER TABLE apps DROP COLUMN sandboxed;
