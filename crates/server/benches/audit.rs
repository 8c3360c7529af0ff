//! Audit-chain throughput: bulk-loads `AUDIT_N` records (default 200 000) straight into a fresh
//! database, then times `auth-engine audit seal`, `audit verify` and `audit archive` (of them all)
//! on them, on SQLite and (with `TEST_DATABASE_URL`) Postgres, side by side. Run with
//! `cargo bench -p auth-engine --bench audit`.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::print_stdout,
    clippy::disallowed_methods,
    reason = "a benchmark driver: it reports on stdout, fails loudly and reads the wall clock"
)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use auth_store::test_support::{ScratchDatabase, execute_sql, postgres_admin_url};
use auth_store::{DatabaseUrl, Store};

const BINARY: &str = env!("CARGO_BIN_EXE_auth-engine");
const MASTER_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// Runs the CLI against `database_url`; panics unless it succeeds. Returns stdout and the time taken.
fn cli(dir: &Path, database_url: &str, args: &[&str]) -> (String, Duration) {
    let started = Instant::now();
    let output = Command::new(BINARY)
        .args(args)
        .current_dir(dir)
        .env("AUTH_DATABASE_URL", database_url)
        .env("AUTH_MASTER_KEY", MASTER_KEY)
        .env("AUTH_LOG", "warn")
        .output()
        .expect("run auth-engine");
    let elapsed = started.elapsed();
    assert!(
        output.status.success(),
        "auth-engine {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        elapsed,
    )
}

/// Inserts `n` login records for `app_id`, all waiting to be sealed, in two statements.
async fn bulk_load(store: &Store, app_id: &str, n: u64, postgres: bool) {
    let numbers = if postgres {
        format!("generate_series(1, {n}) AS n(i)")
    } else {
        format!(
            "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) SELECT i FROM n) AS n"
        )
    };
    let insert = format!(
        "INSERT INTO audit_events (id, app_id, event, outcome, actor, subject, client_ip, user_agent, request_id, details, occurred_at) \
         SELECT 'evt_bench' || i, '{app_id}', 'login', 'success', 'usr_bench', 'ses_bench', '203.0.113.7', 'bench/1.0', \
         'req_bench' || i, '{{\"is_new_user\":false,\"otp_request_id\":\"otp_bench\"}}', 1700000000000000 + i FROM {numbers}"
    );
    execute_sql(store, &insert)
        .await
        .expect("bulk insert records");
    let queue = "INSERT INTO audit_pending (seq, chain) SELECT seq, app_id FROM audit_events WHERE id LIKE 'evt_bench%'";
    execute_sql(store, queue)
        .await
        .expect("queue them for sealing");
}

async fn measure(backend: &str, database_url: &str, dir: &Path, n: u64) {
    cli(dir, database_url, &["migrate"]);
    let (created, _) = cli(
        dir,
        database_url,
        &[
            "apps", "create", "--name", "Bench", "--slug", "bench", "--json",
        ],
    );
    let app: serde_json::Value =
        serde_json::from_str(created.trim()).expect("apps create prints JSON");
    let app_id = app["app_id"].as_str().expect("app_id");
    let url = DatabaseUrl::parse(database_url).expect("database url");
    let store = Store::connect(&url, 1, Duration::from_secs(30)).expect("connect");
    let loading = Instant::now();
    bulk_load(&store, app_id, n, matches!(url, DatabaseUrl::Postgres(_))).await;
    let loaded = loading.elapsed();
    drop(store);

    let (_, seal) = cli(dir, database_url, &["audit", "seal"]);
    let (report, verify) = cli(dir, database_url, &["audit", "verify", "--app", "bench"]);
    assert!(
        report.contains("intact"),
        "the bench chain must verify: {report}"
    );
    // Everything so far: the bench records (November 2023) and the app's own first record.
    let now = time::OffsetDateTime::from(std::time::SystemTime::now())
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format now");
    let out = dir.join(format!("{backend}-archive.jsonl"));
    let out_arg = out.to_string_lossy().into_owned();
    let (archived, archive) = cli(
        dir,
        database_url,
        &[
            "audit", "archive", "--app", "bench", "--before", &now, "--out", &out_arg,
        ],
    );
    assert!(
        archived.contains(&format!("archived {} records", n + 1)),
        "{archived}"
    );
    let (report, _) = cli(dir, database_url, &["audit", "verify", "--app", "bench"]);
    assert!(report.contains("intact"), "verify after archive: {report}");
    let _ = std::fs::remove_file(&out);
    let per_second = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "{backend:<9} {n} records: load {:>6.2} s   seal {:>9.0} records/s   verify {:>9.0} records/s   archive {:>9.0} records/s (verify / seal {:.2})",
        loaded.as_secs_f64(),
        per_second(seal),
        per_second(verify),
        per_second(archive),
        seal.as_secs_f64() / verify.as_secs_f64(),
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n: u64 = std::env::var("AUDIT_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let dir = std::env::temp_dir().join(format!("auth-engine-audit-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench dir");
    println!(
        "audit chain benchmark: {n} records per backend (times include process start and migrations check)"
    );
    let sqlite = format!("sqlite://{}/data/bench.db", dir.display());
    measure("sqlite", &sqlite, &dir, n).await;
    if let Some(admin) = postgres_admin_url() {
        let database = ScratchDatabase::create(&admin).await;
        measure("postgres", database.url(), &dir, n).await;
    } else {
        println!("(TEST_DATABASE_URL is not set: Postgres skipped)");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
