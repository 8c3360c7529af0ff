//! The schema's tables by how they grow: the plan tests refuse a full scan of a growing table,
//! and the schema test holds each to the rules of sharding by app.

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

/// Tables of configuration, a few rows per app or per engine, changed by operators: on a
/// distributed PostgreSQL each is a reference table, copied whole to every node.
pub const CONFIGURATION: &[&str] = &[
    "app_email_templates",
    "app_test_identifiers",
    "apps",
    "config_version",
    "engine_settings",
    "signing_keys",
];

/// The column a growing table is sharded by on a distributed PostgreSQL. Every table holding an
/// app's rows is sharded by its app (the audit chain's tables call it `chain`, `''` for records of
/// no app), all in one colocation group, so each app's rows live together. Rate counters are
/// keyed by what they limit, several of which (an address, the engine's daily caps) span apps:
/// they form a group of their own, counted in statements of their own outside any app's
/// transaction.
pub fn shard_key(table: &str) -> Option<&'static str> {
    match table {
        "rate_counters" => Some("key"),
        "audit_chain" | "audit_checkpoints" | "audit_pending" => Some("chain"),
        growing if GROWING.contains(&growing) => Some("app_id"),
        _ => None,
    }
}
