-- Signed checkpoints: each says that positions from_position..position of a chain were archived and
-- that the chain went on from `link`. Append-only, like the log.
CREATE TABLE audit_checkpoints (
    chain         TEXT NOT NULL,
    from_position BIGINT NOT NULL,
    position      BIGINT NOT NULL,
    link          BLOB NOT NULL,
    token         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    -- Two archives starting from the same place cannot both commit.
    PRIMARY KEY (chain, from_position),
    UNIQUE (chain, position)
);
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'audit_checkpoints is append-only');
END;

-- Records and links may now be deleted, but only once a checkpoint covers them. (An archive
-- deletes records before the links that refer to them, deferring foreign keys to commit.)
DROP TRIGGER audit_events_no_delete;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN NOT EXISTS (SELECT 1 FROM audit_chain c
                 JOIN audit_checkpoints k ON k.chain = c.chain AND c.position <= k.position
                 WHERE c.event_seq = OLD.seq)
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only: only records a checkpoint covers can be archived');
END;

DROP TRIGGER audit_chain_no_delete;
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
WHEN NOT EXISTS (SELECT 1 FROM audit_checkpoints k
                 WHERE k.chain = OLD.chain AND OLD.position <= k.position)
BEGIN
    SELECT RAISE(ABORT, 'audit_chain is append-only: only links a checkpoint covers can be archived');
END;
