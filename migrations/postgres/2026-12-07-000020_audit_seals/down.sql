DROP TRIGGER audit_chain_no_update ON audit_chain;
DROP FUNCTION audit_chain_seal_once();
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
ALTER TABLE audit_chain DROP COLUMN seal;
