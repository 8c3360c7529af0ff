//! Load driver: the three flows an app's users run (a login of a new person: send-otp then
//! verify-otp; a refresh of each client's newest token; `me`) against the real binary over
//! loopback, each for a fixed time at each client count, on SQLite and (with `TEST_DATABASE_URL`)
//! Postgres, side by side in one run, next to `/healthz` as the framework's own ceiling. A second
//! server per backend whose audit sealer is held off runs the login flow too, to show what
//! sealing beside the logins costs them. Prints ops/s with p50 and p99 latency per phase, the
//! CPU time the engine, PostgreSQL and this driver spent per operation, and how long sealing what
//! a phase wrote took after it (done before the next phase begins, so no phase pays for another's).
//!
//! `cargo bench -p auth-engine --bench load`; `LOAD_SECS` sets each phase's measured time
//! (default 10; the recorded figures use 20), `LOAD_CLIENTS` the client counts (default `8 32`),
//! `LOAD_BACKENDS` which backends run (default `sqlite postgres`).

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

use std::time::Duration;

use driver::{Phase, Tokens, line, logins, measure, mes, refreshes, start};

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
    let (healthz, _) = measure(
        harness.server.pid(),
        &vec![Tokens::default(); most],
        window,
        {
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
        },
    )
    .await;
    row(format!("healthz @{most}"), healthz);

    for &clients in client_counts {
        let (phase, held) = logins(&harness, clients, window).await;
        row(format!("login @{clients}"), phase);
        if clients == client_counts[0] {
            row(
                format!("  unsealed @{clients}"),
                logins(&unsealed, clients, window).await.0,
            );
        }
        let (phase, held) = refreshes(&harness, &held, window).await;
        row(format!("refresh @{clients}"), phase);
        row(format!("me @{clients}"), mes(&harness, &held, window).await);
    }
    for line in driver::warnings(backend, &harness)
        .into_iter()
        .chain(driver::warnings(backend, &unsealed))
    {
        println!("{line}");
    }
    rows
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let window = driver::window();
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
        driver::WARM_UP.as_secs()
    );

    let backends = std::env::var("LOAD_BACKENDS").unwrap_or_else(|_| "sqlite postgres".to_owned());
    let mut rows = Vec::new();
    if backends.contains("sqlite") {
        rows = drive("sqlite", None, &client_counts, window).await;
    }
    let postgres = backends.contains("postgres");
    let scratch = match auth_store::test_support::postgres_admin_url().filter(|_| postgres) {
        Some(admin) => Some([
            auth_store::test_support::ScratchDatabase::create(&admin).await,
            auth_store::test_support::ScratchDatabase::create(&admin).await,
        ]),
        None if postgres => {
            println!("(TEST_DATABASE_URL is not set: Postgres skipped)");
            None
        }
        None => None,
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
        println!("{}", line(backend, name, phase));
    }
    drop(rows);
    drop(scratch);
}
