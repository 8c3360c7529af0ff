//! Every statement a hot path runs reaches a growing table's rows through an index, on both
//! backends. PostgreSQL: `auto_explain` logs the plan of every statement the engine runs (nested
//! ones, such as a trigger's, included) with sequential scans priced out, so a `Seq Scan` left in a
//! plan means no index could serve it. SQLite: the engine traces each statement's text
//! (`auth_store::statements`), and `EXPLAIN QUERY PLAN` of each must not `SCAN` a growing table.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::cluster::Cluster;
use crate::engine_database;
use crate::support::{Harness, TestServer, unique_phone};
use crate::tables::GROWING;

/// The paths every request of an app's users takes: a login of a new person (and a wrong code)
/// and of one returning, a refresh, `me`, a replayed refresh token and a logout.
async fn hot_paths(harness: &Harness) {
    let phone = unique_phone();
    let (otp_request_id, code) = harness.request_code(&phone).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(harness.verify_otp(&otp_request_id, wrong).await.status, 401);
    let verified = harness.verify_otp(&otp_request_id, &code).await;
    verified.assert_ok();
    let first = verified.str("refresh_token");
    let refreshed = harness.refresh(&first).await;
    refreshed.assert_ok();
    harness.me(&refreshed.str("access_token")).await.assert_ok();
    harness
        .logout(&refreshed.str("refresh_token"), false)
        .await
        .assert_ok();

    let (otp_request_id, code) = harness.request_code(&phone).await;
    let verified = harness.verify_otp(&otp_request_id, &code).await;
    verified.assert_ok();
    let first = verified.str("refresh_token");
    harness.refresh(&first).await.assert_ok();
    // With no grace period a replay revokes the session's whole family.
    assert_eq!(harness.refresh(&first).await.status, 401);
}

/// What a growing table's full scan in `plan` (one step per line) names, if any.
fn full_scan<'a>(plan: &'a str, marker: &str) -> Option<&'a str> {
    plan.lines().find_map(|step| {
        let (_, rest) = step.split_once(marker)?;
        let table = rest.split_whitespace().next()?;
        GROWING.contains(&table).then_some(table)
    })
}

