//! Someone with the database owner's rights lifts the append-only triggers and edits, deletes,
//! swaps or inserts records: `audit verify` fails and names where. On SQLite and on Postgres (the
//! Postgres cases are skipped without `TEST_DATABASE_URL`).

use auth_ports::AuditChain as _;
use auth_store::Store;
use serde_json::{Value, json};

use super::backend::{Backend, Deployment};
use super::{Reader, int, mentions_position, text, verify};
use crate::support::database::{open, quoted, refused_sql, sql};
use crate::support::sha256::sha256;
use crate::support::unique_phone;

/// What is done to the sealed log.
#[derive(Debug, Clone, Copy)]
enum Tampering {
    /// One record's `details` rewritten.
    Edit,
    /// One record removed.
    Delete,
    /// Two records' `event` and `details` exchanged: the log reordered.
    Swap,
    /// A record written straight into the table, copying a real one.
    Insert,
    /// One record's `details` rewritten, and every link from it on recomputed by the documented
    /// encoding, as anyone with the database can.
    Recompute,
}

/// What the BROKEN line must name.
#[derive(Debug)]
struct Expected {
    position: Option<i64>,
    record: Option<String>,
    words: Option<&'static str>,
}

const FORGED_ID: &str = "evt_forgedforgedforgedforgedforged";

/// Seals ≥ 6 records, checks they verify, applies `tampering` and checks that verify names it.
async fn tampering_is_caught(backend: Backend, tampering: Tampering) {
    // Arrange
    let Some(mut deployment) = Deployment::start(backend).await else {
        return;
    };
    let h = &deployment.h;
    let first = h.login(&unique_phone()).await;
    h.login(&unique_phone()).await;
    h.refresh(&first.str("refresh_token")).await.assert_ok();
    // Listing seals every record committed so far.
    let events = Reader::of(h).all(json!({})).await;
    assert!(events.len() >= 6, "{events:?}");
    verify(&h.server, Some(&h.app.app_slug))
        .await
        .assert_intact();
    let store = open(&h.server);

    // Act
    let expected = tamper(backend, &store, tampering, &events, &h.app.app_id).await;
    let verdict = verify(&h.server, Some(&h.app.app_slug)).await;

    // Assert
    let line = verdict.broken_line();
    if let Some(position) = expected.position {
        assert!(
            mentions_position(line, position),
            "{tampering:?} at position {position} is not named: {line}"
        );
    }
    if let Some(record) = &expected.record {
        assert!(
            line.contains(record.as_str()),
            "{tampering:?} of {record} is not named: {line}"
        );
    }
    if let Some(words) = expected.words {
        assert!(
            line.contains(words),
            "{tampering:?} is not called `{words}`: {line}"
        );
    }
    drop(store);
    deployment.h.server.stop().await;
}

