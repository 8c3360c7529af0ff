//! The schema's tables that grow with use: the plan tests refuse a full scan of any of them.

/// Tables whose rows grow with use: people, sessions, codes, counters, licences and the audit
/// log. A hot path must reach their rows through an index.
pub const GROWING: &[&str] = &[
    "activations",
    "audit_chain",
    "audit_checkpoints",
    "audit_events",
    "audit_pending",
    "licenses",
    "otp_requests",
    "rate_counters",
    "refresh_tokens",
    "role_assignments",
    "sessions",
    "tenants",
    "users",
];
