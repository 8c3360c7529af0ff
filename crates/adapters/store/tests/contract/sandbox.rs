//! The sandbox: a sandboxed app's recipients are its owner and its test identifiers, at most the
//! number asked for however many additions race, and approval is recorded with the change.

use std::sync::Arc;

use auth_domain::{App, AuditKind, Email, Identifier};
use auth_ports::{AddTestIdentifier, AppStore as _, SandboxStore as _};
use auth_store::Store;
use tokio::sync::Barrier;

use crate::support::{
    app, contract, count_events, created_app, digest, event, login, new_app, phone, t0, unique,
};

/// An app owned by a developer who signed in to `portal` with `phone(1)`, in the sandbox.
async fn sandboxed_app(store: &Store) -> App {
    let portal = app(store).await;
    let (_, developer) = login(store, &portal.id, &phone(1), digest(1), t0()).await;
    let mut new = new_app(&format!("sandboxed-{}", unique()));
    new.app.owner = Some(developer.id);
    new.app.sandboxed = true;
    created_app(store, new).await
}

contract!(a_sandboxed_app_may_send_to_its_owner_and_its_test_identifiers_only);
async fn a_sandboxed_app_may_send_to_its_owner_and_its_test_identifiers_only(store: Store) {
    let app = sandboxed_app(&store).await;
    let tester = Identifier::Email(Email::parse("tester@example.com").unwrap());

    let before = store.may_receive(&app, &tester).await.unwrap();
    let added = store
        .add_test_identifier(
            &app.id,
            &tester,
            10,
            t0(),
            event(&app.id, AuditKind::TestIdentifierAdded, t0()),
        )
        .await
        .unwrap();

    assert!(
        store.may_receive(&app, &phone(1)).await.unwrap(),
        "the owner"
    );
    assert!(
        !store.may_receive(&app, &phone(2)).await.unwrap(),
        "a stranger"
    );
    assert!(!before);
    assert_eq!(added, AddTestIdentifier::Added);
    assert!(store.may_receive(&app, &tester).await.unwrap());
    assert_eq!(
        store.test_identifiers(&app.id).await.unwrap(),
        std::slice::from_ref(&tester)
    );
    let removed = store
        .remove_test_identifier(
            &app.id,
            &tester,
            event(&app.id, AuditKind::TestIdentifierRemoved, t0()),
        )
        .await
        .unwrap();
    let again = store
        .remove_test_identifier(
            &app.id,
            &tester,
            event(&app.id, AuditKind::TestIdentifierRemoved, t0()),
        )
        .await
        .unwrap();
    assert!(removed && !again);
    assert!(!store.may_receive(&app, &tester).await.unwrap());
    assert_eq!(
        count_events(&store, &app.id, "test_identifier_added").await,
        1
    );
    assert_eq!(
        count_events(&store, &app.id, "test_identifier_removed").await,
        1
    );
}

contract!(racing_additions_never_take_an_app_past_its_most);
async fn racing_additions_never_take_an_app_past_its_most(store: Store) {
    const RACERS: u16 = 16;
    let app = sandboxed_app(&store).await;
    let barrier = Arc::new(Barrier::new(usize::from(RACERS)));

    let racers: Vec<_> = (0..RACERS)
        .map(|n| {
            let (store, app, barrier) = (store.clone(), app.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                store
                    .add_test_identifier(
                        &app.id,
                        &phone(100 + n),
                        10,
                        t0(),
                        event(&app.id, AuditKind::TestIdentifierAdded, t0()),
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for racer in racers {
        outcomes.push(racer.await.unwrap());
    }

    let added = outcomes
        .iter()
        .filter(|o| **o == AddTestIdentifier::Added)
        .count();
    assert_eq!(added, 10, "{outcomes:?}");
    assert_eq!(store.test_identifiers(&app.id).await.unwrap().len(), 10);
    assert_eq!(
        count_events(&store, &app.id, "test_identifier_added").await,
        10
    );
}

contract!(approving_and_sandboxing_an_app_is_recorded_with_the_change);
async fn approving_and_sandboxing_an_app_is_recorded_with_the_change(store: Store) {
    let app = sandboxed_app(&store).await;

    let approved = store
        .set_sandboxed(&app.id, false, event(&app.id, AuditKind::AppApproved, t0()))
        .await
        .unwrap();
    let found = store.find_app(&app.id).await.unwrap().unwrap();
    store
        .set_sandboxed(&app.id, true, event(&app.id, AuditKind::AppSandboxed, t0()))
        .await
        .unwrap();

    assert!(approved);
    assert!(!found.sandboxed);
    assert!(store.find_app(&app.id).await.unwrap().unwrap().sandboxed);
    assert_eq!(count_events(&store, &app.id, "app_approved").await, 1);
    assert_eq!(count_events(&store, &app.id, "app_sandboxed").await, 1);
}
