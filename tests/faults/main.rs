//! The fault suite: the real binary against a PostgreSQL cluster of the suite's own, which the
//! cases freeze (SIGSTOP) and stop while clients keep calling. Every case is bounded in time.

#![cfg(test)]

mod cluster;
mod disk;
mod failover;
mod storage;
#[path = "../e2e/support/mod.rs"]
#[allow(unused_imports, reason = "the kit re-exports what the e2e tests use")]
mod support;

use std::time::{Duration, Instant};

use serde_json::json;

use crate::cluster::Cluster;
use crate::support::{AppCreds, Harness, Reply, TestServer, refresh, unique_phone};

/// The engine's database deadline in these cases.
pub(crate) const DEADLINE: Duration = Duration::from_millis(1000);

/// How often the refresh-load case freezes the database, each time for [`FREEZE`].
const FREEZES: u64 = 6;
const FREEZE: Duration = Duration::from_secs(3);

/// A harness whose engine uses `cluster`, with a one-second database deadline and the default
/// grace window (10 s), longer than the freezes: a retry after a freeze is within it.
async fn engine_on(cluster: &Cluster) -> Harness {
    engine_at(&cluster.url()).await
}

/// A harness whose engine uses the database at `url` (any form `AUTH_DATABASE_URL` takes), with a
/// one-second database deadline and limits no case reaches.
pub(crate) async fn engine_at(url: &str) -> Harness {
    Harness::start_with(
        TestServer::builder()
            .env("AUTH_DATABASE_URL", url)
            .env("AUTH_DB_TIMEOUT_MS", DEADLINE.as_millis().to_string())
            .env("AUTH_OTP_SENDS_PER_IP_PER_HOUR", "100000")
            .env("AUTH_OTP_VERIFIES_PER_IP_PER_HOUR", "100000"),
    )
    .await
}

/// `/readyz` until it answers 200, for at most `patience`.
pub(crate) async fn ready_within(h: &Harness, patience: Duration) -> Reply {
    let until = Instant::now() + patience;
    loop {
        let ready = h.server.get("/readyz").await;
        if ready.status == 200 || Instant::now() > until {
            return ready;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What one client saw while refreshing over and over, retrying the same token after a failure.
#[derive(Debug, Default)]
pub(crate) struct Client {
    pub slowest: Duration,
    pub answers: Vec<u16>,
    pub reused: Vec<String>,
}

/// Refreshes `token` until `until`, as a careful backend does: a 5xx or a lost answer is retried
/// with the same token after `Retry-After`; a success replaces the token. Returns what it saw and
/// the token it holds at the end.
pub(crate) async fn keep_refreshing(
    server: &TestServer,
    app: &AppCreds,
    mut token: String,
    until: Instant,
) -> (Client, String) {
    let mut seen = Client::default();
    while Instant::now() < until {
        let started = Instant::now();
        let reply: Reply = refresh(server, app, &token).await;
        seen.slowest = seen.slowest.max(started.elapsed());
        seen.answers.push(reply.status);
        match reply.status {
            200 => token = reply.str("refresh_token"),
            401 => {
                seen.reused.push(reply.text.clone());
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
    (seen, token)
}

/// No session of the harness app was taken for stolen.
pub(crate) async fn assert_no_theft_recorded(h: &Harness) {
    let thefts = h
        .post(
            "/audit/events",
            json!({ "event": "refresh_reuse_detected" }),
        )
        .await;
    thefts.assert_ok();
    assert_eq!(thefts.body["events"], json!([]), "theft was recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_frozen_database_answers_within_the_deadline_and_no_retrying_client_loses_its_session() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    // Arrange: twelve signed-in clients.
    let h = engine_on(&cluster).await;
    let mut tokens = Vec::new();
    for _ in 0..12 {
        tokens.push(h.login(&unique_phone()).await.str("refresh_token"));
    }
    let until = Instant::now() + Duration::from_secs(FREEZES * 4 + 2);

    // Act: they refresh over and over while the database is frozen again and again, landing at
    // random points of the rotations in flight: before, inside and after their commits.
    let clients = tokens
        .into_iter()
        .map(|token| keep_refreshing(&h.server, &h.app, token, until));
    let freezes = async {
        for _ in 0..FREEZES {
            tokio::time::sleep(Duration::from_millis(1000)).await;
            cluster.freeze().await;
            tokio::time::sleep(FREEZE).await;
            cluster.thaw().await;
        }
    };
    let (outcomes, ()) = tokio::join!(futures_util::future::join_all(clients), freezes);

    // Assert: every answer within the deadline and a margin for signing; no client's retry was
    // taken for theft, and every session still works.
    let mut failures = 0;
    for (client, token) in &outcomes {
        assert!(client.reused.is_empty(), "a retry was refused: {client:?}");
        assert!(
            client.slowest < DEADLINE + Duration::from_secs(1),
            "an answer took {:?}: {client:?}",
            client.slowest
        );
        failures += client.answers.iter().filter(|s| **s == 503).count();
        let last = refresh(&h.server, &h.app, token).await;
        last.assert_ok();
    }
    assert!(failures > 0, "the freezes were never noticed: {outcomes:?}");
    assert_no_theft_recorded(&h).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_database_answers_503_and_the_engine_recovers_when_it_is_back() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    // Arrange
    let h = engine_on(&cluster).await;
    let token = h.login(&unique_phone()).await.str("refresh_token");

    // Act: the server stops as if it crashed.
    cluster.stop().await;
    let started = Instant::now();
    let during = refresh(&h.server, &h.app, &token).await;
    let took = started.elapsed();
    let ready = h.server.get("/readyz").await;
    cluster.pg_ctl_start().await;
    let mut after = refresh(&h.server, &h.app, &token).await;
    let patience = Instant::now() + Duration::from_secs(20);
    while after.status == 503 && Instant::now() < patience {
        tokio::time::sleep(Duration::from_millis(250)).await;
        after = refresh(&h.server, &h.app, &token).await;
    }

    // Assert
    during.assert_error(503, "service_unavailable");
    assert!(
        took < DEADLINE + Duration::from_secs(1),
        "the 503 took {took:?}"
    );
    assert_eq!(ready.status, 503, "{}", ready.text);
    after.assert_ok();
    h.server.get("/readyz").await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_retry_that_waited_out_an_outage_longer_than_the_grace_window_keeps_its_session() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    // Arrange: a two-second grace window, and a rotation whose answer the client lost.
    let h = Harness::start_with(
        TestServer::builder()
            .postgres(&cluster.url())
            .env("AUTH_DB_TIMEOUT_MS", DEADLINE.as_millis().to_string())
            .env("AUTH_REFRESH_REUSE_GRACE_SECS", "2"),
    )
    .await;
    let token = h.login(&unique_phone()).await.str("refresh_token");
    let lost = refresh(&h.server, &h.app, &token).await;
    lost.assert_ok();

    // Act: the database freezes for longer than the window; the client retries all along.
    cluster.freeze().await;
    let thaw_at = Instant::now() + FREEZE;
    let mut during = Vec::new();
    while Instant::now() < thaw_at {
        during.push(refresh(&h.server, &h.app, &token).await.status);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    cluster.thaw().await;
    let retried = refresh(&h.server, &h.app, &token).await;

    // Assert: the outage did not use up the window: the same successor, and no theft.
    assert!(during.iter().all(|status| *status == 503), "{during:?}");
    retried.assert_ok();
    assert_eq!(retried.str("refresh_token"), lost.str("refresh_token"));
    refresh(&h.server, &h.app, &retried.str("refresh_token"))
        .await
        .assert_ok();
    assert_no_theft_recorded(&h).await;
}
