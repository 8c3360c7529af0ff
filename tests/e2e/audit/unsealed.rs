//! Records committed but not yet sealed when the engine died: `audit verify` counts them and says
//! they are sealable, without calling the log broken; the next seal pass chains them.

use super::backend::{Backend, Deployment};
use super::verify;
use crate::support::{TestServer, output_text, unique_phone};

/// How many records the report says are not yet sealed (0 when it says nothing of them).
fn unsealed_in(report: &str) -> u64 {
    report
        .lines()
        .filter(|line| !line.starts_with("chain "))
        .find_map(|line| {
            let (before, _) = line.split_once(" record(s) not yet sealed")?;
            before.rsplit(' ').next()?.parse().ok()
        })
        .unwrap_or(0)
}

async fn unsealed_records_are_reported_after_a_kill_9(backend: Backend) {
    // Arrange: a sealer that runs once a minute, so the login's records wait in the queue.
    let builder = TestServer::builder().env("AUTH_AUDIT_SEAL_INTERVAL_MS", "60000");
    let Some(mut deployment) = Deployment::start_with(backend, builder).await else {
        return;
    };
    let h = &mut deployment.h;
    h.login(&unique_phone()).await.assert_ok();
    h.login(&unique_phone()).await.assert_ok();

    // Act: the engine is killed (SIGKILL), then the log is verified, sealed and verified again.
    h.server.stop().await;
    let before = verify(&h.server, None).await;
    let sealed = h.server.run_cli(&["audit", "seal"]).await;
    let after = verify(&h.server, None).await;

    // Assert
    before.assert_intact();
    let waiting = unsealed_in(&before.output);
    assert!(
        waiting >= 4,
        "two logins' records (otp_sent and login each) are reported unsealed:\n{}",
        before.output
    );
    assert!(before.output.contains("sealable"), "{}", before.output);
    assert!(sealed.status.success(), "{}", output_text(&sealed));
    assert!(
        output_text(&sealed).contains(&format!("sealed {waiting} records")),
        "{}",
        output_text(&sealed)
    );
    after.assert_intact();
    assert_eq!(unsealed_in(&after.output), 0, "{}", after.output);
}

/// A server asked to stop (SIGTERM) seals what its last requests wrote before it exits.
async fn a_stopped_server_leaves_nothing_unsealed(backend: Backend) {
    // Arrange
    let builder = TestServer::builder().env("AUTH_AUDIT_SEAL_INTERVAL_MS", "60000");
    let Some(mut deployment) = Deployment::start_with(backend, builder).await else {
        return;
    };
    let h = &mut deployment.h;
    h.login(&unique_phone()).await.assert_ok();

    // Act
    let exit = h.server.terminate().await;
    let verdict = verify(&h.server, None).await;

    // Assert
    assert!(exit.is_some_and(|status| status.success()), "{exit:?}");
    verdict.assert_intact();
    assert_eq!(unsealed_in(&verdict.output), 0, "{}", verdict.output);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_server_leaves_nothing_unsealed_on_sqlite() {
    a_stopped_server_leaves_nothing_unsealed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopped_server_leaves_nothing_unsealed_on_postgres() {
    a_stopped_server_leaves_nothing_unsealed(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unsealed_records_are_reported_after_a_kill_9_on_sqlite() {
    unsealed_records_are_reported_after_a_kill_9(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unsealed_records_are_reported_after_a_kill_9_on_postgres() {
    unsealed_records_are_reported_after_a_kill_9(Backend::Postgres).await;
}
