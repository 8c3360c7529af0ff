//! POST /auth/send-otp: what it answers, what it delivers, and what it refuses.

use std::collections::BTreeSet;

use serde_json::json;

use crate::support::{AppCreds, Harness, TestServer, unique_email, unique_phone};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn send_otp_by_phone_returns_a_request_id_and_a_masked_hint() {
    // Arrange
    let h = Harness::start().await;
    let phone = unique_phone();

    // Act
    let reply = h.send_otp_to_phone(&phone).await;

    // Assert
    reply.assert_ok();
    let otp_request_id = reply.str("otp_request_id");
    assert!(otp_request_id.starts_with("otp_"), "{}", reply.text);
    assert_eq!(reply.str("channel"), "sms");
    assert_eq!(reply.int("expires_in"), 300);
    assert_eq!(reply.int("resend_after"), 60);
    let hint = reply.str("destination_hint");
    let last_four = &phone[phone.len() - 4..];
    let middle = &phone[3..phone.len() - 4];
    assert!(
        hint.starts_with("+91"),
        "hint {hint} should keep the country prefix"
    );
    assert!(
        hint.ends_with(last_four),
        "hint {hint} should end with {last_four}"
    );
    assert!(hint.contains('*'), "hint {hint} should mask digits");
    assert!(
        !hint.contains(&phone),
        "hint {hint} reveals the whole number"
    );
    assert!(
        !hint.contains(middle),
        "hint {hint} reveals the middle digits {middle}"
    );
    let delivery = h
        .sink
        .wait_for("to the phone", |d| d.body["to"] == phone.as_str())
        .await;
    assert_eq!(delivery.body["channel"], "sms");
    assert_eq!(delivery.body["otp_request_id"], otp_request_id.as_str());
    assert_eq!(delivery.body["app_slug"], h.app.app_slug.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn send_otp_by_email_uses_the_email_channel() {
    // Arrange
    let h = Harness::start().await;
    let email = unique_email();
    let local_part = email
        .split('@')
        .next()
        .expect("an address with a local part");

    // Act
    let reply = h.send_otp(json!({ "email": email })).await;

    // Assert
    reply.assert_ok();
    let otp_request_id = reply.str("otp_request_id");
    assert!(otp_request_id.starts_with("otp_"), "{}", reply.text);
    assert_eq!(reply.str("channel"), "email");
    assert_eq!(reply.int("expires_in"), 300);
    assert_eq!(reply.int("resend_after"), 60);
    let hint = reply.str("destination_hint");
    assert!(!hint.is_empty(), "empty destination_hint");
    assert!(
        !hint.contains(local_part),
        "hint {hint} reveals the address {email}"
    );
    let code = h.sink.code_for(&otp_request_id).await;
    assert!(
        !code.is_empty() && code.chars().all(|c| c.is_ascii_digit()),
        "code {code:?} is not digits"
    );
    let delivery = h
        .sink
        .wait_for("to the address", |d| d.body["to"] == email.as_str())
        .await;
    assert_eq!(delivery.body["channel"], "email");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn send_otp_answers_the_same_for_existing_and_unknown_users() {
    // Arrange
    let h =
        Harness::start_with(TestServer::builder().env("AUTH_OTP_RESEND_COOLDOWN_SECS", "0")).await;
    let existing = unique_phone();
    let first_login = h.login(&existing).await;
    assert_eq!(first_login.body["is_new_user"], true);
    let unknown = unique_phone();

    // Act
    let for_existing = h.send_otp_to_phone(&existing).await;
    let for_unknown = h.send_otp_to_phone(&unknown).await;

    // Assert
    for_existing.assert_ok();
    for_unknown.assert_ok();
    let fields = |body: &serde_json::Value| -> BTreeSet<String> {
        body.as_object()
            .map(|map| map.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(fields(&for_existing.body), fields(&for_unknown.body));
    for same in ["channel", "expires_in", "resend_after"] {
        assert_eq!(
            for_existing.body[same], for_unknown.body[same],
            "`{same}` tells the users apart"
        );
    }
    assert_eq!(
        for_existing.str("destination_hint").len(),
        for_unknown.str("destination_hint").len(),
        "hints of equally long numbers differ in shape"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn send_otp_rejects_malformed_identifiers_naming_the_field() {
    // Arrange
    let h = Harness::start().await;
    let too_long_email = format!("{}@example.com", "a".repeat(250));
    let cases = [
        (
            "phone without +",
            json!({ "phone": "919876543210" }),
            Some("phone"),
        ),
        (
            "phone with 7 digits",
            json!({ "phone": "+1234567" }),
            Some("phone"),
        ),
        (
            "phone with 16 digits",
            json!({ "phone": "+1234567890123456" }),
            Some("phone"),
        ),
        (
            "phone with letters",
            json!({ "phone": "+91987654321x" }),
            Some("phone"),
        ),
        (
            "email without @",
            json!({ "email": "not-an-email" }),
            Some("email"),
        ),
        (
            "email over 254 chars",
            json!({ "email": too_long_email }),
            Some("email"),
        ),
        (
            "phone and email",
            json!({ "phone": unique_phone(), "email": unique_email() }),
            None,
        ),
        ("neither phone nor email", json!({}), None),
    ];

    for (case, fields, named) in cases {
        // Act
        let reply = h.send_otp(fields).await;

        // Assert
        assert_eq!(
            (reply.status, reply.error()),
            (400, "invalid_request"),
            "{case}: {}",
            reply.text
        );
        let problems = reply.field_problems();
        assert!(!problems.is_empty(), "{case}: `fields` is empty");
        if let Some(name) = named {
            assert!(
                problems.iter().any(|(n, _)| n == name),
                "{case}: {name} not named in {problems:?}"
            );
        }
    }
    assert!(
        h.sink.deliveries().is_empty(),
        "a rejected request delivered a code"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn send_otp_with_wrong_app_credentials_is_refused() {
    // Arrange
    let h = Harness::start().await;
    let wrong_secret = AppCreds {
        app_secret: altered(&h.app.app_secret),
        ..h.app.clone()
    };
    let unknown_app = AppCreds {
        app_id: altered(&h.app.app_id),
        ..h.app.clone()
    };

    for (case, app) in [
        ("wrong secret", &wrong_secret),
        ("unknown app id", &unknown_app),
    ] {
        // Act
        let reply = crate::support::send_otp_to_phone(&h.server, app, &unique_phone()).await;

        // Assert
        assert_eq!(
            reply.error(),
            "invalid_app_credentials",
            "{case}: {}",
            reply.text
        );
        reply.assert_error(401, "invalid_app_credentials");
    }
    assert!(
        h.sink.deliveries().is_empty(),
        "an unauthenticated request delivered a code"
    );
}

/// The same credential with one letter or digit changed, keeping its alphabet and length. The
/// change is in the middle: a base64 string's last character may carry only padding bits.
fn altered(credential: &str) -> String {
    let mut chars: Vec<char> = credential.chars().collect();
    let middle = chars.len() / 2;
    let changed = chars[middle..]
        .iter_mut()
        .find(|c| c.is_ascii_alphanumeric())
        .expect("a credential with a letter or digit");
    *changed = match *changed {
        '0'..='8' => char::from_u32(u32::from(*changed) + 1).unwrap_or('0'),
        '9' => '0',
        'a' => 'b',
        'A' => 'B',
        c if c.is_ascii_lowercase() => 'a',
        _ => 'A',
    };
    chars.into_iter().collect()
}
