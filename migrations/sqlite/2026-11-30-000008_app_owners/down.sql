DROP INDEX apps_by_owner;
ALTER TABLE apps DROP COLUMN owner_id;
