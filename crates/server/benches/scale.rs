//! Flat as data grows: the three flows an app's users run (login of a new person, refresh of the
//! newest token, `me`), at 8 clients for a fixed time, first on an empty database, then again on
//! the same database after bulk-loading 1 000 000 sessions (each with its refresh token) of
//! 100 000 users of the same app and 5 000 000 audit records straight into its tables. Prints both
//! and the loaded rate as a share of the empty one, on SQLite and (with `TEST_DATABASE_URL`)
//! Postgres.
//!
//! `cargo bench -p auth-engine --bench scale`; `LOAD_SECS` sets each phase's measured time
//! (default 10), `SCALE_USERS`, `SCALE_SESSIONS` and `SCALE_AUDIT` the amounts loaded.

#![allow(
    dead_code,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "a benchmark driver reusing the e2e kit; it reports on stdout and fails loudly"
)]

#[path = "../../../tests/e2e/support/mod.rs"]
#[allow(unused_imports, reason = "the kit re-exports what the e2e tests use")]
mod support;

mod driver;

use std::sync::Arc;
use std::time::{Duration, Instant};

use auth_store::Store;
use auth_store::test_support::{ScratchDatabase, execute_sql, postgres_admin_url};
use driver::{Phase, line, logins, mes, refreshes, start};
use support::Harness;

/// Clients in every phase.
const CLIENTS: usize = 8;

/// How much is loaded: the figures unless the environment says otherwise.
struct Amounts {
    users: u64,
    sessions: u64,
    audit: u64,
}

impl Amounts {
    fn from_env() -> Self {
        let amount = |name: &str, default: u64| {
            std::env::var(name)
                .ok()
                .map_or(default, |v| v.parse().expect("a whole number"))
        };
        Self {
            users: amount("SCALE_USERS", 100_000),
            sessions: amount("SCALE_SESSIONS", 1_000_000),
            audit: amount("SCALE_AUDIT", 5_000_000),
        }
    }
}

/// The whole numbers 1 to `n` as a table `n(i)`, in either backend's SQL.
fn numbers(n: u64, postgres: bool) -> String {
    if postgres {
        format!("generate_series(1, {n}) AS n(i)")
    } else {
        format!(
            "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
             SELECT i FROM n) AS n"
        )
    }
}

/// Loads `amounts` into `app_id`'s tables, as rows the engine itself would have written: users
/// with phone numbers, live sessions spread over them with one current refresh token each, and
/// login records. The records stay outside the audit chain (sealing them is the audit
/// benchmark's subject, not this one's).
async fn bulk_load(store: &Store, app_id: &str, amounts: &Amounts, postgres: bool) {
    // Microseconds: a month ago, and a month from now, so every session is live.
    let now = 1_000_000
        * i64::try_from(
            std::time::SystemTime::UNIX_EPOCH
                .elapsed()
                .expect("clock after 1970")
                .as_secs(),
        )
        .expect("seconds fit");
    let month = 30 * 86_400 * 1_000_000_i64;
    let (past, future) = (now - month, now + month);
    let token_hash = if postgres {
        "sha256(convert_to('scale' || i, 'UTF8'))"
    } else {
        "randomblob(32)"
    };
    let Amounts {
        users,
        sessions,
        audit,
    } = amounts;
    let statements = [
        format!(
            "INSERT INTO users (id, app_id, phone, created_at, first_login_at) \
             SELECT 'usr_scale' || i, '{app_id}', '+9197' || (10000000 + i), {past}, {past} \
             FROM {}",
            numbers(*users, postgres)
        ),
        format!(
            "INSERT INTO sessions (id, app_id, user_id, created_at, expires_at) \
             SELECT 'ses_scale' || i, '{app_id}', 'usr_scale' || (1 + i % {users}), {past}, \
             {future} FROM {}",
            numbers(*sessions, postgres)
        ),
        format!(
            "INSERT INTO refresh_tokens (token_hash, session_id, app_id, created_at) \
             SELECT {token_hash}, 'ses_scale' || i, '{app_id}', {past} FROM {}",
            numbers(*sessions, postgres)
        ),
        format!(
            "INSERT INTO audit_events (id, app_id, event, outcome, actor, subject, client_ip, \
             user_agent, request_id, details, occurred_at) \
             SELECT 'evt_scale' || i, '{app_id}', 'login', 'success', \
             'usr_scale' || (1 + i % {users}), 'ses_scale' || (1 + i % {sessions}), \
             '203.0.113.7', 'scale/1.0', 'req_scale' || i, \
             '{{\"is_new_user\":false,\"otp_request_id\":\"otp_scale\"}}', {past} + i FROM {}",
            numbers(*audit, postgres)
        ),
    ];
    for statement in statements {
        execute_sql(store, &statement)
            .await
            .unwrap_or_else(|error| panic!("{error}: {statement}"));
    }
    if postgres {
        // What autovacuum does after a load this size; SQLite keeps no statistics by default.
        execute_sql(store, "ANALYZE").await.expect("analyze");
    }
}

/// Login, refresh and me at [`CLIENTS`], in that order.
async fn flows(harness: &Arc<Harness>, window: Duration) -> [Phase; 3] {
    let (login, held) = logins(harness, CLIENTS, window).await;
    let (refresh, held) = refreshes(harness, &held, window).await;
    let me = mes(harness, &held, window).await;
    [login, refresh, me]
}

/// Both runs on one backend; prints them.
async fn drive(backend: &str, database_url: Option<&str>, amounts: &Amounts) {
    let window = driver::window();
    let harness = start(database_url, "1000").await;
    let empty = flows(&harness, window).await;

    let started = Instant::now();
    // One statement loads millions of rows: far longer than the engine's own deadline.
    let url = support::database::database_url(&harness.server);
    let store =
        Store::connect(&url, 1, Duration::from_secs(1800)).expect("connect to the database");
    bulk_load(&store, &harness.app.app_id, amounts, database_url.is_some()).await;
    drop(store);
    let loading = started.elapsed();
    let loaded = flows(&harness, window).await;

    println!(
        "{backend}: loaded {} users, {} sessions, {} audit records in {:.0} s",
        amounts.users,
        amounts.sessions,
        amounts.audit,
        loading.as_secs_f64()
    );
    for ((name, empty), loaded) in ["login", "refresh", "me"].iter().zip(&empty).zip(&loaded) {
        println!("{}", line(backend, &format!("{name} empty"), empty));
        println!("{}", line(backend, &format!("{name} loaded"), loaded));
        println!(
            "{backend:<9} {name} loaded/empty: {:.2}",
            loaded.per_second() / empty.per_second()
        );
    }
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let amounts = Amounts::from_env();
    println!(
        "auth-engine scale benchmark: {}s per phase after {}s warm-up, {CLIENTS} clients",
        driver::window().as_secs(),
        driver::WARM_UP.as_secs()
    );
    drive("sqlite", None, &amounts).await;
    match postgres_admin_url() {
        Some(admin) => {
            let database = ScratchDatabase::create(&admin).await;
            drive("postgres", Some(database.url()), &amounts).await;
        }
        None => println!("(TEST_DATABASE_URL is not set: Postgres skipped)"),
    }
}
