//! The embedded store: one serving engine per SQLite file, and operator commands that share the
//! file with it, waiting their turn rather than failing.

use std::time::Duration;

use serde_json::json;

use crate::support::{Harness, fire_at_once, output_text, unique_phone, unique_slug};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_second_engine_on_one_sqlite_file_is_refused_naming_the_file_and_the_first_pid() {
    // Arrange: an engine serving the default SQLite file.
    let h = Harness::start().await;

    // Act: another `serve` in the same directory, on the same file.
    let second = tokio::time::timeout(Duration::from_secs(30), h.server.run_cli(&["serve"]))
        .await
        .expect("the second engine neither served nor exited");

    // Assert
    let text = output_text(&second);
    assert!(!second.status.success(), "a second engine started:\n{text}");
    assert!(
        text.contains("auth-engine.db"),
        "the file is not named:\n{text}"
    );
    assert!(
        text.contains(&format!("pid {}", h.server.pid())),
        "the serving engine's pid is not named:\n{text}"
    );
    h.login(&unique_phone()).await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operator_commands_share_a_busy_engines_file_without_database_is_locked() {
    // Arrange: an engine under sign-in load.
    let h = Harness::start_with(
        crate::support::TestServer::builder().env("AUTH_OTP_SENDS_PER_IP_PER_HOUR", "100000"),
    )
    .await;
    let load = async {
        for _ in 0..6 {
            let posts = (0..8)
                .map(|_| {
                    let body = h.app.body(json!({ "phone": unique_phone() }));
                    h.server.prepare_post("/auth/send-otp", body)
                })
                .collect();
            for reply in fire_at_once(posts).await {
                reply.assert_ok();
            }
        }
    };

    // Act: operator commands that write, at the same time.
    let commands = async {
        let mut outputs = Vec::new();
        for _ in 0..4 {
            let slug = unique_slug("busy");
            outputs.push(
                h.server
                    .run_cli(&["apps", "create", "--name", "Busy", "--slug", &slug])
                    .await,
            );
        }
        outputs
    };
    let ((), outputs) = tokio::join!(load, commands);

    // Assert
    for output in outputs {
        assert!(output.status.success(), "{}", output_text(&output));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_file_that_cannot_be_opened_is_named_with_the_cause() {
    // Arrange: the configured database "file" is a directory.
    let dir = std::env::temp_dir().join(format!("auth-engine-not-a-file-{}", std::process::id()));
    let database = dir.join("auth.db");
    std::fs::create_dir_all(&database).expect("a directory where the file should be");
    let builder = crate::support::TestServer::builder().env(
        "AUTH_DATABASE_URL",
        format!("sqlite://{}", database.display()),
    );

    // Act
    let output = builder
        .run_to_exit(&["migrate"], Duration::from_secs(30))
        .await;

    // Assert
    let text = output_text(&output);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains(&database.display().to_string()), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
