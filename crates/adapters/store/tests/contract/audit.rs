//! The audit log is append-only, enforced by the database itself; and the store answers a ping.

use auth_domain::AuditKind;
use auth_domain::chain::ChainLink;
use auth_ports::{AuditChain as _, AuditLog as _, EventFilter, StoreHealth as _};
use auth_store::Store;
use auth_store::test_support::{audit_events, execute_sql};

use crate::support::{app, contract, event, seal_waiting, t0};

contract!(audit_records_cannot_be_changed_or_removed);
async fn audit_records_cannot_be_changed_or_removed(store: Store) {
    let app = app(&store).await;
    store
        .append(event(&app.id, AuditKind::AppAuthFailed, t0()))
        .await
        .unwrap();
    let before = audit_events(&store, app.id.as_str()).await;
    assert_eq!(before, ["app_created", "app_auth_failed"]);

    let update = execute_sql(&store, "UPDATE audit_events SET event = 'x'").await;
    let delete = execute_sql(&store, "DELETE FROM audit_events").await;

    assert!(update.is_err(), "an UPDATE must be refused: {update:?}");
    assert!(delete.is_err(), "a DELETE must be refused: {delete:?}");
    assert_eq!(audit_events(&store, app.id.as_str()).await, before);
}

contract!(a_reachable_store_answers_a_ping);
async fn a_reachable_store_answers_a_ping(store: Store) {
    assert_eq!(store.ping().await, Ok(()));
}

contract!(every_record_waits_to_be_sealed_and_each_position_is_taken_once);
async fn every_record_waits_to_be_sealed_and_each_position_is_taken_once(store: Store) {
    let app = app(&store).await;
    store
        .append(event(&app.id, AuditKind::AppAuthFailed, t0()))
        .await
        .unwrap();
    let chain = app.id.as_str();

    let pending = store.pending(chain, 10).await.unwrap();
    let links: Vec<ChainLink> = pending
        .iter()
        .zip(1..)
        .map(|(record, position)| ChainLink {
            position,
            event_seq: record.seq,
            link: [7; 32],
            seal: Some([9; 32]),
        })
        .collect();
    assert_eq!(store.waiting(chain).await.unwrap(), 2);
    let first = store.append_links(chain, links.clone()).await.unwrap();
    let again = store.append_links(chain, links.clone()).await.unwrap();

    assert_eq!(
        pending.iter().map(|r| r.event.as_str()).collect::<Vec<_>>(),
        ["app_created", "app_auth_failed"]
    );
    assert!(first, "the first sealer takes positions 1 and 2");
    assert!(
        !again,
        "a second sealer with the same positions must lose, writing nothing"
    );
    assert!(store.pending(chain, 10).await.unwrap().is_empty());
    assert_eq!(store.waiting(chain).await.unwrap(), 0);
    assert_eq!(
        store.chain_head(chain).await.unwrap(),
        links.last().cloned()
    );
    let read: Vec<ChainLink> = store
        .links(chain, 1, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(link, _)| link)
        .collect();
    assert_eq!(read, links, "links come back with their seals");
    assert!(
        store
            .pending_chains(10)
            .await
            .unwrap()
            .iter()
            .all(|c| c != chain)
    );
    let listed = store
        .sealed_events(chain, 0, &EventFilter::default(), 10)
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|(p, _)| *p).collect::<Vec<_>>(), [1, 2]);
    let sealed_links = execute_sql(&store, "UPDATE audit_chain SET position = position + 10").await;
    assert!(
        sealed_links.is_err(),
        "links are append-only too: {sealed_links:?}"
    );
}

contract!(a_link_lacking_its_seal_can_be_given_one_and_nothing_else_changes);
async fn a_link_lacking_its_seal_can_be_given_one_and_nothing_else_changes(store: Store) {
    let app = app(&store).await;
    let chain = app.id.as_str();
    let pending = store.pending(chain, 10).await.unwrap();
    let unsealed = ChainLink {
        position: 1,
        event_seq: pending[0].seq,
        link: [7; 32],
        seal: None,
    };
    assert!(
        store
            .append_links(chain, vec![unsealed.clone()])
            .await
            .unwrap()
    );

    let given = store.give_seals(chain, vec![(1, [5; 32])]).await.unwrap();
    let again = store.give_seals(chain, vec![(1, [6; 32])]).await.unwrap();

    assert_eq!((given, again), (1, 0), "a seal is given once");
    assert_eq!(
        store
            .chain_head(chain)
            .await
            .unwrap()
            .and_then(|head| head.seal),
        Some([5; 32])
    );
    for statement in [
        "UPDATE audit_chain SET seal = NULL",
        "UPDATE audit_chain SET link = seal",
    ] {
        let refused = execute_sql(&store, statement).await;
        assert!(refused.is_err(), "{statement}: {refused:?}");
    }
}

contract!(a_record_written_behind_the_engines_back_is_outside_the_chain);
async fn a_record_written_behind_the_engines_back_is_outside_the_chain(store: Store) {
    let app = app(&store).await;
    let forged = format!(
        "INSERT INTO audit_events (id, app_id, event, outcome, details, occurred_at) \
         VALUES ('evt_forged', '{}', 'login', 'success', '{{}}', 1)",
        app.id
    );

    execute_sql(&store, &forged).await.unwrap();

    let outside = store.outside_chain(app.id.as_str(), 10).await.unwrap();
    assert_eq!(
        outside.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["evt_forged"]
    );
    assert_eq!(
        store.pending(app.id.as_str(), 10).await.unwrap().len(),
        1,
        "only app_created waits"
    );
}

contract!(reading_links_steps_over_a_gap_to_the_next_positions);
async fn reading_links_steps_over_a_gap_to_the_next_positions(store: Store) {
    let app = app(&store).await;
    for _ in 0..4 {
        store
            .append(event(&app.id, AuditKind::Login, t0()))
            .await
            .unwrap();
    }
    let chain = app.id.as_str();
    seal_waiting(&store, chain).await;
    // The owner lifts the guard (each backend's statement fails harmlessly on the other) and
    // removes position 2.
    let _ = execute_sql(&store, "DROP TRIGGER audit_chain_no_delete").await;
    let _ = execute_sql(&store, "ALTER TABLE audit_chain DISABLE TRIGGER USER").await;
    execute_sql(&store, "DELETE FROM audit_chain WHERE position = 2")
        .await
        .unwrap();

    let positions = |links: Vec<(ChainLink, Option<auth_domain::chain::StoredEvent>)>| {
        links.iter().map(|(l, _)| l.position).collect::<Vec<_>>()
    };
    assert_eq!(positions(store.links(chain, 1, 2).await.unwrap()), [1, 3]);
    assert_eq!(positions(store.links(chain, 2, 2).await.unwrap()), [3, 4]);
    assert_eq!(positions(store.links(chain, 4, 10).await.unwrap()), [4, 5]);
    assert!(store.links(chain, 6, 10).await.unwrap().is_empty());
}
