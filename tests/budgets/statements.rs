//! Statement budgets: a login (send-otp and verify-otp) runs at most 20 statements at the server, a
//! refresh at most 6, `me` at most 2, pool checks, BEGIN and COMMIT included. Counted by
//! `pg_stat_statements` for the engine's own role, so nothing else on the cluster is counted.

use std::time::Duration;

use crate::cluster::Cluster;
use crate::engine_database;
use crate::support::{Harness, TestServer, unique_phone};

const LOGIN_BUDGET: u64 = 20;
const REFRESH_BUDGET: u64 = 6;
const ME_BUDGET: u64 = 2;

/// A cluster that counts every statement, and an engine on a database of its own role.
struct Counted {
    cluster: Cluster,
    harness: Harness,
}

impl Counted {
    async fn start() -> Option<Self> {
        let (cluster, url) = engine_database(&[
            "shared_preload_libraries=pg_stat_statements",
            // Statements the engine sends, not those run inside them (foreign-key checks).
            "pg_stat_statements.track=top",
            "pg_stat_statements.track_utility=on",
        ])
        .await?;
        cluster
            .sql_in("engine", "CREATE EXTENSION pg_stat_statements")
            .await;
        let harness = Harness::start_with(
            TestServer::builder()
                .postgres(&url)
                // The sealer stays idle, so only the request under count runs statements.
                .env("AUTH_AUDIT_SEAL_INTERVAL_MS", "60000"),
        )
        .await;
        Some(Self { cluster, harness })
    }

    /// Runs `request` and returns the statements the engine ran meanwhile, most frequent first.
    async fn count<F: Future>(&self, request: F) -> (F::Output, Statements) {
        self.cluster
            .sql_in("engine", "SELECT pg_stat_statements_reset()")
            .await;
        let output = request.await;
        // The statistics are written when each statement ends; the last reply may arrive first.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let rows = self
            .cluster
            .sql_in(
                "engine",
                "SELECT s.calls || E'\\t' || regexp_replace(s.query, '\\s+', ' ', 'g') \
                 FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid \
                 WHERE r.rolname = 'engine' ORDER BY s.calls DESC, s.query",
            )
            .await;
        let statements = rows
            .lines()
            .filter_map(|line| {
                let (calls, query) = line.split_once('\t')?;
                Some((calls.parse().ok()?, query.to_owned()))
            })
            .collect();
        (output, Statements(statements))
    }
}

/// `(calls, normalized query)` per statement.
struct Statements(Vec<(u64, String)>);

impl Statements {
    fn total(&self) -> u64 {
        self.0.iter().map(|(calls, _)| calls).sum()
    }

    /// What `what` ran, naming every statement, and whether that is within `budget`.
    fn against(&self, budget: u64, what: &str) -> (bool, String) {
        let listing: String = self
            .0
            .iter()
            .map(|(calls, query)| format!("\n  {calls} × {query}"))
            .collect();
        let total = self.total();
        let verdict = if total <= budget { "within" } else { "OVER" };
        (
            total <= budget,
            format!("{what} ran {total} statements, {verdict} its budget of {budget}:{listing}"),
        )
    }
}

/// One login of a new person: their refresh and access tokens.
async fn login(harness: &Harness) -> (String, String) {
    let (otp_request_id, code) = harness.request_code(&unique_phone()).await;
    let verified = harness.verify_otp(&otp_request_id, &code).await;
    verified.assert_ok();
    (verified.str("refresh_token"), verified.str("access_token"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_hot_path_stays_within_its_statement_budget() {
    let Some(counted) = Counted::start().await else {
        return;
    };
    // Once beforehand, so what is counted is the steady state, not a first use.
    let (refresh_token, access_token) = login(&counted.harness).await;
    counted.harness.refresh(&refresh_token).await.assert_ok();
    counted.harness.me(&access_token).await.assert_ok();

    let ((refresh_token, access_token), login) = counted.count(login(&counted.harness)).await;
    let (refreshed, refresh) = counted.count(counted.harness.refresh(&refresh_token)).await;
    refreshed.assert_ok();
    let (answered, me) = counted.count(counted.harness.me(&access_token)).await;
    answered.assert_ok();

    let verdicts = [
        login.against(LOGIN_BUDGET, "a login (send-otp and verify-otp)"),
        refresh.against(REFRESH_BUDGET, "a refresh"),
        me.against(ME_BUDGET, "a me"),
    ];
    let report: Vec<&str> = verdicts.iter().map(|(_, text)| text.as_str()).collect();
    eprintln!("{}", report.join("\n"));
    assert!(
        verdicts.iter().all(|(within, _)| *within),
        "a hot path is over its statement budget:\n{}",
        report.join("\n")
    );
}