/// The plans `auto_explain` logged: each a line ending in `plan:` and the tab-indented lines
/// after it (the statement's text first).
fn plans_in(log: &str) -> Vec<String> {
    let mut plans: Vec<String> = Vec::new();
    for line in log.lines() {
        if line.ends_with("plan:") {
            plans.push(String::new());
        } else if line.starts_with('\t')
            && let Some(plan) = plans.last_mut()
        {
            plan.push_str(line);
            plan.push('\n');
        }
    }
    plans
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_hot_path_statement_uses_an_index_on_postgres() {
    let Some((cluster, url)) = engine_database(&[
        "shared_preload_libraries=auto_explain",
        "auto_explain.log_min_duration=0",
        "auto_explain.log_nested_statements=on",
        // Where an index can serve a statement the planner takes it however few rows there are.
        "enable_seqscan=off",
    ])
    .await
    else {
        return;
    };
    let harness = Harness::start_with(
        TestServer::builder()
            .postgres(&url)
            .env("AUTH_REFRESH_REUSE_GRACE_SECS", "0")
            .env("AUTH_OTP_RESEND_COOLDOWN_SECS", "0")
            .env("AUTH_AUDIT_SEAL_INTERVAL_MS", "60000"),
    )
    .await;
    let from = cluster.log().len();
    hot_paths(&harness).await;
    let log = cluster.log();
    let plans = plans_in(&log[from..]);
    assert!(
        plans.len() > 10,
        "auto_explain logged {} plans:\n{}",
        plans.len(),
        &log[from..]
    );
    let scans: Vec<&String> = plans
        .iter()
        .filter(|plan| full_scan(plan, "Seq Scan on ").is_some())
        .collect();
    assert!(
        scans.is_empty(),
        "hot-path statements scan a growing table:\n{}",
        scans
            .iter()
            .map(|plan| plan.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_hot_path_statement_uses_an_index_on_sqlite() {
    let harness = Harness::start_with(
        TestServer::builder()
            .env("AUTH_LOG", "warn,auth_store::statements=trace")
            .env("AUTH_REFRESH_REUSE_GRACE_SECS", "0")
            .env("AUTH_OTP_RESEND_COOLDOWN_SECS", "0")
            .env("AUTH_AUDIT_SEAL_INTERVAL_MS", "60000"),
    )
    .await;
    let from = harness.server.logs().len();
    hot_paths(&harness).await;
    let logs = harness.server.logs();
    let statements: BTreeSet<&str> = logs[from..]
        .lines()
        .filter_map(|line| line.split_once("statement: ").map(|(_, sql)| sql.trim()))
        .filter(|sql| {
            let verb = sql.split_whitespace().next().unwrap_or_default();
            ["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"]
                .iter()
                .any(|dml| verb.eq_ignore_ascii_case(dml))
        })
        .collect();
    assert!(
        statements.len() > 10,
        "the engine traced {} statements:\n{}",
        statements.len(),
        &logs[from..]
    );

    let path = harness.server.dir().join("data/auth-engine.db");
    let url = auth_store::DatabaseUrl::Sqlite(path.display().to_string());
    let store = auth_store::Store::connect(&url, 1, Duration::from_secs(10)).expect("the store");
    let mut scans = Vec::new();
    for sql in statements {
        let plan = auth_store::test_support::sqlite_query_plan(&store, sql)
            .await
            .unwrap_or_else(|error| panic!("no plan for {sql}: {error}"));
        let plan = plan.join("\n");
        if full_scan(&plan, "SCAN ").is_some() {
            scans.push(format!("{sql}\n{plan}"));
        }
    }
    assert!(
        scans.is_empty(),
        "hot-path statements scan a growing table:\n{}",
        scans.join("\n\n")
    );
}

/// Waits (bounded) until no record waits to be sealed.
async fn sealed(cluster: &Cluster) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let waiting = cluster
            .sql_in("engine", "SELECT count(*) FROM audit_pending")
            .await;
        if waiting.trim() == "0" {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} records still wait to be sealed after 60 s",
            waiting.trim()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A statement that writes `count` records of the app straight into the table, outside the chain.
fn records(count: u32) -> String {
    format!(
        "INSERT INTO audit_events (id, app_id, event, outcome, details, occurred_at) \
         SELECT 'bulk-' || gen_random_uuid(), apps.id, 'login', 'success', \
                json_build_object('user_agent', repeat('x', 200))::text, n \
         FROM generate_series(1, {count}) n, (SELECT id FROM apps LIMIT 1) apps"
    )
}

/// The sealer's read of the records waiting is planned for the tables as they are when it runs. On
/// a young database (no statistics yet) a plan kept from its first seals, made while the tables
/// held a few hundred rows, runs through every record for each one waiting once they hold
/// thousands: twenty seconds into a load benchmark a sealing cycle took 0.1–0.6 s of PostgreSQL's
/// CPU, and one missed the store's deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sealing_a_young_database_plans_for_the_tables_as_they_grow() {
    let Some((cluster, url)) = engine_database(&[
        "shared_preload_libraries=auto_explain",
        "auto_explain.log_min_duration=0",
        // Young: no statistics are gathered while the test runs.
        "autovacuum=off",
    ])
    .await
    else {
        return;
    };
    let harness = Harness::start_with(
        TestServer::builder()
            .postgres(&url)
            // One connection: the sealer's later reads run where its first ones were planned.
            .env("AUTH_DATABASE_POOL_SIZE", "1")
            .env("AUTH_AUDIT_SEAL_INTERVAL_MS", "1000"),
    )
    .await;
    // Its first seals, with a few records waiting at a time among a few hundred (outside the
    // chain, as records bulk-loaded into a new database are): after five, PostgreSQL keeps one
    // plan for the statement, made for tables this size.
    cluster.sql_in("engine", &records(500)).await;
    let logins = async || {
        for _ in 0..3 {
            let (otp_request_id, code) = harness.request_code(&unique_phone()).await;
            harness.verify_otp(&otp_request_id, &code).await.assert_ok();
        }
        sealed(&cluster).await;
    };
    for _ in 0..8 {
        logins().await;
    }

    // Then the records grow to thousands, and a few wait.
    cluster.sql_in("engine", &records(10_000)).await;
    let from = cluster.log().len();
    logins().await;
    let log = cluster.log();
    let reads: Vec<String> = plans_in(&log[from..])
        .into_iter()
        .filter(|plan| plan.contains(r#"FROM ("audit_pending" INNER JOIN "audit_events""#))
        .collect();
    assert!(
        !reads.is_empty(),
        "sealing never read the queue:\n{}",
        &log[from..]
    );
    // A plan for small tables keeps every record in memory and runs through all of them for each
    // record waiting; one for the tables as they are finds each by its key, or scans them once.
    let rescans: Vec<&String> = reads
        .iter()
        .filter(|plan| {
            plan.lines()
                .skip_while(|step| !step.contains("Materialize"))
                .nth(1)
                .is_some_and(|step| step.contains("Seq Scan on audit_events"))
        })
        .collect();
    assert!(
        rescans.is_empty(),
        "{} of {} reads of the queue ran through every record for each one waiting:\n{}",
        rescans.len(),
        reads.len(),
        rescans[0]
    );
}
