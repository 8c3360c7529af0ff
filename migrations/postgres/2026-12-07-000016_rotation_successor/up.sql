-- A rotation and its successor token are one statement: naming the successor creates it, in the
-- same statement and transaction, so a rotated token never lacks one and a refresh pays no round
-- trip for it.
CREATE FUNCTION refresh_rotation_successor() RETURNS trigger AS $$
BEGIN
    INSERT INTO refresh_tokens (token_hash, session_id, app_id, created_at)
    VALUES (NEW.successor_hash, NEW.session_id, NEW.app_id, COALESCE(NEW.rotated_at, NEW.created_at));
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER refresh_rotation_successor
    AFTER UPDATE OF successor_hash ON refresh_tokens
    FOR EACH ROW
    WHEN (OLD.successor_hash IS NULL AND NEW.successor_hash IS NOT NULL)
    EXECUTE FUNCTION refresh_rotation_successor();
