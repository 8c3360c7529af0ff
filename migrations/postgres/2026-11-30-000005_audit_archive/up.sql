-- Signed checkpoints: each says that positions from_position..position of a chain were archived and
-- that the chain went on from `link`. Append-only, like the log.
CREATE TABLE audit_checkpoints (
    chain         TEXT NOT NULL,
    from_position BIGINT NOT NULL,
    position      BIGINT NOT NULL,
    link          BYTEA NOT NULL,
    token         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    -- Two archives starting from the same place cannot both commit.
    PRIMARY KEY (chain, from_position),
    UNIQUE (chain, position)
);
CREATE TRIGGER audit_checkpoints_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Records and links may now be deleted, but only once a checkpoint covers them.
DROP TRIGGER audit_events_no_update_or_delete ON audit_events;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE FUNCTION audit_events_delete_archived_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_chain c
               JOIN audit_checkpoints k ON k.chain = c.chain AND c.position <= k.position
               WHERE c.event_seq = OLD.seq) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only: only records a checkpoint covers can be archived';
END
$$;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_delete_archived_only();

DROP TRIGGER audit_chain_no_update_or_delete ON audit_chain;
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE FUNCTION audit_chain_delete_archived_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM audit_checkpoints k
               WHERE k.chain = OLD.chain AND OLD.position <= k.position) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_chain is append-only: only links a checkpoint covers can be archived';
END
$$;
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_chain_delete_archived_only();

-- An archive deletes records before the links that refer to them, so the check waits for commit.
ALTER TABLE audit_chain ALTER CONSTRAINT audit_chain_event_seq_fkey DEFERRABLE INITIALLY IMMEDIATE;
