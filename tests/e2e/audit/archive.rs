//! `auth-engine audit archive`: the oldest records of an app move to a file that anyone can verify
//! with SHA-256 and the engine's published audit key, the database drops them behind a signed checkpoint, and what
//! stays behind still verifies; nothing is dropped that was not written out first.

use std::path::Path;

use serde_json::{Value, json};

use super::backend::{Backend, Deployment};
use super::{
    GENESIS, Reader, Verdict, assert_export_verifies, export, int, ints, micros, occurred_at,
    rfc3339_of_micros, text, texts, verify,
};
use crate::support::database::{open, sql};
use crate::support::docs::AUDIT_LOG;
use crate::support::jwt::{CHECKPOINT_TYP, fetch_audit_keys, verify_audit_statement};
use crate::support::{Harness, TestServer, unique_phone};

/// Runs `auth-engine audit archive --app SLUG --before T --out PATH`.
async fn archive(server: &TestServer, slug: &str, before: &str, out: &Path) -> Verdict {
    let out = out.to_string_lossy();
    let args = [
        "audit", "archive", "--app", slug, "--before", before, "--out", &out,
    ];
    Verdict::of(&server.run_cli(&args).await)
}

/// The JSON objects of a JSON Lines file.
fn read_lines(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    text.lines()
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(object @ Value::Object(_)) => object,
            _ => panic!("a line of {} is not a JSON object: {line}", path.display()),
        })
        .collect()
}

fn is_checkpoint(line: &Value) -> bool {
    line.get("checkpoint").is_some()
}

/// The record lines, without the checkpoint lines.
fn records(lines: &[Value]) -> Vec<Value> {
    lines
        .iter()
        .filter(|l| !is_checkpoint(l))
        .cloned()
        .collect()
}

/// Checks an archive or an export as a third party would: the records chain from `start` with
/// SHA-256 and the documented encoding, and each checkpoint line verifies with the engine's audit
/// key set `keys` and
/// vouches for exactly the link before it and the records since the previous checkpoint line.
/// Returns the checkpoints' claims.
#[track_caller]
fn assert_archive_verifies(lines: &[Value], start: &str, keys: &Value) -> Vec<Value> {
    let mut previous = start.to_owned();
    let mut segment: Vec<Value> = Vec::new();
    let mut checkpoints = Vec::new();
    for line in lines {
        if !is_checkpoint(line) {
            assert_export_verifies(std::slice::from_ref(line), &previous);
            previous = text(line, "link").to_owned();
            segment.push(line.clone());
            continue;
        }
        let claims = verify_audit_statement(text(line, "checkpoint"), CHECKPOINT_TYP, keys)
            .unwrap_or_else(|error| panic!("a checkpoint does not verify: {error}"));
        assert_eq!(text(&claims, "link"), previous, "{claims}");
        if let (Some(first), Some(last)) = (segment.first(), segment.last()) {
            assert_eq!(claims["prev_link"], first["prev_link"], "{claims}");
            assert_eq!(claims["from_position"], first["position"], "{claims}");
            assert_eq!(claims["position"], last["position"], "{claims}");
            assert_eq!(
                int(&claims, "records"),
                i64::try_from(segment.len()).unwrap()
            );
        }
        segment.clear();
        checkpoints.push(claims);
    }
    checkpoints
}

/// The instant just after `record` occurred, as RFC 3339: a cut that takes it and all before it.
fn just_after(record: &Value) -> String {
    rfc3339_of_micros(micros(occurred_at(record)) + 1)
}

