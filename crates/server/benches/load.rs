//! Load driver: the three flows an app's users run (a login of a new person: send-otp then
//! verify-otp; a refresh of each client's newest token; `me`) against the real binary over
//! loopback, each for a fixed time at each client count, on SQLite and (with `TEST_DATABASE_URL`)
//! Postgres, side by side in one run, next to `/healthz` as the framework's own ceiling. A second
//! server per backend whose audit sealer is held off runs the login flow too, to show what
//! sealing beside the logins costs them. Prints ops/s with p50 and p99 latency per phase.
//!
//! `cargo bench -p auth-engine --bench load`; `LOAD_SECS` sets each phase's measured time
//! (default 10; the recorded figures use 20), `LOAD_CLIENTS` the client counts (default `8 32`).

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

use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{Harness, TestServer, unique_phone};
use tokio::task::JoinSet;

/// Unmeasured time at the start of each phase, the same work as the measured part.
const WARM_UP: Duration = Duration::from_secs(1);

/// What one phase measured: the latency of each operation that began and ended in its window.
struct Phase {
    window: Duration,
    latencies: Vec<Duration>,
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.window.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }
}

/// What one client holds between operations: its newest tokens.
#[derive(Clone, Default)]
struct Tokens {
    refresh: String,
    access: String,
}

/// `clients` clients, each running `operation` back to back for the warm-up and then `window`;
/// every operation must succeed. Returns the phase and each client's tokens at the end.
async fn measure<F, Fut>(clients: &[Tokens], window: Duration, operation: F) -> (Phase, Vec<Tokens>)
where
    F: Fn(Tokens) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Tokens> + Send,
{
    let measured_from = Instant::now() + WARM_UP;
    let end = measured_from + window;
    let mut tasks = JoinSet::new();
    for tokens in clients.iter().cloned() {
        let operation = operation.clone();
        tasks.spawn(async move {
            let mut tokens = tokens;
            let mut latencies = Vec::new();
            loop {
                let begun = Instant::now();
                if begun >= end {
                    break;
                }
                tokens = operation(tokens).await;
                let ended = Instant::now();
                if begun >= measured_from && ended <= end {
                    latencies.push(ended - begun);
                }
            }
            (latencies, tokens)
        });
    }
    let mut latencies = Vec::new();
    let mut held = Vec::with_capacity(clients.len());
    while let Some(joined) = tasks.join_next().await {
        let (some, tokens) = joined.unwrap();
        latencies.extend(some);
        held.push(tokens);
    }
    latencies.sort();
    (Phase { window, latencies }, held)
}

/// A server with its own app and database; its sealer runs every `seal_interval_ms`. Every limit
/// a load of new people from one address would meet is raised out of the way.
async fn start(database_url: Option<&str>, seal_interval_ms: &str) -> Arc<Harness> {
    let mut builder = TestServer::builder()
        .env("AUTH_LOG", "warn")
        .env("AUTH_AUDIT_SEAL_INTERVAL_MS", seal_interval_ms)
        .env("AUTH_OTP_RESEND_COOLDOWN_SECS", "0")
        .env("AUTH_OTP_SENDS_PER_IP_PER_HOUR", "1000000")
        .env("AUTH_OTP_VERIFIES_PER_IP_PER_HOUR", "1000000")
        .env("AUTH_SMS_GLOBAL_DAILY_CAP", "100000000")
        .env("AUTH_APP_SMS_PER_DAY_MAX", SMS_PER_DAY);
    if let Some(url) = database_url {
        builder = builder.postgres(url);
    }
    let harness = Harness::start_with(builder).await;
    let slug = harness.app.app_slug.clone();
    let args = [
        "apps",
        "configure",
        "--slug",
        &slug,
        "--sms-per-day",
        SMS_PER_DAY,
    ];
    let configured = harness.server.run_cli(&args).await;
    assert!(configured.status.success(), "{configured:?}");
    Arc::new(harness)
}

/// The app's daily SMS cap (and its ceiling): more codes than any run sends.
const SMS_PER_DAY: &str = "1000000";

/// One login of a new person: send-otp, the code from the sink, verify-otp.
async fn login(harness: Arc<Harness>) -> Tokens {
    let (otp_request_id, code) = harness.request_code(&unique_phone()).await;
    let verified = harness.verify_otp(&otp_request_id, &code).await;
    assert_eq!(verified.status, 200, "verify-otp under load: {verified:?}");
    Tokens {
        refresh: verified.str("refresh_token"),
        access: verified.str("access_token"),
    }
}

