//! Load driver: verify-otp and refresh against the real binary over loopback, on SQLite and (with
//! `TEST_DATABASE_URL`) Postgres, side by side in one run, next to `/healthz` as the framework's
//! own ceiling. verify-otp also runs against a second server whose audit sealer is held off, in
//! alternating halves, to show what sealing beside the logins costs them. Run with
//! `cargo bench -p auth-engine --bench load`; `LOAD_N` and `LOAD_CONCURRENCY` change the request
//! count per phase (default 400) and the requests in flight (default 16).

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
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// What one phase measured.
struct Phase {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Phase {
    fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[index]
    }
}

/// Runs `requests` calls of `call(i)` with at most `concurrency` in flight; every call must succeed.
async fn measure<F, Fut>(requests: usize, concurrency: usize, call: F) -> Phase
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = bool> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(concurrency));
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    for i in 0..requests {
        let permit = Arc::clone(&permits).acquire_owned().await.unwrap();
        let call = call(i);
        tasks.spawn(async move {
            let begun = Instant::now();
            let ok = call.await;
            drop(permit);
            (ok, begun.elapsed())
        });
    }
    let mut latencies = Vec::with_capacity(requests);
    while let Some(joined) = tasks.join_next().await {
        let (ok, latency) = joined.unwrap();
        assert!(ok, "a request failed under load");
        latencies.push(latency);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Phase {
        requests,
        elapsed,
        latencies,
    }
}

struct Report {
    backend: &'static str,
    healthz: Phase,
    verify: Phase,
    /// verify-otp on a server whose sealer is held off: what the login costs without sealing
    /// running beside it.
    verify_unsealed: Phase,
    refresh: Phase,
}

impl Phase {
    /// Two measurements of the same phase as one.
    fn merge(mut self, other: Self) -> Self {
        self.requests += other.requests;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.latencies.sort();
        self
    }
}

/// A server with its own app and database; its sealer runs every `seal_interval_ms`.
async fn start(database_url: Option<&str>, seal_interval_ms: &str) -> Arc<Harness> {
    let mut builder = TestServer::builder()
        .env("AUTH_LOG", "warn")
        .env("AUTH_AUDIT_SEAL_INTERVAL_MS", seal_interval_ms)
        .env("AUTH_OTP_RESEND_COOLDOWN_SECS", "0")
        .env("AUTH_OTP_SENDS_PER_IP_PER_HOUR", "1000000")
        .env("AUTH_OTP_VERIFIES_PER_IP_PER_HOUR", "1000000");
    if let Some(url) = database_url {
        builder = builder.postgres(url);
    }
    Arc::new(Harness::start_with(builder).await)
}

/// `n` logins (verify-otp) with `concurrency` in flight; codes are requested outside the timed
/// phase. Returns the phase and each login's refresh token.
async fn logins(harness: &Arc<Harness>, n: usize, concurrency: usize) -> (Phase, Vec<String>) {
    let mut codes = Vec::with_capacity(n);
    for _ in 0..n {
        codes.push(harness.request_code(&unique_phone()).await);
    }
    let codes = Arc::new(codes);
    let tokens = Arc::new(std::sync::Mutex::new(vec![String::new(); n]));
    let phase = measure(n, concurrency, |i| {
        let (harness, codes, tokens) =
            (Arc::clone(harness), Arc::clone(&codes), Arc::clone(&tokens));
        async move {
            let (otp_request_id, code) = &codes[i];
            let reply = harness.verify_otp(otp_request_id, code).await;
            tokens.lock().unwrap()[i] = reply.body["refresh_token"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            reply.status == 200
        }
    })
    .await;
    let tokens = tokens.lock().unwrap().clone();
    (phase, tokens)
}

/// `database_urls`: two Postgres databases, or none for SQLite.
async fn drive(
    backend: &'static str,
    database_urls: Option<[&str; 2]>,
    n: usize,
    concurrency: usize,
) -> Report {
    let harness = start(database_urls.map(|urls| urls[0]), "1000").await;
    // The longest interval there is: its sealer does not run again during the run.
    let unsealed = start(database_urls.map(|urls| urls[1]), "60000").await;

    let healthz = {
        let client = reqwest::Client::new();
        let url = harness.server.url("/healthz");
        measure(n, concurrency, |_| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                client
                    .get(url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success())
            }
        })
        .await
    };

    // Sealing on and off, alternated so drift on the shared machine falls on both alike.
    let (verify, mut tokens) = logins(&harness, n / 2, concurrency).await;
    let (verify_unsealed, _) = logins(&unsealed, n / 2, concurrency).await;
    let (more, more_tokens) = logins(&harness, n / 2, concurrency).await;
    let verify = verify.merge(more);
    tokens.extend(more_tokens);
    let (more, _) = logins(&unsealed, n / 2, concurrency).await;
    let verify_unsealed = verify_unsealed.merge(more);

    let tokens = Arc::new(tokens);
    let refresh = measure(tokens.len(), concurrency, |i| {
        let (harness, tokens) = (Arc::clone(&harness), Arc::clone(&tokens));
        async move { harness.refresh(&tokens[i]).await.status == 200 }
    })
    .await;
    Report {
        backend,
        healthz,
        verify,
        verify_unsealed,
        refresh,
    }
}

fn row(backend: &str, name: &str, phase: &Phase, baseline: &Phase) {
    println!(
        "{backend:<9} {name:<11} {:>9.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   {:>5.3} x healthz",
        phase.per_second(),
        phase.percentile(0.50).as_secs_f64() * 1000.0,
        phase.percentile(0.99).as_secs_f64() * 1000.0,
        phase.per_second() / baseline.per_second(),
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let n: usize = std::env::var("LOAD_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let concurrency: usize = std::env::var("LOAD_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "auth-engine load driver: {n} requests per phase, {concurrency} in flight, {cores} cores shared by driver and server"
    );

    let mut reports = vec![drive("sqlite", None, n, concurrency).await];
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
        reports.push(drive("postgres", Some([a.url(), b.url()]), n, concurrency).await);
    }

    for report in &reports {
        row(report.backend, "healthz", &report.healthz, &report.healthz);
        row(
            report.backend,
            "verify-otp",
            &report.verify,
            &report.healthz,
        );
        row(
            report.backend,
            "  unsealed",
            &report.verify_unsealed,
            &report.healthz,
        );
        row(report.backend, "refresh", &report.refresh, &report.healthz);
        println!(
            "{:<9} sealing running beside logins: verify-otp throughput x{:.3} of the unsealed server",
            report.backend,
            report.verify.per_second() / report.verify_unsealed.per_second()
        );
    }
    drop(reports);
    drop(scratch);
}
