-- Each link's seal: an HMAC of the chain, the position and the link under a key derived from the
-- data key, which only the master key opens. Whoever holds the database alone can recompute links
-- but not seal them again. NULL only for links sealed before seals existed.
ALTER TABLE audit_chain ADD COLUMN seal BYTEA;

-- The one update a link allows: being given the seal it lacks (the engine run that applies this
-- migration seals each chain's last link as its legacy head, vouching for the links before it).
DROP TRIGGER audit_chain_no_update ON audit_chain;
CREATE FUNCTION audit_chain_seal_once() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.seal IS NULL AND NEW.seal IS NOT NULL AND NEW.chain = OLD.chain
       AND NEW.position = OLD.position AND NEW.event_seq = OLD.event_seq AND NEW.link = OLD.link THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_chain is append-only: a link may only be given the seal it lacks';
END
$$;
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_chain_seal_once();
