//! Secrets never reach the server's output, even at debug level.

use crate::support::{Harness, TestServer, unique_phone};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logs_never_contain_codes_secrets_or_tokens() {
    // Arrange: the webhook notifier, so that no console notifier prints codes by design.
    let mut h = Harness::start_with(TestServer::builder().env("RUST_LOG", "debug")).await;
    let phone = unique_phone();

    // Act: a whole session, from code to logout.
    let (otp_request_id, code) = h.request_code(&phone).await;
    let tokens = h.verify_otp(&otp_request_id, &code).await;
    tokens.assert_ok();
    let rotated = h.refresh(&tokens.str("refresh_token")).await;
    rotated.assert_ok();
    h.me(&rotated.str("access_token")).await.assert_ok();
    h.logout(&rotated.str("refresh_token"), false)
        .await
        .assert_ok();
    h.server.stop().await;

    // Assert
    let logs = h.server.logs();
    assert!(
        logs.contains("listening on"),
        "the captured output is incomplete:\n{logs}"
    );
    let secrets = [
        ("the app secret", h.app.app_secret.clone()),
        ("the first refresh token", tokens.str("refresh_token")),
        ("the rotated refresh token", rotated.str("refresh_token")),
        ("the first access token", tokens.str("access_token")),
        ("the rotated access token", rotated.str("access_token")),
        (
            "a token signature",
            signature_of(&tokens.str("access_token")),
        ),
    ];
    for (what, secret) in secrets {
        let leak = logs.lines().find(|line| line.contains(secret.as_str()));
        assert!(
            leak.is_none(),
            "{what} appears in the server output: {leak:?}"
        );
    }
    let leak = logs.lines().find(|line| mentions_code(line, &code));
    assert!(
        leak.is_none(),
        "the OTP code {code} appears in the server output: {leak:?}"
    );
}

fn signature_of(jwt: &str) -> String {
    jwt.rsplit('.').next().unwrap_or_default().to_owned()
}

/// Whether `code` stands on its own in `line`: not part of a longer number, and not the fraction
/// digits of a timestamp (`12:00:00.123456`), which would match a 6-digit code by chance.
fn mentions_code(line: &str, code: &str) -> bool {
    line.match_indices(code).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + code.len()..].chars().next();
        let glued_before = before.is_some_and(|c| c.is_ascii_digit() || c == '.');
        let glued_after = after.is_some_and(|c| c.is_ascii_digit());
        !glued_before && !glued_after
    })
}
