//! The production store: Postgres, shared by several engine processes, and a database outage.
//! Skipped (with a note) when `TEST_DATABASE_URL` is not set; under `CI=true` that is a failure.

use crate::support::database::scratch_database;
use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;
use tokio::time::Instant;

use crate::support::proxy::{TcpProxy, upstream_of, via_local_port};
use crate::support::{Harness, Reply, TestServer, fire_at_once, refresh, unique_phone};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_and_refresh_work_on_postgres() {
    // Arrange
    let Some(database) = scratch_database().await else {
        return;
    };
    let mut h = Harness::start_with(TestServer::builder().postgres(database.url())).await;
    let login = h.login(&unique_phone()).await;

    // Act
    let rotated = h.refresh(&login.str("refresh_token")).await;

    // Assert
    rotated.assert_ok();
    assert_ne!(rotated.str("refresh_token"), login.str("refresh_token"));
    h.me(&rotated.str("access_token")).await.assert_ok();
    h.server.get("/readyz").await.assert_ok();
    h.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_racing_one_refresh_token_rotate_it_once() {
    // Arrange
    let Some(database) = scratch_database().await else {
        return;
    };
    let mut h = Harness::start_with(TestServer::builder().postgres(database.url())).await;
    let mut second = h.server.start_sibling().await;
    let original = h.login(&unique_phone()).await.str("refresh_token");
    let body = h.app.body(json!({ "refresh_token": original }));
    let posts = (0..10)
        .map(|i| {
            let server = if i % 2 == 0 { &h.server } else { &second };
            server.prepare_post("/auth/refresh", body.clone())
        })
        .collect();

    // Act
    let replies = fire_at_once(posts).await;

    // Assert
    for reply in &replies {
        reply.assert_ok();
    }
    let new_tokens: BTreeSet<String> = replies
        .iter()
        .map(|reply| reply.str("refresh_token"))
        .collect();
    assert_eq!(
        new_tokens.len(),
        1,
        "the token was rotated more than once: {new_tokens:?}"
    );
    let new_token = new_tokens.into_iter().next().expect("one token");
    assert_ne!(new_token, original);
    refresh(&second, &h.app, &new_token).await.assert_ok();
    second.stop().await;
    h.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_racing_one_code_verify_it_once() {
    // Arrange
    let Some(database) = scratch_database().await else {
        return;
    };
    let mut h = Harness::start_with(TestServer::builder().postgres(database.url())).await;
    let mut second = h.server.start_sibling().await;
    let (otp_request_id, code) = h.request_code(&unique_phone()).await;
    let body = h
        .app
        .body(json!({ "otp_request_id": otp_request_id, "otp": code }));
    let posts = (0..20)
        .map(|i| {
            let server = if i % 2 == 0 { &h.server } else { &second };
            server.prepare_post("/auth/verify-otp", body.clone())
        })
        .collect();

    // Act
    let replies = fire_at_once(posts).await;

    // Assert
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    assert_eq!(
        statuses.iter().filter(|&&status| status == 200).count(),
        1,
        "statuses: {statuses:?}"
    );
    for loser in replies.iter().filter(|reply| reply.status != 200) {
        loser.assert_error(404, "otp_not_found");
    }
    second.stop().await;
    h.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_outage_answers_503_and_the_server_recovers_by_itself() {
    // Arrange: the server reaches Postgres only through a proxy the test can cut.
    let Some(database) = scratch_database().await else {
        return;
    };
    let mut proxy = TcpProxy::start(&upstream_of(database.url())).await;
    let proxied_url = via_local_port(database.url(), proxy.port());
    let mut h = Harness::start_with(TestServer::builder().postgres(&proxied_url)).await;
    let refresh_token = h.login(&unique_phone()).await.str("refresh_token");

    // Act: the database goes away.
    proxy.stop().await;
    let during_call = h.refresh(&refresh_token).await;
    let during_ready = h.server.get("/readyz").await;

    // Assert
    during_call.assert_error(503, "service_unavailable");
    assert_eq!(
        during_ready.status, 503,
        "/readyz while the database is down: {}",
        during_ready.text
    );

    // Act: the database comes back on the same address.
    proxy.resume().await;
    let after = refresh_while_unavailable(&h, &refresh_token, Duration::from_secs(20)).await;

    // Assert
    after.assert_ok();
    h.server.get("/readyz").await.assert_ok();
    h.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_database_answers_503_within_the_deadline_and_the_server_recovers() {
    // Arrange: a one-second deadline; the database reached through a proxy that can stall it.
    let Some(database) = scratch_database().await else {
        return;
    };
    let proxy = TcpProxy::start(&upstream_of(database.url())).await;
    let proxied_url = via_local_port(database.url(), proxy.port());
    let deadline = Duration::from_millis(1000);
    let mut h = Harness::start_with(
        TestServer::builder()
            .postgres(&proxied_url)
            .env("AUTH_DB_TIMEOUT_MS", "1000"),
    )
    .await;
    let refresh_token = h.login(&unique_phone()).await.str("refresh_token");

    // Act: the database stops answering, its connections left open.
    proxy.freeze();
    let started = Instant::now();
    let during_call = h.refresh(&refresh_token).await;
    let call_took = started.elapsed();
    let started = Instant::now();
    let during_ready = h.server.get("/readyz").await;
    let ready_took = started.elapsed();

    // Assert: a prompt, retryable 503, not a hang.
    during_call.assert_error(503, "service_unavailable");
    assert_eq!(during_call.header("retry-after"), Some("1"));
    assert!(call_took < deadline * 2, "the refresh took {call_took:?}");
    assert_eq!(during_ready.status, 503, "{}", during_ready.text);
    assert!(
        ready_took < deadline + Duration::from_secs(1),
        "/readyz took {ready_took:?}"
    );

    // Act: the database answers again.
    proxy.thaw();
    let after = refresh_while_unavailable(&h, &refresh_token, Duration::from_secs(20)).await;

    // Assert: the retry of the very same token is served; the session lives.
    after.assert_ok();
    h.me(&after.str("access_token")).await.assert_ok();
    h.server.get("/readyz").await.assert_ok();
    h.server.stop().await;
}

/// Refreshes until the answer is no longer 503 or `patience` runs out; every answer in between
/// must be the documented `service_unavailable`.
async fn refresh_while_unavailable(h: &Harness, refresh_token: &str, patience: Duration) -> Reply {
    let deadline = Instant::now() + patience;
    loop {
        let reply = h.refresh(refresh_token).await;
        if reply.status != 503 || Instant::now() >= deadline {
            return reply;
        }
        reply.assert_error(503, "service_unavailable");
        // Waiting on real time is the point here: the server must notice the database by itself.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
