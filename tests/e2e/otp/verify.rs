//! POST /auth/verify-otp: the token response, the access token it carries, and every way a code
//! stops working.

use std::time::Duration;

use jsonwebtoken::{Algorithm, decode_header};
use serde_json::json;

use crate::support::{
    Harness, PUBLIC_URL, TestServer, fire_at_once, jwt, unique_phone, wrong_code,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn verify_with_the_right_code_returns_tokens() {
    // Arrange
    let h =
        Harness::start_with(TestServer::builder().env("AUTH_OTP_RESEND_COOLDOWN_SECS", "0")).await;
    let phone = unique_phone();
    let (otp_request_id, code) = h.request_code(&phone).await;

    // Act
    let first = h.verify_otp(&otp_request_id, &code).await;
    let second = h.login(&phone).await;

    // Assert
    first.assert_ok();
    assert_eq!(first.str("token_type"), "Bearer");
    assert_eq!(first.int("expires_in"), 900);
    assert_eq!(first.int("refresh_expires_in"), 2_592_000);
    assert!(!first.str("access_token").is_empty());
    assert!(!first.str("refresh_token").is_empty());
    assert!(
        first.str("session_id").starts_with("ses_"),
        "{}",
        first.text
    );
    assert_eq!(first.body["is_new_user"], true);
    let user = &first.body["user"];
    assert!(
        user["id"].as_str().is_some_and(|id| id.starts_with("usr_")),
        "{user}"
    );
    assert_eq!(user["phone"], phone.as_str());
    assert!(user["email"].is_null(), "{user}");
    assert!(
        user["created_at"].as_str().is_some_and(|at| !at.is_empty()),
        "{user}"
    );
    assert_eq!(
        second.body["is_new_user"], false,
        "the second login created a user again"
    );
    assert_eq!(second.body["user"]["id"], user["id"]);
    assert_ne!(second.str("session_id"), first.str("session_id"));
    assert_ne!(second.str("refresh_token"), first.str("refresh_token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn access_token_is_an_rs256_at_jwt_whose_key_is_published_in_the_jwks() {
    // Arrange
    let h = Harness::start().await;
    let tokens = h.login(&unique_phone()).await;

    // Act
    let header = decode_header(&tokens.str("access_token")).expect("a JWT header");
    let jwks = h
        .server
        .get(&format!("/apps/{}/jwks.json", h.app.app_slug))
        .await;

    // Assert
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    let kid = header.kid.expect("a kid in the token header");
    jwks.assert_ok();
    let cache_control = jwks.header("cache-control").unwrap_or("");
    assert!(
        cache_control.contains("max-age=300"),
        "Cache-Control: {cache_control:?}"
    );
    let keys = jwt::jwks_keys(&jwks.body);
    assert!(!keys.is_empty(), "empty JWKS: {}", jwks.text);
    for key in keys {
        assert_eq!(key["kty"], "RSA", "{key}");
        assert_eq!(key["alg"], "RS256", "{key}");
        assert_eq!(key["use"], "sig", "{key}");
        for public in ["kid", "n", "e"] {
            assert!(
                key[public].as_str().is_some_and(|v| !v.is_empty()),
                "{public} missing in {key}"
            );
        }
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                key.get(private).is_none(),
                "private member {private} published in {key}"
            );
        }
    }
    assert!(
        keys.iter().any(|key| key["kid"] == kid.as_str()),
        "kid {kid} not in {}",
        jwks.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn access_token_verifies_with_the_jwks_and_carries_the_session_claims() {
    // Arrange
    let h = Harness::start().await;
    let phone = unique_phone();
    let tokens = h.login(&phone).await;
    let other_login = h.login(&unique_phone()).await;
    let jwks = jwt::fetch_jwks(&h.server, &h.app).await;
    let access_token = tokens.str("access_token");

    // Act
    let claims = jwt::verify_with_kid(&access_token, &jwks, &h.app.app_slug);
    let other_claims =
        jwt::verify_with_kid(&other_login.str("access_token"), &jwks, &h.app.app_slug);
    let for_another_audience = jwt::verify_with_kid(&access_token, &jwks, "some-other-app");

    // Assert
    let claims = claims.unwrap_or_else(|error| panic!("{error}"));
    let other_claims = other_claims.unwrap_or_else(|error| panic!("{error}"));
    assert!(
        for_another_audience.is_err(),
        "the token is accepted for an audience it was not issued to"
    );
    assert_eq!(claims["iss"], PUBLIC_URL);
    assert_eq!(claims["sub"], tokens.body["user"]["id"]);
    assert_eq!(claims["sid"], tokens.str("session_id").as_str());
    assert_eq!(claims["app_id"], h.app.app_id.as_str());
    assert_eq!(claims["phone"], phone.as_str());
    assert_eq!(claims["tenants"], json!({}));
    let number = |name: &str| {
        claims[name]
            .as_i64()
            .unwrap_or_else(|| panic!("no numeric {name}: {claims}"))
    };
    assert_eq!(number("exp") - number("iat"), 900);
    assert!(number("nbf") <= number("iat"), "nbf after iat: {claims}");
    let jti = claims["jti"].as_str().expect("a jti");
    assert!(!jti.is_empty());
    assert_ne!(other_claims["jti"], jti, "two logins share a jti");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_code_is_rejected_with_the_attempts_remaining() {
    // Arrange
    let h = Harness::start().await;
    let (otp_request_id, code) = h.request_code(&unique_phone()).await;
    let wrong = wrong_code(&code);

    for expected_remaining in [4, 3, 2] {
        // Act
        let reply = h.verify_otp(&otp_request_id, &wrong).await;

        // Assert
        reply.assert_error(401, "otp_invalid");
        assert_eq!(
            reply.int("attempts_remaining"),
            expected_remaining,
            "{}",
            reply.text
        );
    }
    h.verify_otp(&otp_request_id, &code).await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_wrong_codes_kill_the_request_even_for_the_right_code() {
    // Arrange
    let h = Harness::start().await;
    let (otp_request_id, code) = h.request_code(&unique_phone()).await;
    let wrong = wrong_code(&code);
    for expected_remaining in [4, 3, 2, 1] {
        let reply = h.verify_otp(&otp_request_id, &wrong).await;
        reply.assert_error(401, "otp_invalid");
        assert_eq!(
            reply.int("attempts_remaining"),
            expected_remaining,
            "{}",
            reply.text
        );
    }
    let fifth = h.verify_otp(&otp_request_id, &wrong).await;
    match (fifth.status, fifth.error()) {
        (401, "otp_invalid") => assert_eq!(fifth.int("attempts_remaining"), 0, "{}", fifth.text),
        (429, "otp_max_attempts") => {}
        _ => panic!("unexpected answer to the fifth wrong code: {}", fifth.text),
    }

    // Act
    let right = h.verify_otp(&otp_request_id, &code).await;

    // Assert
    right.assert_error(429, "otp_max_attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_used_code_cannot_be_used_again() {
    // Arrange: no retry window, so a used code is simply used.
    let h =
        Harness::start_with(TestServer::builder().env("AUTH_REFRESH_REUSE_GRACE_SECS", "0")).await;
    let (otp_request_id, code) = h.request_code(&unique_phone()).await;
    h.verify_otp(&otp_request_id, &code).await.assert_ok();

    // Act
    let again = h.verify_otp(&otp_request_id, &code).await;

    // Assert
    again.assert_error(404, "otp_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_verify_retried_after_a_lost_answer_gets_the_same_session() {
    // Arrange: a login whose answer the client never saw.
    let h = Harness::start().await;
    let (otp_request_id, code) = h.request_code(&unique_phone()).await;
    let lost = h.verify_otp(&otp_request_id, &code).await;
    lost.assert_ok();

    // Act: the client retries, as docs/06 says, then carries on with what it got.
    let retried = h.verify_otp(&otp_request_id, &code).await;
    let wrong = h.verify_otp(&otp_request_id, &wrong_code(&code)).await;
    let refreshed = h.refresh(&retried.str("refresh_token")).await;
    let after_rotation = h.verify_otp(&otp_request_id, &code).await;

    // Assert: one session, one user, one login: the retry is answered, not punished.
    retried.assert_ok();
    for field in ["session_id", "refresh_token"] {
        assert_eq!(retried.body[field], lost.body[field], "{field}");
    }
    assert_eq!(retried.body["user"], lost.body["user"]);
    assert_eq!(retried.body["is_new_user"], json!(true));
    assert_ne!(retried.str("access_token"), lost.str("access_token"));
    wrong.assert_error(404, "otp_not_found");
    refreshed.assert_ok();
    // The session moved on: the code cannot hand out its first token again.
    after_rotation.assert_error(404, "otp_not_found");
    let me = h.me(&refreshed.str("access_token")).await;
    me.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_newer_code_supersedes_the_older_request() {
    // Arrange
    let h =
        Harness::start_with(TestServer::builder().env("AUTH_OTP_RESEND_COOLDOWN_SECS", "0")).await;
    let phone = unique_phone();
    let (older_id, older_code) = h.request_code(&phone).await;
    let (newer_id, newer_code) = h.request_code(&phone).await;

    // Act
    let older = h.verify_otp(&older_id, &older_code).await;
    let newer = h.verify_otp(&newer_id, &newer_code).await;

    // Assert
    assert_ne!(older_id, newer_id);
    older.assert_error(404, "otp_not_found");
    newer.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_code_is_rejected_as_expired() {
    // Arrange
    let h = Harness::start_with(TestServer::builder().env("AUTH_OTP_TTL_SECS", "1")).await;
    let phone = unique_phone();
    let sent = h.send_otp_to_phone(&phone).await;
    sent.assert_ok();
    assert_eq!(sent.int("expires_in"), 1);
    let otp_request_id = sent.str("otp_request_id");
    let code = h.sink.code_for(&otp_request_id).await;
    // The one real wait in the suite: expiry is judged by the server's own clock.
    tokio::time::sleep(Duration::from_millis(2_500)).await;

    // Act
    let reply = h.verify_otp(&otp_request_id, &code).await;

    // Assert
    reply.assert_error(410, "otp_expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_verifies_of_one_code_succeed_exactly_once() {
    // Arrange
    let h = Harness::start().await;
    let (otp_request_id, code) = h.request_code(&unique_phone()).await;
    let body = h
        .app
        .body(json!({ "otp_request_id": otp_request_id, "otp": code }));
    let posts = (0..20)
        .map(|_| h.server.prepare_post("/auth/verify-otp", body.clone()))
        .collect();

    // Act
    let replies = fire_at_once(posts).await;

    // Assert: requests that race the login lose it; only one presented after it took effect is
    // a retry.
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    assert_eq!(
        statuses.iter().filter(|&&status| status == 200).count(),
        1,
        "statuses: {statuses:?}"
    );
    for loser in replies.iter().filter(|reply| reply.status != 200) {
        loser.assert_error(404, "otp_not_found");
    }
}
