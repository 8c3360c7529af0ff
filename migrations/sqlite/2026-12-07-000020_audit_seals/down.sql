DROP TRIGGER audit_chain_no_update;
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
BEGIN
    SELECT RAISE(ABORT, 'audit_chain is append-only');
END;
ALTER TABLE audit_chain DROP COLUMN seal;