struct Row {
    backend: &'static str,
    name: String,
    phase: Phase,
}

/// Every phase on one backend. `database_urls`: two Postgres databases, or none for SQLite.
async fn drive(
    backend: &'static str,
    database_urls: Option<[&str; 2]>,
    client_counts: &[usize],
    window: Duration,
) -> Vec<Row> {
    let harness = start(database_urls.map(|urls| urls[0]), "1000").await;
    // The longest interval there is: its sealer does not run again during the run.
    let unsealed = start(database_urls.map(|urls| urls[1]), "60000").await;
    let mut rows = Vec::new();
    let mut row = |name: String, phase: Phase| {
        rows.push(Row {
            backend,
            name,
            phase,
        });
    };

    let most = client_counts.iter().copied().max().unwrap_or(1);
    let (healthz, _) = measure(&vec![Tokens::default(); most], window, {
        let client = reqwest::Client::new();
        let url = harness.server.url("/healthz");
        move |tokens| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let reply = client.get(url).send().await.unwrap();
                assert!(reply.status().is_success());
                tokens
            }
        }
    })
    .await;
    row(format!("healthz @{most}"), healthz);

    for &clients in client_counts {
        let fresh = vec![Tokens::default(); clients];
        let on = Arc::clone(&harness);
        let (logins, held) = measure(&fresh, window, move |_| login(Arc::clone(&on))).await;
        row(format!("login @{clients}"), logins);
        if clients == client_counts[0] {
            let on = Arc::clone(&unsealed);
            let (logins, _) = measure(&fresh, window, move |_| login(Arc::clone(&on))).await;
            row(format!("  unsealed @{clients}"), logins);
        }

        let on = Arc::clone(&harness);
        let (refreshes, held) = measure(&held, window, move |tokens| {
            let on = Arc::clone(&on);
            async move {
                let refreshed = on.refresh(&tokens.refresh).await;
                assert_eq!(refreshed.status, 200, "refresh under load: {refreshed:?}");
                Tokens {
                    refresh: refreshed.str("refresh_token"),
                    access: refreshed.str("access_token"),
                }
            }
        })
        .await;
        row(format!("refresh @{clients}"), refreshes);

        let on = Arc::clone(&harness);
        let (answers, _) = measure(&held, window, move |tokens| {
            let on = Arc::clone(&on);
            async move {
                let answered = on.me(&tokens.access).await;
                assert_eq!(answered.status, 200, "me under load: {answered:?}");
                tokens
            }
        })
        .await;
        row(format!("me @{clients}"), answers);
    }
    rows
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let window = Duration::from_secs(
        std::env::var("LOAD_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(10),
    );
    let client_counts: Vec<usize> = std::env::var("LOAD_CLIENTS")
        .unwrap_or_else(|_| "8 32".to_owned())
        .split_whitespace()
        .map(|count| count.parse().expect("LOAD_CLIENTS: client counts"))
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "auth-engine load driver: {}s per phase after {}s warm-up, clients {client_counts:?}, \
         {cores} cores shared by driver, server and database",
        window.as_secs(),
        WARM_UP.as_secs()
    );

    let mut rows = drive("sqlite", None, &client_counts, window).await;
    let scratch = match auth_store::test_support::postgres_admin_url() {
        Some(admin) => Some([
            auth_store::test_support::ScratchDatabase::create(&admin).await,
            auth_store::test_support::ScratchDatabase::create(&admin).await,
        ]),
        None => {
            println!("(TEST_DATABASE_URL is not set: Postgres skipped)");
            None
        }
    };
    if let Some([a, b]) = &scratch {
        rows.extend(drive("postgres", Some([a.url(), b.url()]), &client_counts, window).await);
    }

    for Row {
        backend,
        name,
        phase,
    } in &rows
    {
        println!(
            "{backend:<9} {name:<15} {:>8.0} ops/s   p50 {:>7.2} ms   p99 {:>7.2} ms",
            phase.per_second(),
            phase.percentile(0.50).as_secs_f64() * 1000.0,
            phase.percentile(0.99).as_secs_f64() * 1000.0,
        );
    }
    drop(rows);
    drop(scratch);
}
