//! Storage faults on the embedded SQLite database: a disk that fills up under a running engine,
//! and a backup read from read-only storage.

use std::time::Duration;

use crate::disk::SmallDisk;
use crate::support::database::{open, sql};
use crate::support::{Harness, output_text, unique_phone};
use crate::{engine_at, ready_within};

/// A harness whose engine keeps its database on `disk`.
async fn engine_on(disk: &SmallDisk) -> Harness {
    engine_at(&format!(
        "sqlite://{}/auth-engine.db",
        disk.path().display()
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_answers_503_and_the_engine_recovers_when_space_returns() {
    let Some(disk) = SmallDisk::mount(16) else {
        return;
    };
    // Arrange
    let h = engine_on(&disk).await;
    h.login(&unique_phone()).await.assert_ok();

    // Act: the disk fills; codes are asked for until the database needs space it cannot get
    // (pages it already holds may take a few more writes).
    disk.fill();
    let mut answers = Vec::new();
    let mut refused = None;
    for _ in 0..300 {
        let reply = h.send_otp_to_phone(&unique_phone()).await;
        answers.push(reply.status);
        if reply.status != 200 {
            refused = Some(reply);
            break;
        }
    }
    let ready_while_full = h.server.get("/readyz").await;
    disk.free();
    let ready_after = ready_within(&h, Duration::from_secs(10)).await;
    let login_after = h.login(&unique_phone()).await;

    // Assert: a full disk is unavailability, never an internal error, and it passes by itself.
    let refused = refused.unwrap_or_else(|| panic!("the full disk was never noticed: {answers:?}"));
    refused.assert_error(503, "service_unavailable");
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(ready_while_full.status, 503, "{}", ready_while_full.text);
    ready_after.assert_ok();
    login_after.assert_ok();
    assert!(!h.server.logs().contains("panicked"), "{}", h.server.logs());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audit_verify_reads_a_backup_on_read_only_storage() {
    let Some(disk) = SmallDisk::mount(16) else {
        return;
    };
    // Arrange: a backup of an engine's database, on storage nobody can write.
    let h = Harness::start().await;
    h.login(&unique_phone()).await.assert_ok();
    let sealed = h.server.run_cli(&["audit", "seal"]).await;
    assert!(sealed.status.success(), "{}", output_text(&sealed));
    let backup = disk.path().join("backup.db");
    sql(
        &open(&h.server),
        &format!("VACUUM INTO '{}'", backup.display()),
    )
    .await;
    disk.writable(false);
    let url = format!("sqlite://{}", backup.display());
    let on_backup = [("AUTH_DATABASE_URL", url.as_str())];

    // Act
    let verified = h
        .server
        .run_cli_with(&on_backup, &["audit", "verify"])
        .await;
    let exported = h
        .server
        .run_cli_with(&on_backup, &["audit", "export", "--app", &h.app.app_slug])
        .await;

    // Assert: the commands that only read work on it, as they are.
    let report = output_text(&verified);
    assert!(verified.status.success(), "{report}");
    assert!(
        report.contains("intact") && !report.contains("BROKEN"),
        "{report}"
    );
    assert!(exported.status.success(), "{}", output_text(&exported));
    let records = String::from_utf8_lossy(&exported.stdout).lines().count();
    assert!(
        records >= 2,
        "the login and its code were exported: {records}"
    );
    disk.writable(true);
}
