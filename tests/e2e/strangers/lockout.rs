//! An attacker who knows someone's phone number sends codes and guesses wrong from one address;
//! the person, from their own address, still gets a code and signs in at once.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    Harness, TestServer, TestServerBuilder, on_both_backends, unique_phone, wrong_code,
};

const ATTACKER: &str = "203.0.113.66";
const VICTIM: &str = "198.51.100.20";

/// `fields` sent from the end-user address `ip`.
fn from(ip: &str, fields: Value) -> Value {
    let mut fields = fields;
    fields["client_ip"] = json!(ip);
    fields
}

// Three rounds of send + five wrong codes from one address, then sends from it until refused; the
// victim then sends from another address and signs in.
on_both_backends!(a_stranger_cannot_lock_a_person_out);
async fn a_stranger_cannot_lock_a_person_out(builder: TestServerBuilder) {
    // Arrange: resends are allowed after a second, so the rounds take seconds, not minutes.
    let h = Harness::start_with(builder.env("AUTH_OTP_RESEND_COOLDOWN_SECS", "1")).await;
    let phone = unique_phone();
    for round in 0..3 {
        if round > 0 {
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
        let sent = h.send_otp(from(ATTACKER, json!({ "phone": phone }))).await;
        sent.assert_ok();
        let otp_request_id = sent.str("otp_request_id");
        let code = h.sink.code_for(&otp_request_id).await;
        for _ in 0..5 {
            let guess = json!({ "otp_request_id": otp_request_id, "otp": wrong_code(&code) });
            let reply = h.post("/auth/verify-otp", from(ATTACKER, guess)).await;
            assert!(
                [401, 429].contains(&reply.status),
                "a wrong code: {} {}",
                reply.status,
                reply.text
            );
        }
    }
    let mut refused = None;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let reply = h.send_otp(from(ATTACKER, json!({ "phone": phone }))).await;
        if reply.status == 429 {
            refused = Some(reply);
            break;
        }
        reply.assert_ok();
    }
    let refused = refused.expect("the attacker's address was never refused");
    refused.assert_error(429, "rate_limited");

    // Act: the person, from their own address, at once.
    let sent = h.send_otp(from(VICTIM, json!({ "phone": phone }))).await;

    // Assert
    sent.assert_ok();
    let otp_request_id = sent.str("otp_request_id");
    let code = h.sink.code_for(&otp_request_id).await;
    let login = h
        .post(
            "/auth/verify-otp",
            from(
                VICTIM,
                json!({ "otp_request_id": otp_request_id, "otp": code }),
            ),
        )
        .await;
    login.assert_ok();
    assert_eq!(login.body["user"]["phone"], phone.as_str());
}

on_both_backends!(the_cooldown_and_supersession_are_per_caller_so_a_strangers_send_cancels_nothing);
async fn the_cooldown_and_supersession_are_per_caller_so_a_strangers_send_cancels_nothing(
    builder: TestServerBuilder,
) {
    // Arrange: the default one-minute resend cooldown.
    let h = Harness::start_with(builder).await;
    let phone = unique_phone();
    let victim = h.send_otp(from(VICTIM, json!({ "phone": phone }))).await;
    victim.assert_ok();
    let victims_request = victim.str("otp_request_id");
    let victims_code = h.sink.code_for(&victims_request).await;

    // Act: strangers at two other addresses send codes to the same phone right after.
    let first = h.send_otp(from(ATTACKER, json!({ "phone": phone }))).await;
    let second = h
        .send_otp(from("192.0.2.99", json!({ "phone": phone })))
        .await;
    let attacker_again = h.send_otp(from(ATTACKER, json!({ "phone": phone }))).await;

    // Assert: each address has its own cooldown, and the person's code still works.
    first.assert_ok();
    second.assert_ok();
    attacker_again.assert_error(429, "rate_limited");
    let login = h
        .post(
            "/auth/verify-otp",
            from(
                VICTIM,
                json!({ "otp_request_id": victims_request, "otp": victims_code }),
            ),
        )
        .await;
    login.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_daily_send_ceiling_per_identifier_still_holds_across_addresses() {
    // Arrange: two sends per address, ten across addresses.
    let h = Harness::start_with(
        TestServer::builder()
            .env("AUTH_OTP_RESEND_COOLDOWN_SECS", "0")
            .env("AUTH_OTP_SENDS_PER_IDENTIFIER_PER_IP_PER_DAY", "2")
            .env("AUTH_OTP_SENDS_PER_IDENTIFIER_PER_DAY", "10"),
    )
    .await;
    let phone = unique_phone();
    let mut statuses = Vec::new();

    // Act: two sends from each of six addresses.
    for address in 1..=6 {
        let ip = format!("192.0.2.{address}");
        for _ in 0..2 {
            let reply = h.send_otp(from(&ip, json!({ "phone": phone }))).await;
            statuses.push(reply.status);
        }
    }
    let third_from_one = h
        .send_otp(from("192.0.2.1", json!({ "phone": phone })))
        .await;

    // Assert: ten delivered, then the ceiling refuses everyone.
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(&statuses[10..], [429, 429]);
    third_from_one.assert_error(429, "rate_limited");
}
