//! Send limits and delivery failures: what a backend sees when a code cannot or may not be sent.

use serde_json::json;

use crate::support::webhook::code_of;
use crate::support::{Harness, TestServer, unique_phone};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn resending_inside_the_cooldown_is_rate_limited_with_retry_after() {
    // Arrange
    let h = Harness::start().await;
    let phone = unique_phone();
    let (otp_request_id, code) = h.request_code(&phone).await;

    // Act
    let resend = h.send_otp_to_phone(&phone).await;

    // Assert
    resend.assert_error(429, "rate_limited");
    let retry_after = resend.int("retry_after");
    assert!(
        (1..=60).contains(&retry_after),
        "retry_after {retry_after} outside 1..=60"
    );
    let header: u64 = resend
        .header("retry-after")
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no numeric Retry-After header: {:?}", resend.headers));
    assert!(
        (1..=60).contains(&header),
        "Retry-After {header} outside 1..=60"
    );
    // The refused resend must not have cost the user the code already on its way.
    h.verify_otp(&otp_request_id, &code).await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sends_per_client_ip_are_limited_without_blocking_other_ips() {
    // Arrange
    let h =
        Harness::start_with(TestServer::builder().env("AUTH_OTP_SENDS_PER_IP_PER_HOUR", "2")).await;
    let busy_ip = "203.0.113.7";
    for _ in 0..2 {
        h.send_otp(json!({ "phone": unique_phone(), "client_ip": busy_ip }))
            .await
            .assert_ok();
    }

    // Act
    let third = h
        .send_otp(json!({ "phone": unique_phone(), "client_ip": busy_ip }))
        .await;
    let other_ip = h
        .send_otp(json!({ "phone": unique_phone(), "client_ip": "198.51.100.9" }))
        .await;

    // Assert
    third.assert_error(429, "rate_limited");
    assert!(third.int("retry_after") > 0, "{}", third.text);
    assert!(
        third.header("retry-after").is_some(),
        "no Retry-After header"
    );
    other_ip.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_delivery_answers_502_and_leaves_no_usable_code() {
    // Arrange
    let h = Harness::start().await;
    let phone = unique_phone();
    h.sink.set_failing(true);

    // Act
    let failed = h.send_otp_to_phone(&phone).await;

    // Assert
    failed.assert_error(502, "delivery_failed");
    let attempt = h
        .sink
        .wait_for("attempted while failing", |d| {
            !d.accepted && d.body["to"] == phone.as_str()
        })
        .await;
    let failed_id = attempt.body["otp_request_id"]
        .as_str()
        .expect("an otp_request_id")
        .to_owned();
    h.verify_otp(&failed_id, &code_of(&attempt))
        .await
        .assert_error(404, "otp_not_found");

    // Once the gateway is back, the same user can ask again and sign in.
    h.sink.set_failing(false);
    let (otp_request_id, code) = h.request_code(&phone).await;
    assert_ne!(otp_request_id, failed_id);
    h.verify_otp(&otp_request_id, &code).await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn repeated_wrong_app_secrets_are_rate_limited_but_a_known_right_one_still_works() {
    // Arrange: the right secret is verified (and so remembered) once before the attack.
    let h = Harness::start_with(
        TestServer::builder().env("AUTH_APP_AUTH_FAILURES_PER_IP_PER_HOUR", "2"),
    )
    .await;
    h.send_otp_to_phone(&unique_phone()).await.assert_ok();
    let wrong = crate::support::AppCreds {
        app_secret: format!("{}x", h.app.app_secret),
        ..h.app.clone()
    };

    // Act
    let mut answers = Vec::new();
    for _ in 0..3 {
        let reply = crate::support::send_otp_to_phone(&h.server, &wrong, &unique_phone()).await;
        answers.push((reply.status, reply.error().to_owned()));
    }
    let right = h.send_otp_to_phone(&unique_phone()).await;

    // Assert
    assert_eq!(
        answers,
        [
            (401, "invalid_app_credentials".to_owned()),
            (401, "invalid_app_credentials".to_owned()),
            (429, "rate_limited".to_owned()),
        ]
    );
    right.assert_ok();
}
