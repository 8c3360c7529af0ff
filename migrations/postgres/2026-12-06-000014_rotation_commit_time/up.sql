-- A refresh token's grace window opens when its rotation commits. The engine already writes the
-- later of the request's time and the database clock; a commit delayed past that (a primary frozen
-- between the statement and COMMIT) moves it once more, to the commit itself.
CREATE FUNCTION refresh_rotation_committed() RETURNS trigger AS $$
BEGIN
    UPDATE refresh_tokens
       SET rotated_at = GREATEST(rotated_at, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT)
     WHERE token_hash = NEW.token_hash;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER refresh_rotation_committed
    AFTER UPDATE OF rotated_at ON refresh_tokens
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW
    WHEN (OLD.rotated_at IS NULL AND NEW.rotated_at IS NOT NULL)
    EXECUTE FUNCTION refresh_rotation_committed();
