-- Postgres moves a refresh rotation's time to its commit with a deferred trigger. SQLite needs none:
-- the engine's own statement takes the write lock and commits at once, and it already writes the
-- later of the request's time and the database clock.
SELECT 1;
