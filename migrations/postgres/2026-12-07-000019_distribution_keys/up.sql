-- Ready to shard by app on a distributed PostgreSQL (Citus): every unique key of a table that
-- grows includes its app, and every foreign key between two of them carries the app on both
-- sides, so each row's constraints are checked within one shard. Keys keep their leading column,
-- so every lookup that used them still does.

-- An audit record of no app holds '' as its app, as its chain already does.
ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update;
UPDATE audit_events SET app_id = '' WHERE app_id IS NULL;
ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update;
ALTER TABLE audit_events ALTER COLUMN app_id SET NOT NULL;

-- Foreign keys that point at a key about to change.
ALTER TABLE apps DROP CONSTRAINT apps_owner_id_fkey;
ALTER TABLE sessions DROP CONSTRAINT sessions_user_id_fkey;
ALTER TABLE role_assignments DROP CONSTRAINT role_assignments_user_id_fkey;
ALTER TABLE role_assignments DROP CONSTRAINT role_assignments_tenant_id_fkey;
ALTER TABLE licenses DROP CONSTRAINT licenses_user_id_fkey;
ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_session_id_fkey;
ALTER TABLE activations DROP CONSTRAINT activations_license_id_fkey;
ALTER TABLE audit_pending DROP CONSTRAINT audit_pending_seq_fkey;
ALTER TABLE audit_chain DROP CONSTRAINT audit_chain_event_seq_fkey;

-- Primary and unique keys, each with its app.
ALTER TABLE users DROP CONSTRAINT users_pkey, ADD PRIMARY KEY (id, app_id);
ALTER TABLE otp_requests DROP CONSTRAINT otp_requests_pkey, ADD PRIMARY KEY (id, app_id);
ALTER TABLE sessions DROP CONSTRAINT sessions_pkey, ADD PRIMARY KEY (id, app_id);
ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_pkey, ADD PRIMARY KEY (token_hash, app_id);
ALTER TABLE tenants DROP CONSTRAINT tenants_pkey, ADD PRIMARY KEY (id, app_id);
ALTER TABLE role_assignments DROP CONSTRAINT role_assignments_pkey,
    ADD PRIMARY KEY (tenant_id, user_id, role, app_id);
ALTER TABLE licenses DROP CONSTRAINT licenses_pkey, ADD PRIMARY KEY (id, app_id);
ALTER TABLE licenses DROP CONSTRAINT licenses_key_hash_key, ADD UNIQUE (key_hash, app_id);
ALTER TABLE activations DROP CONSTRAINT activations_pkey, ADD PRIMARY KEY (id, app_id);
DROP INDEX activations_live_device;
CREATE UNIQUE INDEX activations_live_device ON activations (license_id, device_hash, app_id)
    WHERE deactivated_at IS NULL;
ALTER TABLE audit_events DROP CONSTRAINT audit_events_pkey, ADD PRIMARY KEY (seq, app_id);
ALTER TABLE audit_events DROP CONSTRAINT audit_events_id_key, ADD UNIQUE (id, app_id);
ALTER TABLE audit_pending DROP CONSTRAINT audit_pending_pkey, ADD PRIMARY KEY (seq, chain);
ALTER TABLE audit_chain DROP CONSTRAINT audit_chain_event_seq_key, ADD UNIQUE (event_seq, chain);

-- The foreign keys again, app to app, under the names they had.
ALTER TABLE sessions ADD CONSTRAINT sessions_user_id_fkey
    FOREIGN KEY (user_id, app_id) REFERENCES users (id, app_id);
ALTER TABLE role_assignments ADD CONSTRAINT role_assignments_user_id_fkey
    FOREIGN KEY (user_id, app_id) REFERENCES users (id, app_id);
ALTER TABLE role_assignments ADD CONSTRAINT role_assignments_tenant_id_fkey
    FOREIGN KEY (tenant_id, app_id) REFERENCES tenants (id, app_id);
ALTER TABLE licenses ADD CONSTRAINT licenses_user_id_fkey
    FOREIGN KEY (user_id, app_id) REFERENCES users (id, app_id);
ALTER TABLE refresh_tokens ADD CONSTRAINT refresh_tokens_session_id_fkey
    FOREIGN KEY (session_id, app_id) REFERENCES sessions (id, app_id);
ALTER TABLE activations ADD CONSTRAINT activations_license_id_fkey
    FOREIGN KEY (license_id, app_id) REFERENCES licenses (id, app_id);
ALTER TABLE audit_pending ADD CONSTRAINT audit_pending_seq_fkey
    FOREIGN KEY (seq, chain) REFERENCES audit_events (seq, app_id);
ALTER TABLE audit_chain ADD CONSTRAINT audit_chain_event_seq_fkey
    FOREIGN KEY (event_seq, chain) REFERENCES audit_events (seq, app_id) DEFERRABLE;
-- apps_owner_id_fkey is not re-created: an app's owner is a person of the portal's app, sharded
-- apart from apps (which every node holds), and an app gets an owner only from that person's
-- signed-in portal session.
