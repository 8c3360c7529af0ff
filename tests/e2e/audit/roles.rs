//! Least privilege on PostgreSQL: the engine serves as a role that `auth-engine db grant-runtime`
//! gave only what serving needs, and that role cannot lift, bypass or empty the audit log's guards.
//! Skipped without `TEST_DATABASE_URL`.

use auth_store::test_support::execute_sql;
use auth_store::{DatabaseUrl, Store};
use serde_json::json;
use std::time::Duration;

use super::{Reader, verify};
use crate::support::database::{refused_sql, scratch_database, sql};
use crate::support::{Harness, TestServer, output_text, unique_phone};

/// `url` with `role` and `password` as its user.
fn as_role(url: &str, role: &str, password: &str) -> String {
    let mut url = reqwest::Url::parse(url).expect("a database URL");
    url.set_username(role).expect("a URL with a user");
    url.set_password(Some(password))
        .expect("a URL with a password");
    url.to_string()
}

fn connect(url: &str) -> Store {
    Store::connect(
        &DatabaseUrl::Postgres(url.to_owned()),
        1,
        Duration::from_secs(30),
    )
    .expect("connect")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_runtime_role_cannot_lift_the_audit_logs_guards_on_postgres() {
    // Arrange: a role the operator created, the schema migrated and granted by its owner.
    let Some(database) = scratch_database().await else {
        return;
    };
    let owner = connect(database.url());
    let role = format!("auth_runtime_{}", std::process::id());
    sql(&owner, &format!("DROP ROLE IF EXISTS {role}")).await;
    sql(
        &owner,
        &format!("CREATE ROLE {role} LOGIN PASSWORD 'runtime-pw'"),
    )
    .await;
    let runtime_url = as_role(database.url(), &role, "runtime-pw");
    let builder = || {
        TestServer::builder()
            .postgres(&runtime_url)
            .env("AUTH_MIGRATION_DATABASE_URL", database.url())
    };
    let within = Duration::from_secs(120);
    let migrated = builder().run_to_exit(&["migrate"], within).await;
    assert!(migrated.status.success(), "{}", output_text(&migrated));
    let granted = builder()
        .run_to_exit(&["db", "grant-runtime", "--role", &role], within)
        .await;
    let said = output_text(&granted);
    assert!(granted.status.success(), "{said}");
    assert!(said.contains("audit_events: SELECT, INSERT"), "{said}");

    // The engine serves as that role: codes, logins, sealing, verifying.
    let mut h = Harness::start_with(builder()).await;
    h.login(&unique_phone()).await.assert_ok();
    let events = Reader::of(&h).all(json!({})).await;
    assert!(events.len() >= 3, "{events:?}");
    let store = connect(&runtime_url);

    // Act: the attack, as the role the engine runs with.
    let attempts = [
        "ALTER TABLE audit_events DISABLE TRIGGER USER",
        "ALTER TABLE audit_chain DISABLE TRIGGER USER",
        "DROP TRIGGER audit_events_no_update ON audit_events",
        "UPDATE audit_events SET details = '{\"tampered\":true}'",
        "DELETE FROM audit_events",
        "UPDATE audit_chain SET seal = NULL",
        "DELETE FROM audit_chain",
        "DELETE FROM audit_checkpoints",
        "TRUNCATE audit_events CASCADE",
        "TRUNCATE audit_chain",
        "TRUNCATE audit_checkpoints",
        "ALTER TABLE audit_events OWNER TO CURRENT_USER",
        "CREATE TABLE intruder (a int)",
    ];
    let mut refusals = Vec::new();
    for attempt in attempts {
        refusals.push((attempt, refused_sql(&store, attempt).await));
    }
    let verdict = verify(&h.server, Some(&h.app.app_slug)).await;

    // Assert
    for (attempt, refusal) in &refusals {
        assert!(
            refusal.contains("permission denied") || refusal.contains("must be owner"),
            "`{attempt}` was refused for another reason: {refusal}"
        );
    }
    assert_eq!(
        execute_sql(&store, "SELECT 1 FROM audit_events")
            .await
            .map(|_| ()),
        Ok(()),
        "the runtime role reads the log"
    );
    verdict.assert_intact();
    h.server.stop().await;
    drop(store);
    drop(h);
    drop(database);
    sql(
        &owner_of_cluster().await,
        &format!("DROP ROLE IF EXISTS {role}"),
    )
    .await;
}

/// A connection to the database `TEST_DATABASE_URL` names, which outlives the scratch database.
async fn owner_of_cluster() -> Store {
    let url = auth_store::test_support::postgres_admin_url().expect("TEST_DATABASE_URL");
    connect(&url)
}
