//! Sessions after login: refresh rotation and reuse detection, /auth/me, logout, app isolation and
//! surviving a restart.

use std::collections::BTreeSet;

use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::support::jwt::{fetch_jwks, verified_claims, verifies_with_any_key};
use crate::support::{Harness, TestServer, fire_at_once, me, refresh, unique_phone, unique_slug};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_rotates_and_a_retry_inside_the_grace_window_gets_the_same_token() {
    // Arrange
    let h = Harness::start().await;
    let login = h.login(&unique_phone()).await;
    let original = login.str("refresh_token");

    // Act
    let rotated = h.refresh(&original).await;
    let retried = h.refresh(&original).await;

    // Assert
    rotated.assert_ok();
    let new_token = rotated.str("refresh_token");
    assert_ne!(new_token, original, "refresh did not rotate the token");
    assert_eq!(rotated.str("session_id"), login.str("session_id"));
    assert_eq!(rotated.str("token_type"), "Bearer");
    assert_eq!(rotated.int("expires_in"), 900);
    assert!(
        rotated.body.get("is_new_user").is_none(),
        "refresh answered is_new_user: {}",
        rotated.text
    );
    let claims = verified_claims(&h.server, &h.app, &rotated.str("access_token")).await;
    assert_eq!(claims["sid"], login.str("session_id").as_str());
    retried.assert_ok();
    assert_eq!(
        retried.str("refresh_token"),
        new_token,
        "a retry inside the grace window rotated again"
    );
    assert_ne!(
        retried.str("access_token"),
        rotated.str("access_token"),
        "no fresh access token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_refreshes_of_one_token_all_get_the_same_new_token() {
    // Arrange
    let h = Harness::start().await;
    let original = h.login(&unique_phone()).await.str("refresh_token");
    let body = h.app.body(json!({ "refresh_token": original }));
    let posts = (0..10)
        .map(|_| h.server.prepare_post("/auth/refresh", body.clone()))
        .collect();

    // Act
    let replies = fire_at_once(posts).await;

    // Assert
    for reply in &replies {
        reply.assert_ok();
    }
    let new_tokens: BTreeSet<String> = replies
        .iter()
        .map(|reply| reply.str("refresh_token"))
        .collect();
    assert_eq!(
        new_tokens.len(),
        1,
        "the token was rotated more than once: {new_tokens:?}"
    );
    let new_token = new_tokens.into_iter().next().expect("one token");
    assert_ne!(new_token, original);
    h.refresh(&new_token).await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotated_token_presented_after_the_grace_window_revokes_the_session() {
    // Arrange
    let h =
        Harness::start_with(TestServer::builder().env("AUTH_REFRESH_REUSE_GRACE_SECS", "0")).await;
    let original = h.login(&unique_phone()).await.str("refresh_token");
    let rotated = h.refresh(&original).await;
    rotated.assert_ok();

    // Act
    let reused = h.refresh(&original).await;

    // Assert
    reused.assert_error(401, "refresh_token_reused");
    h.refresh(&rotated.str("refresh_token"))
        .await
        .assert_error(401, "session_revoked");
    h.me(&rotated.str("access_token"))
        .await
        .assert_error(401, "session_revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_garbage_refresh_token_is_invalid() {
    // Arrange
    let h = Harness::start().await;

    // Act
    let reply = h
        .refresh("not-a-refresh-token-0123456789abcdefghijklmnopqrstuvwxyz")
        .await;

    // Assert
    reply.assert_error(401, "refresh_token_invalid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn me_returns_the_user_the_session_and_the_app() {
    // Arrange
    let h = Harness::start().await;
    let phone = unique_phone();
    let login = h.login(&phone).await;
    let access_token = login.str("access_token");

    // Act
    let reply = h.me(&access_token).await;

    // Assert
    reply.assert_ok();
    assert_eq!(reply.body["user"]["id"], login.body["user"]["id"]);
    assert_eq!(reply.body["user"]["phone"], phone.as_str());
    assert_eq!(reply.str("session_id"), login.str("session_id"));
    assert_eq!(reply.str("app_slug"), h.app.app_slug);
    assert_eq!(reply.body["tenants"], json!({}));
    let expires_at = OffsetDateTime::parse(&reply.str("expires_at"), &Rfc3339)
        .unwrap_or_else(|error| panic!("expires_at is not RFC 3339 ({error}): {}", reply.text));
    let claims = verified_claims(&h.server, &h.app, &access_token).await;
    let issued_at = claims["iat"].as_i64().expect("an iat claim");
    assert!(
        expires_at.unix_timestamp() > issued_at,
        "expires_at {expires_at} is not after iat"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn me_without_a_token_is_token_missing() {
    // Arrange
    let h = Harness::start().await;

    // Act
    let reply = h.server.get("/auth/me").await;

    // Assert
    reply.assert_error(401, "token_missing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn me_with_a_garbage_or_tampered_token_is_token_invalid() {
    // Arrange
    let h = Harness::start().await;
    let access_token = h.login(&unique_phone()).await.str("access_token");
    let tampered = tamper_signature(&access_token);

    for (case, token) in [
        ("garbage", "not-a-jwt"),
        ("tampered signature", tampered.as_str()),
    ] {
        // Act
        let reply = h.me(token).await;

        // Assert
        assert_eq!(reply.error(), "token_invalid", "{case}: {}", reply.text);
        reply.assert_error(401, "token_invalid");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_revokes_the_session_and_is_idempotent() {
    // Arrange
    let h = Harness::start().await;
    let login = h.login(&unique_phone()).await;
    let refresh_token = login.str("refresh_token");

    // Act
    let first = h.logout(&refresh_token, false).await;
    let second = h.logout(&refresh_token, false).await;

    // Assert
    first.assert_ok();
    assert_eq!(first.int("revoked_sessions"), 1);
    second.assert_ok();
    assert_eq!(second.int("revoked_sessions"), 0);
    h.refresh(&refresh_token)
        .await
        .assert_error(401, "session_revoked");
    h.me(&login.str("access_token"))
        .await
        .assert_error(401, "session_revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn logout_of_all_sessions_revokes_every_session_of_that_user_only() {
    // Arrange
    let h =
        Harness::start_with(TestServer::builder().env("AUTH_OTP_RESEND_COOLDOWN_SECS", "0")).await;
    let phone = unique_phone();
    let on_laptop = h.login(&phone).await;
    let on_phone = h.login(&phone).await;
    let someone_else = h.login(&unique_phone()).await;

    // Act
    let reply = h.logout(&on_laptop.str("refresh_token"), true).await;

    // Assert
    reply.assert_ok();
    assert_eq!(reply.int("revoked_sessions"), 2);
    h.refresh(&on_phone.str("refresh_token"))
        .await
        .assert_error(401, "session_revoked");
    h.me(&on_phone.str("access_token"))
        .await
        .assert_error(401, "session_revoked");
    h.refresh(&someone_else.str("refresh_token"))
        .await
        .assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tokens_of_one_app_are_useless_for_another() {
    // Arrange
    let h = Harness::start().await;
    let other_app = h
        .server
        .create_app("Other App", &unique_slug("other"))
        .await;
    let login = h.login(&unique_phone()).await;
    let (refresh_token, access_token) = (login.str("refresh_token"), login.str("access_token"));

    // Act
    let cross_refresh = refresh(&h.server, &other_app, &refresh_token).await;
    let own_keys = fetch_jwks(&h.server, &h.app).await;
    let other_keys = fetch_jwks(&h.server, &other_app).await;
    let me_reply = h.me(&access_token).await;

    // Assert
    cross_refresh.assert_error(401, "refresh_token_invalid");
    assert!(
        verifies_with_any_key(&access_token, &own_keys, &h.app.app_slug),
        "control: own keys"
    );
    assert!(
        !verifies_with_any_key(&access_token, &other_keys, &h.app.app_slug),
        "app A's token verifies with app B's keys"
    );
    me_reply.assert_ok();
    assert_eq!(me_reply.str("app_slug"), h.app.app_slug);
    h.refresh(&refresh_token).await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refresh_tokens_survive_a_server_restart() {
    // Arrange
    let mut h = Harness::start().await;
    let login = h.login(&unique_phone()).await;
    h.server.stop().await;
    let restarted = h.server.start_sibling().await;

    // Act
    let rotated = refresh(&restarted, &h.app, &login.str("refresh_token")).await;

    // Assert
    rotated.assert_ok();
    me(&restarted, &rotated.str("access_token"))
        .await
        .assert_ok();
    me(&restarted, &login.str("access_token")).await.assert_ok();
}

/// The token with one character in the middle of its signature changed.
fn tamper_signature(jwt: &str) -> String {
    let signature_start = jwt.rfind('.').expect("a JWT") + 1;
    let mut chars: Vec<char> = jwt.chars().collect();
    let target = signature_start + (chars.len() - signature_start) / 2;
    chars[target] = if chars[target] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}
