//! The master key: an engine started with another key than its data's refuses to start, a new
//! key is one command away, and rotating to it keeps every session, key and licence.

use std::time::Duration;

use base64::Engine as _;

use auth_crypto::MasterKey;
use auth_store::{DatabaseUrl, Store};

use crate::support::database::{scratch_database, sql};
use crate::support::{
    Harness, MASTER_KEY, TestServer, TestServerBuilder, login, me, on_both_backends, output_text,
    refresh, unique_phone,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_engine_started_with_another_master_key_refuses_to_start() {
    // Arrange: an engine that has signed someone in, then stopped.
    let mut h = Harness::start().await;
    h.login(&unique_phone()).await.assert_ok();
    h.server.stop().await;
    let other_key = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);

    // Act: the same data, another key; then an operator command with it.
    let serve = tokio::time::timeout(
        Duration::from_secs(30),
        h.server
            .run_cli_with(&[("AUTH_MASTER_KEY", &other_key)], &["serve"]),
    )
    .await
    .expect("the engine neither refused nor exited");
    let command = h
        .server
        .run_cli_with(&[("AUTH_MASTER_KEY", &other_key)], &["audit", "verify"])
        .await;

    // Assert
    for output in [&serve, &command] {
        let text = output_text(output);
        assert!(!output.status.success(), "it ran with another key:\n{text}");
        assert!(text.contains("AUTH_MASTER_KEY"), "{text}");
    }
    let restarted = h.server.start_sibling().await;
    restarted.get("/readyz").await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn master_key_generate_prints_a_fresh_key_even_where_the_configuration_is_refused() {
    // Arrange: a production setup that refuses to start (a weak key among other things).
    let builder = || {
        TestServer::builder().env("AUTH_ENV", "production").env(
            "AUTH_MASTER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
    };

    // Act
    let first = builder()
        .run_to_exit(&["master-key", "generate"], Duration::from_secs(30))
        .await;
    let second = builder()
        .run_to_exit(&["master-key", "generate"], Duration::from_secs(30))
        .await;

    // Assert: one line, base64 of 32 bytes, new every time.
    let key = |output: &std::process::Output| {
        assert!(output.status.success(), "{}", output_text(output));
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        assert_eq!(text.lines().count(), 1, "{text}");
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .expect("base64");
        assert_eq!(bytes.len(), 32);
        text
    };
    assert_ne!(key(&first), key(&second));
}

on_both_backends!(master_key_rotate_moves_the_data_under_the_new_key);
async fn master_key_rotate_moves_the_data_under_the_new_key(builder: TestServerBuilder) {
    // Arrange: a signed-in person, on an engine that keeps serving during the rotation.
    let mut h = Harness::start_with(builder).await;
    let signed_in = h.login(&unique_phone()).await;
    signed_in.assert_ok();
    let new_key = MasterKey::generate_base64();
    let to_new = [("AUTH_NEW_MASTER_KEY", new_key.as_str())];

    // Act
    let rotated = h
        .server
        .run_cli_with(&to_new, &["master-key", "rotate"])
        .await;
    let repeated = h
        .server
        .run_cli_with(&to_new, &["master-key", "rotate"])
        .await;
    let during = h.refresh(&signed_in.str("refresh_token")).await;
    h.server.stop().await;
    let with_old = tokio::time::timeout(
        Duration::from_secs(30),
        h.server.run_cli_with(&[], &["serve"]),
    )
    .await
    .expect("the engine neither refused nor exited");
    let restarted = h
        .server
        .start_sibling_with(&[("AUTH_MASTER_KEY", &new_key)])
        .await;

    // Assert: only the new key opens the data, and everything made before still works under it:
    // the refresh token's keyed hash, the sealed signing key, a new login.
    assert!(rotated.status.success(), "{}", output_text(&rotated));
    assert!(
        output_text(&rotated).contains("rotated"),
        "{}",
        output_text(&rotated)
    );
    assert!(repeated.status.success(), "{}", output_text(&repeated));
    assert!(
        output_text(&repeated).contains("already"),
        "{}",
        output_text(&repeated)
    );
    during.assert_ok();
    let refused = output_text(&with_old);
    assert!(
        !with_old.status.success(),
        "it started with the old key:\n{refused}"
    );
    assert!(refused.contains("AUTH_MASTER_KEY"), "{refused}");
    refresh(&restarted, &h.app, &during.str("refresh_token"))
        .await
        .assert_ok();
    me(&restarted, &signed_in.str("access_token"))
        .await
        .assert_ok();
    login(&restarted, &h.app, &h.sink, &unique_phone())
        .await
        .assert_ok();
}

on_both_backends!(master_key_rotate_refuses_without_a_new_key_or_with_the_same_one);
async fn master_key_rotate_refuses_without_a_new_key_or_with_the_same_one(
    builder: TestServerBuilder,
) {
    // Arrange
    let h = Harness::start_with(builder).await;
    let current = h
        .server
        .configured("AUTH_MASTER_KEY")
        .expect("a key")
        .to_owned();

    // Act
    let without = h.server.run_cli_with(&[], &["master-key", "rotate"]).await;
    let same = h
        .server
        .run_cli_with(
            &[("AUTH_NEW_MASTER_KEY", &current)],
            &["master-key", "rotate"],
        )
        .await;
    let malformed = h
        .server
        .run_cli_with(
            &[("AUTH_NEW_MASTER_KEY", "c2hvcnQ=")],
            &["master-key", "rotate"],
        )
        .await;

    // Assert: each refused, naming the variable, and the engine still serves with its key.
    for output in [&without, &same, &malformed] {
        let text = output_text(output);
        assert!(!output.status.success(), "it rotated:\n{text}");
        assert!(text.contains("AUTH_NEW_MASTER_KEY"), "{text}");
    }
    h.login(&unique_phone()).await.assert_ok();
    let verified = h.server.run_cli(&["audit", "verify"]).await;
    assert!(verified.status.success(), "{}", output_text(&verified));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn data_written_before_data_keys_is_adopted_only_under_its_own_master_key() {
    // Arrange: data as an engine from before data keys (and check values) left it, written under
    // the master key itself: seeded so, signed into, then the kept data key and check removed.
    let Some(database) = scratch_database().await else {
        return;
    };
    let builder = || TestServer::builder().postgres(database.url());
    let migrated = builder()
        .run_to_exit(&["migrate"], Duration::from_secs(60))
        .await;
    assert!(migrated.status.success(), "{}", output_text(&migrated));
    let master = MasterKey::from_base64(MASTER_KEY).expect("the kit's key");
    let store = Store::connect(
        &DatabaseUrl::Postgres(database.url().to_owned()),
        1,
        Duration::from_secs(30),
    )
    .expect("connect");
    let wrapped: String = master
        .wrap(&master)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    sql(
        &store,
        &format!("INSERT INTO engine_settings (name, value) VALUES ('data_key', '\\x{wrapped}')"),
    )
    .await;
    let mut h = Harness::start_with(builder()).await;
    let signed_in = h.login(&unique_phone()).await;
    signed_in.assert_ok();
    h.server.stop().await;
    // As a database from before the check value, too, left it.
    sql(&store, "DELETE FROM engine_settings").await;
    let other_key = MasterKey::generate_base64();

    // Act: first another key (which must not be kept), then the data's own.
    let with_other = h
        .server
        .run_cli_with(&[("AUTH_MASTER_KEY", &other_key)], &["audit", "verify"])
        .await;
    let restarted = h.server.start_sibling().await;

    // Assert
    assert!(!with_other.status.success(), "{}", output_text(&with_other));
    refresh(&restarted, &h.app, &signed_in.str("refresh_token"))
        .await
        .assert_ok();
}