/// Does `tampering` to the sealed `events` (app_created, otp_sent, login, …) behind the engine.
async fn tamper(
    backend: Backend,
    store: &Store,
    tampering: Tampering,
    events: &[Value],
    chain: &str,
) -> Expected {
    let (earlier, target) = (&events[1], &events[2]);
    let target_id = text(target, "id");
    match tampering {
        Tampering::Edit => {
            let edit = format!(
                "UPDATE audit_events SET details = '{{\"tampered\":true}}' WHERE id = {}",
                quoted(target_id)
            );
            refused_sql(store, &edit).await;
            backend.lift_append_only(store).await;
            assert_eq!(sql(store, &edit).await, 1, "{edit}");
            Expected {
                position: Some(int(target, "seq")),
                record: Some(target_id.to_owned()),
                words: None,
            }
        }
        Tampering::Delete => {
            let delete = format!("DELETE FROM audit_events WHERE id = {}", quoted(target_id));
            refused_sql(store, &delete).await;
            backend.lift_append_only(store).await;
            backend.allow_dangling_links(store).await;
            let unsealed = format!(
                "DELETE FROM audit_pending WHERE seq IN (SELECT seq FROM audit_events WHERE id = {})",
                quoted(target_id)
            );
            assert_eq!(
                sql(store, &unsealed).await,
                0,
                "a listed record still waits to be sealed"
            );
            assert_eq!(sql(store, &delete).await, 1, "{delete}");
            Expected {
                position: Some(int(target, "seq")),
                record: None,
                words: Some("deleted"),
            }
        }
        Tampering::Swap => {
            backend.lift_append_only(store).await;
            for (record, other) in [(earlier, target), (target, earlier)] {
                let swap = format!(
                    "UPDATE audit_events SET event = {}, details = {} WHERE id = {}",
                    quoted(text(other, "event")),
                    quoted(&other["details"].to_string()),
                    quoted(text(record, "id"))
                );
                assert_eq!(sql(store, &swap).await, 1, "{swap}");
            }
            Expected {
                position: Some(int(earlier, "seq")),
                record: Some(text(earlier, "id").to_owned()),
                words: None,
            }
        }
        Tampering::Recompute => {
            backend.lift_append_only(store).await;
            backend.lift_chain_append_only(store).await;
            let edit = format!(
                "UPDATE audit_events SET details = '{{\"tampered\":true}}' WHERE id = {}",
                quoted(target_id)
            );
            assert_eq!(sql(store, &edit).await, 1, "{edit}");
            let from = int(target, "seq");
            let rewritten = recompute_links(backend, store, chain, from).await;
            assert!(rewritten >= 1, "no link was recomputed");
            Expected {
                position: Some(from),
                record: Some(target_id.to_owned()),
                words: Some("rewritten"),
            }
        }
        Tampering::Insert => {
            let insert = format!(
                "INSERT INTO audit_events (id, app_id, event, outcome, actor, subject, client_ip, \
                 user_agent, request_id, details, occurred_at) \
                 SELECT {}, app_id, event, outcome, actor, subject, client_ip, user_agent, \
                 request_id, details, occurred_at FROM audit_events WHERE id = {}",
                quoted(FORGED_ID),
                quoted(target_id)
            );
            assert_eq!(sql(store, &insert).await, 1, "{insert}");
            Expected {
                position: None,
                record: Some(FORGED_ID.to_owned()),
                words: None,
            }
        }
    }
}

/// Recomputes the links of `chain` from position `from` on, as the documented encoding makes them
/// from the records as they now stand; how many it rewrote.
async fn recompute_links(backend: Backend, store: &Store, chain: &str, from: i64) -> usize {
    let links = store.links(chain, 1, 10_000).await.expect("read the chain");
    let mut previous = links[usize::try_from(from - 2).expect("a later position")]
        .0
        .link;
    let mut rewritten = 0;
    for (link, event) in links.iter().filter(|(link, _)| link.position >= from) {
        let event = event.as_ref().expect("every record is there");
        previous = sha256(&event.link_input(&previous));
        let update = format!(
            "UPDATE audit_chain SET link = {} WHERE chain = {} AND position = {}",
            backend.blob(&previous),
            quoted(chain),
            link.position
        );
        rewritten += sql(store, &update).await;
    }
    rewritten
}

