ALTER TABLE audit_chain DROP CONSTRAINT audit_chain_event_seq_fkey;
ALTER TABLE audit_pending DROP CONSTRAINT audit_pending_seq_fkey;
ALTER TABLE activations DROP CONSTRAINT activations_license_id_fkey;
ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_session_id_fkey;
ALTER TABLE licenses DROP CONSTRAINT licenses_user_id_fkey;
ALTER TABLE role_assignments DROP CONSTRAINT role_assignments_tenant_id_fkey;
ALTER TABLE role_assignments DROP CONSTRAINT role_assignments_user_id_fkey;
ALTER TABLE sessions DROP CONSTRAINT sessions_user_id_fkey;

ALTER TABLE audit_chain DROP CONSTRAINT audit_chain_event_seq_chain_key,
    ADD CONSTRAINT audit_chain_event_seq_key UNIQUE (event_seq);
ALTER TABLE audit_pending DROP CONSTRAINT audit_pending_pkey, ADD PRIMARY KEY (seq);
ALTER TABLE audit_events DROP CONSTRAINT audit_events_id_app_id_key,
    ADD CONSTRAINT audit_events_id_key UNIQUE (id);
ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey, ADD PRIMARY KEY (seq);
DROP INDEX activations_live_device;
CREATE UNIQUE INDEX activations_live_device ON activations (license_id, device_hash)
    WHERE deactivated_at IS NULL;
ALTER TABLE activations DROP CONSTRAINT activations_pkey, ADD PRIMARY KEY (id);
ALTER TABLE licenses DROP CONSTRAINT licenses_key_hash_app_id_key,
    ADD CONSTRAINT licenses_key_hash_key UNIQUE (key_hash);
ALTER TABLE licenses DROP CONSTRAINT licenses_pkey, ADD PRIMARY KEY (id);
ALTER TABLE role_assignments DROP CONSTRAINT role_assignments_pkey,
    ADD PRIMARY KEY (tenant_id, user_id, role);
ALTER TABLE tenants DROP CONSTRAINT tenants_pkey, ADD PRIMARY KEY (id);
ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_pkey, ADD PRIMARY KEY (token_hash);
ALTER TABLE sessions DROP CONSTRAINT sessions_pkey, ADD PRIMARY KEY (id);
ALTER TABLE otp_requests DROP CONSTRAINT otp_requests_pkey, ADD PRIMARY KEY (id);
ALTER TABLE users DROP CONSTRAINT users_pkey, ADD PRIMARY KEY (id);

ALTER TABLE audit_chain ADD CONSTRAINT audit_chain_event_seq_fkey FOREIGN KEY (event_seq)
    REFERENCES audit_events (seq) DEFERRABLE;
ALTER TABLE audit_pending ADD CONSTRAINT audit_pending_seq_fkey FOREIGN KEY (seq)
    REFERENCES audit_events (seq);
ALTER TABLE activations ADD CONSTRAINT activations_license_id_fkey FOREIGN KEY (license_id)
    REFERENCES licenses (id);
ALTER TABLE refresh_tokens ADD CONSTRAINT refresh_tokens_session_id_fkey FOREIGN KEY (session_id)
    REFERENCES sessions (id);
ALTER TABLE licenses ADD CONSTRAINT licenses_user_id_fkey FOREIGN KEY (user_id)
    REFERENCES users (id);
ALTER TABLE role_assignments ADD CONSTRAINT role_assignments_tenant_id_fkey FOREIGN KEY (tenant_id)
    REFERENCES tenants (id);
ALTER TABLE role_assignments ADD CONSTRAINT role_assignments_user_id_fkey FOREIGN KEY (user_id)
    REFERENCES users (id);
ALTER TABLE sessions ADD CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id)
    REFERENCES users (id);
ALTER TABLE apps ADD CONSTRAINT apps_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users (id);

ALTER TABLE audit_events ALTER COLUMN app_id DROP NOT NULL;
ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update;
UPDATE audit_events SET app_id = NULL WHERE app_id = '';
ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update;
