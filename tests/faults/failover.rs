//! Failover: the engine names a primary and its synchronous standby, and follows a promotion
//! without a restart.

use std::time::{Duration, Instant};

use crate::cluster::Cluster;
use crate::support::{refresh, unique_phone};
use crate::{assert_no_theft_recorded, engine_at, keep_refreshing, ready_within};

/// How soon after a promotion the engine must serve again.
const FOLLOW_WITHIN: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_engine_follows_a_promoted_standby_without_losing_a_rotation_or_a_session() {
    let Some(primary) = Cluster::start().await else {
        return;
    };
    let standby = primary.start_standby().await;
    // Arrange: twelve signed-in clients, on an engine that names both servers in libpq's
    // key-value form and wants the one that takes writes.
    let h = engine_at(&format!(
        "host=127.0.0.1,127.0.0.1 port={},{} user=postgres dbname=postgres target_session_attrs=read-write",
        primary.port(),
        standby.port()
    ))
    .await;
    let mut tokens = Vec::new();
    for _ in 0..12 {
        tokens.push(h.login(&unique_phone()).await.str("refresh_token"));
    }
    let until = Instant::now() + Duration::from_secs(14);

    // Act: under refresh load the primary dies and the standby is promoted; a probe notes when
    // the engine serves again.
    let clients = tokens
        .into_iter()
        .map(|token| keep_refreshing(&h.server, &h.app, token, until));
    let failover = async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        primary.stop().await;
        standby.promote().await;
        let promoted = Instant::now();
        ready_within(&h, Duration::from_secs(30)).await;
        promoted.elapsed()
    };
    let (outcomes, followed_after) =
        tokio::join!(futures_util::future::join_all(clients), failover);

    // Assert: serving again soon after the promotion; every session alive and current (a lost
    // rotation would leave a client holding a token the new primary never saw); no theft.
    assert!(
        followed_after < FOLLOW_WITHIN,
        "the engine served again only {followed_after:?} after the promotion"
    );
    let mut failures = 0;
    for (client, token) in &outcomes {
        assert!(
            client.reused.is_empty(),
            "a session was refused: {client:?}"
        );
        failures += client.answers.iter().filter(|s| **s == 503).count();
        refresh(&h.server, &h.app, token).await.assert_ok();
    }
    assert!(failures > 0, "the failover was never noticed: {outcomes:?}");
    assert_no_theft_recorded(&h).await;
}
