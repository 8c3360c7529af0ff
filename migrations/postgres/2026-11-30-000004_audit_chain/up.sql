-- Records waiting to be sealed: written in the same transaction as the record, removed when sealed.
-- A record that commits late is still waiting here, so the sealer can never skip it.
CREATE TABLE audit_pending (
    seq   BIGINT PRIMARY KEY REFERENCES audit_events (seq),
    chain TEXT NOT NULL
);
CREATE INDEX audit_pending_by_chain ON audit_pending (chain, seq);

-- The hash chain of each app (chain '' holds records of no app), in sealing order.
CREATE TABLE audit_chain (
    chain     TEXT NOT NULL,
    position  BIGINT NOT NULL,
    event_seq BIGINT NOT NULL UNIQUE REFERENCES audit_events (seq),
    link      BYTEA NOT NULL,
    PRIMARY KEY (chain, position)
);

-- Every record written before the chain existed waits to be sealed.
INSERT INTO audit_pending (seq, chain) SELECT seq, COALESCE(app_id, '') FROM audit_events;

CREATE TRIGGER audit_chain_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();
