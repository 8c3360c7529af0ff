//! What an operator bounds: every app's daily caps under the ceilings, the engine's email total, and
//! app names fit to stand in a text message; the command line refuses what the portal refuses.

use serde_json::json;

use crate::support::{
    Harness, TestServerBuilder, on_both_backends, output_text, send_otp, unique_email,
    unique_phone, unique_slug,
};

on_both_backends!(the_cli_refuses_caps_above_the_ceilings_and_saves_nothing);
async fn the_cli_refuses_caps_above_the_ceilings_and_saves_nothing(builder: TestServerBuilder) {
    // Arrange: a ceiling of three SMS a day per app.
    let h = Harness::start_with(builder.env("AUTH_APP_SMS_PER_DAY_MAX", "3")).await;
    let slug = h.app.app_slug.as_str();

    // Act
    let refused = h
        .server
        .run_cli(&[
            "apps",
            "configure",
            "--slug",
            slug,
            "--sms-per-day",
            "4294967295",
            "--sms-countries",
            "44",
        ])
        .await;
    let mut replies = Vec::new();
    for _ in 0..4 {
        replies.push(h.send_otp_to_phone(&unique_phone()).await);
    }

    // Assert: refused naming the flag; the countries were not saved either (the Indian test numbers
    // still go out), and the app's cap is the ceiling.
    assert!(!refused.status.success(), "{}", output_text(&refused));
    assert!(
        output_text(&refused).contains("--sms-per-day"),
        "{}",
        output_text(&refused)
    );
    for reply in &replies[..3] {
        reply.assert_ok();
    }
    replies[3].assert_error(429, "rate_limited");
    let within = h
        .server
        .run_cli(&["apps", "configure", "--slug", slug, "--sms-per-day", "2"])
        .await;
    assert!(within.status.success(), "{}", output_text(&within));
}

on_both_backends!(the_engine_wide_email_cap_holds_across_apps);
async fn the_engine_wide_email_cap_holds_across_apps(builder: TestServerBuilder) {
    // Arrange
    let h = Harness::start_with(builder.env("AUTH_EMAIL_PER_DAY", "2")).await;
    let other = h
        .server
        .create_app("Other App", &unique_slug("other"))
        .await;

    // Act
    let first = h.send_otp(json!({ "email": unique_email() })).await;
    let second = send_otp(&h.server, &other, json!({ "email": unique_email() })).await;
    let third = send_otp(&h.server, &other, json!({ "email": unique_email() })).await;

    // Assert
    first.assert_ok();
    second.assert_ok();
    third.assert_error(429, "rate_limited");
    assert_eq!(h.sink.deliveries().len(), 2);
}

on_both_backends!(the_cli_refuses_app_names_that_would_disguise_a_message);
async fn the_cli_refuses_app_names_that_would_disguise_a_message(builder: TestServerBuilder) {
    // Arrange
    let h = Harness::start_with(builder).await;
    let long = "x".repeat(61);

    // Act / Assert
    for name in [
        "ACME Bank: account locked\u{202E}0010 555 008 1+",
        "ACME\u{2066}Bank",
        "ACME\u{FEFF}Bank",
        long.as_str(),
    ] {
        let output = h
            .server
            .run_cli(&[
                "apps",
                "create",
                "--name",
                name,
                "--slug",
                &unique_slug("named"),
            ])
            .await;
        assert!(!output.status.success(), "{name:?} was accepted");
        assert!(
            output_text(&output).contains("--name"),
            "{}",
            output_text(&output)
        );
    }
    let fine = h
        .server
        .run_cli(&[
            "apps",
            "create",
            "--name",
            &"x".repeat(60),
            "--slug",
            &unique_slug("named"),
        ])
        .await;
    assert!(fine.status.success(), "{}", output_text(&fine));
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sqlite_database_and_its_directory_are_private() {
    use std::os::unix::fs::PermissionsExt as _;

    // Arrange / Act: a server on the default SQLite file, which has written to it.
    let h = Harness::start().await;
    h.login(&unique_phone()).await;
    let data = h.server.dir().join("data");

    // Assert
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&data), 0o700);
    for name in ["auth-engine.db", "auth-engine.db-wal", "auth-engine.db-shm"] {
        let path = data.join(name);
        assert_eq!(mode(&path), 0o600, "{name}");
    }
}
