//! The one diesel schema both backends share. Times are microseconds since the Unix epoch.

diesel::table! {
    apps (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        secret_hash -> Text,
        secret_version -> BigInt,
        disabled -> Bool,
        created_at -> BigInt,
        revoke_sessions_on_role_change -> Bool,
        sms_countries -> Nullable<Text>,
        sms_per_day -> BigInt,
        emails_per_day -> BigInt,
        owner_id -> Nullable<Text>,
        previous_secret_hash -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<BigInt>,
        access_ttl_secs -> Nullable<BigInt>,
        reuse_grace_secs -> Nullable<BigInt>,
        sms_enabled -> Bool,
        email_enabled -> Bool,
        sandboxed -> Bool,
        refresh_idle_secs -> Nullable<BigInt>,
    }
}

diesel::table! {
    app_email_templates (app_id) {
        app_id -> Text,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
    }
}

diesel::table! {
    signing_keys (kid) {
        kid -> Text,
        app_id -> Text,
        encrypted_private_key -> Binary,
        public_key_der -> Binary,
        created_at -> BigInt,
        retired_at -> Nullable<BigInt>,
        withdrawn_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        app_id -> Text,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        created_at -> BigInt,
        first_login_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    otp_requests (id) {
        id -> Text,
        app_id -> Text,
        identifier_kind -> Text,
        identifier -> Text,
        code_hash -> Binary,
        attempts -> BigInt,
        created_at -> BigInt,
        expires_at -> BigInt,
        consumed_at -> Nullable<BigInt>,
        superseded_at -> Nullable<BigInt>,
        caller_key -> Text,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        app_id -> Text,
        user_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Binary,
        session_id -> Text,
        app_id -> Text,
        created_at -> BigInt,
        rotated_at -> Nullable<BigInt>,
        successor_hash -> Nullable<Binary>,
    }
}

diesel::table! {
    rate_counters (key) {
        key -> Text,
        window_start -> BigInt,
        window_end -> BigInt,
        hits -> BigInt,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        id -> Text,
        app_id -> Nullable<Text>,
        event -> Text,
        outcome -> Text,
        actor -> Nullable<Text>,
        subject -> Nullable<Text>,
        client_ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details -> Text,
        occurred_at -> BigInt,
    }
}

diesel::table! {
    tenants (id) {
        id -> Text,
        app_id -> Text,
        slug -> Text,
        name -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    role_assignments (tenant_id, user_id, role) {
        tenant_id -> Text,
        user_id -> Text,
        app_id -> Text,
        role -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    app_test_identifiers (app_id, identifier_kind, identifier) {
        app_id -> Text,
        identifier_kind -> Text,
        identifier -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    engine_settings (name) {
        name -> Text,
        value -> Binary,
    }
}

diesel::joinable!(signing_keys -> apps (app_id));
diesel::joinable!(app_test_identifiers -> apps (app_id));
diesel::joinable!(app_email_templates -> apps (app_id));
diesel::joinable!(role_assignments -> tenants (tenant_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(role_assignments -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));

diesel::allow_tables_to_appear_in_same_query!(
    apps,
    app_email_templates,
    app_test_identifiers,
    signing_keys,
    users,
    otp_requests,
    sessions,
    refresh_tokens,
    rate_counters,
    audit_events,
    tenants,
    role_assignments,
    licenses,
    activations,
    audit_pending,
    audit_chain,
);

diesel::table! {
    licenses (id) {
        id -> Text,
        app_id -> Text,
        key_hash -> Binary,
        user_id -> Nullable<Text>,
        tenant -> Nullable<Text>,
        product -> Nullable<Text>,
        max_activations -> BigInt,
        active_seats -> BigInt,
        status -> Text,
        expires_at -> Nullable<BigInt>,
        metadata -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    activations (id) {
        id -> Text,
        license_id -> Text,
        app_id -> Text,
        device_hash -> Binary,
        device_name -> Nullable<Text>,
        created_at -> BigInt,
        deactivated_at -> Nullable<BigInt>,
    }
}

diesel::joinable!(activations -> licenses (license_id));

diesel::table! {
    audit_pending (seq) {
        seq -> BigInt,
        chain -> Text,
    }
}

diesel::table! {
    audit_chain (chain, position) {
        chain -> Text,
        position -> BigInt,
        event_seq -> BigInt,
        link -> Binary,
        seal -> Nullable<Binary>,
    }
}

diesel::joinable!(audit_pending -> audit_events (seq));
diesel::joinable!(audit_chain -> audit_events (event_seq));

diesel::table! {
    audit_checkpoints (chain, from_position) {
        chain -> Text,
        from_position -> BigInt,
        position -> BigInt,
        link -> Binary,
        token -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    config_version (id) {
        id -> SmallInt,
        version -> BigInt,
    }
}