async fn archiving_moves_the_oldest_records_out_and_the_rest_still_verifies(backend: Backend) {
    // Arrange: a first login, then a second; the cut falls between them.
    let Some(mut deployment) = Deployment::start(backend).await else {
        return;
    };
    let h = &deployment.h;
    let reader = Reader::of(h);
    h.login(&unique_phone()).await;
    let early = reader.all(json!({})).await;
    h.login(&unique_phone()).await;
    let all = reader.all(json!({})).await;
    let first_kept = &all[early.len()];
    assert!(
        early
            .iter()
            .all(|record| occurred_at(record) < occurred_at(first_kept))
    );
    let cut = text(first_kept, "occurred_at");
    let out = h.server.dir().join("first.jsonl");
    let jwks = fetch_audit_keys(&h.server).await;

    // Act
    let run = archive(&h.server, &h.app.app_slug, cut, &out).await;

    // Assert: the file holds exactly the early records and a checkpoint after them.
    let n = early.len();
    assert!(run.succeeded, "{}", run.output);
    assert!(
        run.output.contains(&format!("archived {n} records")),
        "{}",
        run.output
    );
    let lines = read_lines(&out);
    let checkpoints = assert_archive_verifies(&lines, GENESIS, &jwks);
    assert!(
        is_checkpoint(&lines[lines.len() - 1]),
        "it ends with a checkpoint"
    );
    AUDIT_LOG.assert_same_shape("audit-checkpoint-line", &lines[lines.len() - 1]);
    let archived = records(&lines);
    assert_eq!(texts(&archived, "id"), texts(&early, "id"));
    let first = &checkpoints[0];
    assert_eq!(first["app_id"], h.app.app_id.as_str());
    assert_eq!(first["prev_link"], GENESIS);
    assert_eq!(int(first, "position"), i64::try_from(n).unwrap());
    assert_eq!(int(first, "before"), micros(occurred_at(first_kept)));

    // The database keeps the rest, and records the archive in the chain itself.
    let kept = reader.all(json!({})).await;
    let positions: Vec<i64> = (i64::try_from(n).unwrap() + 1..).take(kept.len()).collect();
    assert_eq!(ints(&kept, "seq"), positions);
    assert_eq!(texts(&kept[..all.len() - n], "id"), texts(&all[n..], "id"));
    let recorded = &kept[kept.len() - 1];
    assert_eq!(recorded["event"], "audit_archived");
    assert_eq!(recorded["actor"], "operator");
    assert_eq!(
        recorded["details"],
        json!({ "from_position": 1, "through_position": n, "records": n,
                "before_micros": micros(occurred_at(first_kept)) })
    );
    let verdict = verify(&h.server, Some(&h.app.app_slug)).await;
    verdict.assert_intact();
    assert!(
        verdict
            .output
            .contains(&format!("after the checkpoint at position {n}")),
        "{}",
        verdict.output
    );
    let exported = export(&h.server, &h.app.app_slug, None).await;
    assert_eq!(
        exported[0],
        lines[lines.len() - 1],
        "an export opens with the checkpoint"
    );
    assert_archive_verifies(&exported, text(first, "link"), &jwks);
    assert_eq!(texts(&records(&exported), "id"), texts(&kept, "id"));

    // A second archive goes on from the first checkpoint.
    let cut = just_after(recorded);
    let out = h.server.dir().join("second.jsonl");
    let run = archive(&h.server, &h.app.app_slug, &cut, &out).await;
    assert!(run.succeeded, "{}", run.output);
    let lines = read_lines(&out);
    let second = assert_archive_verifies(&lines, text(first, "link"), &jwks);
    assert_eq!(texts(&records(&lines), "id"), texts(&kept, "id"));
    assert_eq!(second[0]["prev_link"], first["link"]);
    let kept = reader.all(json!({})).await;
    assert_eq!(texts(&kept, "event"), ["audit_archived"]);
    assert_eq!(
        ints(&kept, "seq"),
        [int(&second[0], "position") + 1],
        "the chain goes on after the checkpoint"
    );
    verify(&h.server, Some(&h.app.app_slug))
        .await
        .assert_intact();
    deployment.h.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn archiving_moves_the_oldest_records_out_and_the_rest_still_verifies_on_sqlite() {
    archiving_moves_the_oldest_records_out_and_the_rest_still_verifies(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn archiving_moves_the_oldest_records_out_and_the_rest_still_verifies_on_postgres() {
    archiving_moves_the_oldest_records_out_and_the_rest_still_verifies(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_archive_that_cannot_be_written_drops_nothing() {
    // Arrange
    let h = Harness::start().await;
    let reader = Reader::of(&h);
    h.login(&unique_phone()).await;
    let before = reader.all(json!({})).await;
    let cut = just_after(&before[before.len() - 1]);
    let existing = h.server.dir().join("existing.jsonl");
    std::fs::write(&existing, "an earlier archive\n").unwrap();
    let unwritable = h
        .server
        .dir()
        .join("no-such-directory")
        .join("archive.jsonl");
    let tomorrow = rfc3339_of_micros(micros(occurred_at(&before[0])) + 86_400_000_000);

    // Act
    let into_missing_directory = archive(&h.server, &h.app.app_slug, &cut, &unwritable).await;
    let over_existing_file = archive(&h.server, &h.app.app_slug, &cut, &existing).await;
    let from_the_future = archive(
        &h.server,
        &h.app.app_slug,
        &tomorrow,
        &h.server.dir().join("future.jsonl"),
    )
    .await;

    // Assert
    for (run, says) in [
        (&into_missing_directory, "--out"),
        (&over_existing_file, "--out"),
        (&from_the_future, "future"),
    ] {
        assert!(!run.succeeded, "{}", run.output);
        assert!(run.output.contains(says), "{}", run.output);
    }
    assert_eq!(
        std::fs::read_to_string(&existing).unwrap(),
        "an earlier archive\n",
        "an existing file is never overwritten"
    );
    assert!(!h.server.dir().join("future.jsonl").exists());
    assert_eq!(
        texts(&reader.all(json!({})).await, "id"),
        texts(&before, "id")
    );
    let exported = export(&h.server, &h.app.app_slug, None).await;
    assert!(
        !exported.iter().any(is_checkpoint),
        "no checkpoint was made"
    );
    verify(&h.server, Some(&h.app.app_slug))
        .await
        .assert_intact();
}

/// Lets UPDATE and DELETE through on `audit_checkpoints`, as the owner of the tables can.
async fn lift_checkpoint_guard(backend: Backend, store: &auth_store::Store) {
    match backend {
        Backend::Sqlite => {
            sql(store, "DROP TRIGGER audit_checkpoints_no_update").await;
            sql(store, "DROP TRIGGER audit_checkpoints_no_delete").await;
        }
        Backend::Postgres => {
            sql(store, "ALTER TABLE audit_checkpoints DISABLE TRIGGER USER").await;
        }
    }
}

async fn a_moved_or_removed_checkpoint_breaks_the_chain(backend: Backend) {
    // Arrange: an archive, then someone with the owner's rights at the checkpoints.
    let Some(mut deployment) = Deployment::start(backend).await else {
        return;
    };
    let h = &deployment.h;
    h.login(&unique_phone()).await;
    let all = Reader::of(h).all(json!({})).await;
    let n = i64::try_from(all.len()).unwrap();
    let out = h.server.dir().join("archive.jsonl");
    let run = archive(
        &h.server,
        &h.app.app_slug,
        &just_after(&all[all.len() - 1]),
        &out,
    )
    .await;
    assert!(run.succeeded, "{}", run.output);
    // Listing seals the `audit_archived` record: the chain goes on at position n + 1.
    Reader::of(h).all(json!({})).await;
    let store = open(&h.server);
    lift_checkpoint_guard(backend, &store).await;

    // Act: the checkpoint claims one record fewer was archived, then it is removed.
    sql(
        &store,
        "UPDATE audit_checkpoints SET position = position - 1",
    )
    .await;
    let moved = verify(&h.server, Some(&h.app.app_slug)).await;
    sql(&store, "DELETE FROM audit_checkpoints").await;
    let removed = verify(&h.server, Some(&h.app.app_slug)).await;

    // Assert
    let line = moved.broken_line();
    assert!(
        line.contains(&format!("position {}", n - 1)) && line.contains("signature"),
        "{line}"
    );
    let line = removed.broken_line();
    assert!(
        line.contains(&format!("position {}", n + 1)) && line.contains("position 1 is missing"),
        "{line}"
    );
    drop(store);
    deployment.h.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_moved_or_removed_checkpoint_breaks_the_chain_on_sqlite() {
    a_moved_or_removed_checkpoint_breaks_the_chain(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_moved_or_removed_checkpoint_breaks_the_chain_on_postgres() {
    a_moved_or_removed_checkpoint_breaks_the_chain(Backend::Postgres).await;
}

async fn two_archives_at_once_drop_each_record_once_and_lose_none(backend: Backend) {
    // Arrange
    let Some(mut deployment) = Deployment::start(backend).await else {
        return;
    };
    let h = &deployment.h;
    for _ in 0..3 {
        h.login(&unique_phone()).await;
    }
    let all = Reader::of(h).all(json!({})).await;
    let cut = just_after(&all[all.len() - 1]);
    let (a, b) = (
        h.server.dir().join("a.jsonl"),
        h.server.dir().join("b.jsonl"),
    );

    // Act: two operator processes archive the same records at the same moment.
    let (run_a, run_b) = tokio::join!(
        archive(&h.server, &h.app.app_slug, &cut, &a),
        archive(&h.server, &h.app.app_slug, &cut, &b),
    );

    // Assert: one archived everything; the other found nothing left or lost the race, and
    // either way dropped nothing.
    let winners: Vec<(&Verdict, &Path)> = [(&run_a, a.as_path()), (&run_b, b.as_path())]
        .into_iter()
        .filter(|(run, _)| run.output.contains("archived "))
        .collect();
    assert_eq!(winners.len(), 1, "{}\n{}", run_a.output, run_b.output);
    let (winner, file) = winners[0];
    assert!(winner.succeeded, "{}", winner.output);
    for run in [&run_a, &run_b] {
        assert!(
            run.succeeded
                || run
                    .output
                    .contains("another archive of this chain committed first"),
            "{}",
            run.output
        );
    }
    let jwks = fetch_audit_keys(&h.server).await;
    let lines = read_lines(file);
    assert_archive_verifies(&lines, GENESIS, &jwks);
    assert_eq!(texts(&records(&lines), "id"), texts(&all, "id"));
    let kept = Reader::of(h).all(json!({})).await;
    assert_eq!(texts(&kept, "event"), ["audit_archived"]);
    verify(&h.server, Some(&h.app.app_slug))
        .await
        .assert_intact();
    deployment.h.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_archives_at_once_drop_each_record_once_and_lose_none_on_sqlite() {
    two_archives_at_once_drop_each_record_once_and_lose_none(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_archives_at_once_drop_each_record_once_and_lose_none_on_postgres() {
    two_archives_at_once_drop_each_record_once_and_lose_none(Backend::Postgres).await;
}
