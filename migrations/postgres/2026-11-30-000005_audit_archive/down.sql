ALTER TABLE audit_chain ALTER CONSTRAINT audit_chain_event_seq_fkey NOT DEFERRABLE;
DROP TRIGGER audit_chain_no_delete ON audit_chain;
DROP TRIGGER audit_chain_no_update ON audit_chain;
DROP FUNCTION audit_chain_delete_archived_only();
CREATE TRIGGER audit_chain_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
DROP TRIGGER audit_events_no_delete ON audit_events;
DROP TRIGGER audit_events_no_update ON audit_events;
DROP FUNCTION audit_events_delete_archived_only();
CREATE TRIGGER audit_events_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
DROP TABLE audit_checkpoints;
