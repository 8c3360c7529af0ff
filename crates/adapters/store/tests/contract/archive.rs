//! Archiving: a checkpoint replaces the oldest records and links of a chain, atomically, and only
//! records a checkpoint covers can ever leave the log.

use auth_domain::AuditKind;
use auth_domain::chain::Checkpoint;
use auth_ports::AuditChain as _;
use auth_ports::AuditLog as _;
use auth_store::Store;
use auth_store::test_support::{audit_events, execute_sql};
use time::Duration;

use crate::support::{app, contract, event, seal_waiting, t0};

/// An app whose chain holds `app_created` and `extra` `login`s, all sealed (with stand-in links
/// `[position; 32]`); returns the chain.
async fn sealed_chain(store: &Store, extra: i64) -> String {
    let app = app(store).await;
    for second in 0..extra {
        store
            .append(event(
                &app.id,
                AuditKind::Login,
                t0() + Duration::seconds(second),
            ))
            .await
            .unwrap();
    }
    let chain = app.id.as_str().to_owned();
    seal_waiting(store, &chain).await;
    chain
}

fn checkpoint(chain: &str, from_position: i64, position: i64) -> Checkpoint {
    Checkpoint {
        chain: chain.to_owned(),
        from_position,
        position,
        link: [u8::try_from(position).unwrap(); 32],
        token: format!("token-{position}"),
    }
}

fn archived_event(chain: &str) -> auth_domain::AuditEvent {
    let app_id = auth_domain::ids::AppId::from_trusted(chain.to_owned());
    event(&app_id, AuditKind::AuditArchived, t0() + Duration::hours(1))
}

/// The position the chain's newest checkpoint ends at.
async fn newest_checkpoint(store: &Store, chain: &str) -> Option<i64> {
    store
        .latest_checkpoint(chain)
        .await
        .unwrap()
        .map(|c| c.position)
}

async fn held_positions(store: &Store, chain: &str) -> Vec<i64> {
    store
        .links(chain, 1, 100)
        .await
        .unwrap()
        .iter()
        .map(|(link, record)| {
            assert!(
                record.is_some(),
                "position {} lost its record",
                link.position
            );
            link.position
        })
        .collect()
}

contract!(archiving_drops_exactly_the_covered_records_and_links_and_keeps_the_checkpoint);
async fn archiving_drops_exactly_the_covered_records_and_links_and_keeps_the_checkpoint(
    store: Store,
) {
    let chain = sealed_chain(&store, 3).await;

    let archived = store
        .archive(checkpoint(&chain, 1, 2), archived_event(&chain))
        .await
        .unwrap();

    assert!(archived);
    assert_eq!(held_positions(&store, &chain).await, [3, 4]);
    assert_eq!(
        audit_events(&store, &chain).await,
        ["login", "login", "audit_archived"],
        "app_created and the first login are gone; the archive is recorded"
    );
    assert_eq!(
        store.latest_checkpoint(&chain).await.unwrap(),
        Some(checkpoint(&chain, 1, 2))
    );
    let waiting = store.pending(&chain, 10).await.unwrap();
    assert_eq!(
        waiting.iter().map(|r| r.event.as_str()).collect::<Vec<_>>(),
        ["audit_archived"]
    );
    assert!(store.chains().await.unwrap().contains(&chain));
}

contract!(an_archive_that_does_not_follow_the_newest_checkpoint_writes_nothing);
async fn an_archive_that_does_not_follow_the_newest_checkpoint_writes_nothing(store: Store) {
    let chain = sealed_chain(&store, 3).await;
    let before = audit_events(&store, &chain).await;

    let skipping_ahead = store
        .archive(checkpoint(&chain, 2, 3), archived_event(&chain))
        .await
        .unwrap();
    let first = store
        .archive(checkpoint(&chain, 1, 2), archived_event(&chain))
        .await
        .unwrap();
    let again = store
        .archive(checkpoint(&chain, 1, 3), archived_event(&chain))
        .await
        .unwrap();

    assert!(!skipping_ahead, "positions 1 is not archived yet");
    assert!(first);
    assert!(!again, "positions 1–2 were archived already");
    assert_eq!(held_positions(&store, &chain).await, [3, 4]);
    assert_eq!(
        audit_events(&store, &chain).await.len(),
        before.len() - 2 + 1
    );
    assert_eq!(newest_checkpoint(&store, &chain).await, Some(2));
}

contract!(an_archive_past_the_sealed_end_of_the_chain_writes_nothing);
async fn an_archive_past_the_sealed_end_of_the_chain_writes_nothing(store: Store) {
    let chain = sealed_chain(&store, 1).await;

    let refused = store
        .archive(checkpoint(&chain, 1, 5), archived_event(&chain))
        .await;

    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(held_positions(&store, &chain).await, [1, 2]);
    assert_eq!(store.latest_checkpoint(&chain).await.unwrap(), None);
}

contract!(only_records_and_links_a_checkpoint_covers_can_leave_the_log);
async fn only_records_and_links_a_checkpoint_covers_can_leave_the_log(store: Store) {
    let chain = sealed_chain(&store, 3).await;
    assert!(
        store
            .archive(checkpoint(&chain, 1, 2), archived_event(&chain))
            .await
            .unwrap()
    );
    let before = audit_events(&store, &chain).await;

    let records = execute_sql(&store, "DELETE FROM audit_events").await;
    let links = execute_sql(&store, "DELETE FROM audit_chain").await;
    let edited = execute_sql(&store, "UPDATE audit_checkpoints SET position = 4").await;
    let removed = execute_sql(&store, "DELETE FROM audit_checkpoints").await;

    assert!(records.is_err(), "{records:?}");
    assert!(links.is_err(), "{links:?}");
    assert!(edited.is_err(), "{edited:?}");
    assert!(removed.is_err(), "{removed:?}");
    assert_eq!(audit_events(&store, &chain).await, before);
    assert_eq!(held_positions(&store, &chain).await, [3, 4]);
    assert_eq!(newest_checkpoint(&store, &chain).await, Some(2));
}

contract!(of_two_archives_racing_from_the_same_place_exactly_one_commits);
async fn of_two_archives_racing_from_the_same_place_exactly_one_commits(store: Store) {
    let chain = sealed_chain(&store, 6).await;

    let (short, long) = tokio::join!(
        store.archive(checkpoint(&chain, 1, 3), archived_event(&chain)),
        store.archive(checkpoint(&chain, 1, 5), archived_event(&chain)),
    );

    let (short, long) = (short.unwrap(), long.unwrap());
    assert!(short != long, "exactly one wins: {short} {long}");
    let through = if short { 3 } else { 5 };
    assert_eq!(
        held_positions(&store, &chain).await,
        ((through + 1)..=7).collect::<Vec<_>>()
    );
    assert_eq!(newest_checkpoint(&store, &chain).await, Some(through));
}
