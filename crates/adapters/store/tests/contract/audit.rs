//! The audit log is append-only, enforced by the database itself; and the store answers a ping.

use auth_domain::AuditKind;
use auth_ports::{AuditLog as _, StoreHealth as _};
use auth_store::Store;
use auth_store::test_support::{audit_events, execute_sql};

use crate::support::{app, contract, event, t0};

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