/// Without lifting anything, the database refuses to change the records or their chain.
async fn the_database_refuses_to_rewrite_the_log(backend: Backend) {
    // Arrange
    let Some(mut deployment) = Deployment::start(backend).await else {
        return;
    };
    let h = &deployment.h;
    h.login(&unique_phone()).await;
    Reader::of(h).all(json!({})).await;
    let store = open(&h.server);

    // Act
    let mut statements = vec![
        "UPDATE audit_events SET outcome = 'failure'",
        "DELETE FROM audit_events",
        "UPDATE audit_chain SET position = position + 1000",
        "DELETE FROM audit_chain",
    ];
    if backend == Backend::Postgres {
        statements.extend(["TRUNCATE audit_events", "TRUNCATE audit_chain"]);
    }
    for statement in statements {
        refused_sql(&store, statement).await;
    }

    // Assert
    verify(&h.server, Some(&h.app.app_slug))
        .await
        .assert_intact();
    drop(store);
    deployment.h.server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_edited_record_is_named_with_its_position_on_sqlite() {
    tampering_is_caught(Backend::Sqlite, Tampering::Edit).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_record_is_reported_at_its_position_on_sqlite() {
    tampering_is_caught(Backend::Sqlite, Tampering::Delete).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_swapped_records_are_caught_at_the_first_of_them_on_sqlite() {
    tampering_is_caught(Backend::Sqlite, Tampering::Swap).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_record_inserted_behind_the_engines_back_is_named_on_sqlite() {
    tampering_is_caught(Backend::Sqlite, Tampering::Insert).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_edit_with_every_link_recomputed_is_named_with_its_position_on_sqlite() {
    tampering_is_caught(Backend::Sqlite, Tampering::Recompute).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_edit_with_every_link_recomputed_is_named_with_its_position_on_postgres() {
    tampering_is_caught(Backend::Postgres, Tampering::Recompute).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_database_refuses_to_rewrite_the_log_on_sqlite() {
    the_database_refuses_to_rewrite_the_log(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_edited_record_is_named_with_its_position_on_postgres() {
    tampering_is_caught(Backend::Postgres, Tampering::Edit).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deleted_record_is_reported_at_its_position_on_postgres() {
    tampering_is_caught(Backend::Postgres, Tampering::Delete).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_swapped_records_are_caught_at_the_first_of_them_on_postgres() {
    tampering_is_caught(Backend::Postgres, Tampering::Swap).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_record_inserted_behind_the_engines_back_is_named_on_postgres() {
    tampering_is_caught(Backend::Postgres, Tampering::Insert).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_database_refuses_to_rewrite_the_log_on_postgres() {
    the_database_refuses_to_rewrite_the_log(Backend::Postgres).await;
}

/// Takes the database back to before seals: the migrations from seals on, undone.
async fn back_to_before_seals(backend: Backend, store: &Store) {
    let undo: &[&str] = match backend {
        Backend::Sqlite => &[
            "DROP TRIGGER audit_chain_no_update",
            "ALTER TABLE audit_chain DROP COLUMN seal",
            "CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain \
             BEGIN SELECT RAISE(ABORT, 'audit_chain is append-only'); END",
        ],
        Backend::Postgres => &[
            "DROP TRIGGER audit_chain_no_update ON audit_chain",
            "DROP FUNCTION audit_chain_seal_once()",
            "CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain \
             FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
            "ALTER TABLE audit_chain DROP COLUMN seal",
        ],
    };
    for statement in undo.iter().chain(&[
        "ALTER TABLE signing_keys DROP COLUMN withdrawn_at",
        "ALTER TABLE apps DROP COLUMN refresh_idle_secs",
        "DELETE FROM __diesel_schema_migrations WHERE version >= '20261207000020'",
    ]) {
        sql(store, statement).await;
    }
}

/// A log from before seals: the engine run that adds seals vouches for its links with each
/// chain's sealed legacy head; the same log stripped of its seals later is refused.
async fn links_from_before_seals_are_vouched_for_by_the_upgrade(backend: Backend) {
    // Arrange: a sealed log, taken back to before seals, the engine stopped.
    let Some(mut deployment) = Deployment::start(backend).await else {
        return;
    };
    deployment.h.login(&unique_phone()).await;
    Reader::of(&deployment.h).all(json!({})).await;
    deployment.h.server.stop().await;
    let h = &deployment.h;
    let store = open(&h.server);
    back_to_before_seals(backend, &store).await;
    let slug = h.app.app_slug.as_str();

    // Act: the upgrade (its migrations, as `serve` or `migrate` applies them), then the attack.
    let upgraded = h.server.run_cli(&["migrate"]).await;
    let after_upgrade = verify(&h.server, Some(slug)).await;
    backend.lift_chain_append_only(&store).await;
    sql(&store, "UPDATE audit_chain SET seal = NULL").await;
    let stripped = verify(&h.server, Some(slug)).await;

    // Assert
    assert!(
        upgraded.status.success(),
        "{}",
        crate::support::output_text(&upgraded)
    );
    after_upgrade.assert_intact();
    let line = stripped.broken_line();
    assert!(
        mentions_position(line, 1) && line.contains("stripped"),
        "{}",
        stripped.output
    );
    drop(store);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn links_from_before_seals_are_vouched_for_by_the_upgrade_on_sqlite() {
    links_from_before_seals_are_vouched_for_by_the_upgrade(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn links_from_before_seals_are_vouched_for_by_the_upgrade_on_postgres() {
    links_from_before_seals_are_vouched_for_by_the_upgrade(Backend::Postgres).await;
}
