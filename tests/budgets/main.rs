//! What a request may cost, counted rather than timed so the count is stable: the statements each
//! hot path runs at the server, the plan of each of them, and the schema they run on. Every case
//! runs against a PostgreSQL cluster of the suite's own, never the shared one.

#![cfg(test)]

#[path = "../faults/cluster.rs"]
#[allow(
    dead_code,
    reason = "the fault suite's cluster; these cases only start one and read it"
)]
mod cluster;
mod plans;
mod schema;
mod statements;
#[path = "../e2e/support/mod.rs"]
#[allow(unused_imports, reason = "the kit re-exports what the e2e tests use")]
mod support;
mod tables;

/// A cluster of the suite's own with `settings`, and the URL of a database owned by a role of the
/// engine's alone (so what it runs can be told from what the test runs).
async fn engine_database(settings: &[&str]) -> Option<(cluster::Cluster, String)> {
    let cluster = cluster::Cluster::start_with(settings).await?;
    cluster.sql("CREATE ROLE engine LOGIN").await;
    cluster.sql("CREATE DATABASE engine OWNER engine").await;
    let url = format!("postgres://engine@127.0.0.1:{}/engine", cluster.port());
    Some((cluster, url))
}
