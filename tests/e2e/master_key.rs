//! The master key: an engine started with another key than its data's refuses to start, and a new
//! key is one command away.

use std::time::Duration;

use base64::Engine as _;

use crate::support::{Harness, TestServer, output_text, unique_phone};

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
