//! Behind reverse proxies: with `AUTH_TRUSTED_PROXIES` the client is the address the proxy forwarded
//! for, everywhere the peer would be used; from any other peer `X-Forwarded-For` is ignored.

use serde_json::json;

use crate::support::{Harness, TestServer, TestServerBuilder, on_both_backends, unique_phone};

/// The test server's own address, the proxy every request comes through here.
const LOOPBACK: &str = "127.0.0.1/32";

on_both_backends!(clients_behind_a_trusted_proxy_are_limited_each_on_their_own);
async fn clients_behind_a_trusted_proxy_are_limited_each_on_their_own(builder: TestServerBuilder) {
    // Arrange: two sends per address per hour.
    let h = Harness::start_with(
        builder
            .env("AUTH_TRUSTED_PROXIES", LOOPBACK)
            .env("AUTH_OTP_SENDS_PER_IP_PER_HOUR", "2"),
    )
    .await;
    let send = |client: &'static str| {
        let body = h.app.body(json!({ "phone": unique_phone() }));
        let server = &h.server;
        async move {
            server
                .post_forwarded("/auth/send-otp", &body, &format!("198.51.100.1, {client}"))
                .await
        }
    };

    // Act: five clients behind one proxy, one of them three times.
    let mut replies = Vec::new();
    for client in [
        "203.0.113.1",
        "203.0.113.2",
        "203.0.113.3",
        "203.0.113.4",
        "203.0.113.5",
    ] {
        replies.push(send(client).await);
    }
    let again = send("203.0.113.1").await;
    let third = send("203.0.113.1").await;

    // Assert: the rightmost untrusted hop is the client, in limits and in the audit log.
    for reply in &replies {
        reply.assert_ok();
    }
    again.assert_ok();
    third.assert_error(429, "rate_limited");
    let events = h
        .post("/audit/events", json!({ "event": "otp_sent", "limit": 10 }))
        .await;
    events.assert_ok();
    assert_eq!(events.body["events"][0]["client_ip"], "203.0.113.1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    // Arrange: no trusted proxies (the default).
    let h =
        Harness::start_with(TestServer::builder().env("AUTH_OTP_SENDS_PER_IP_PER_HOUR", "2")).await;
    let body = || h.app.body(json!({ "phone": unique_phone() }));

    // Act: the header claims three different clients.
    let mut replies = Vec::new();
    for client in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        replies.push(
            h.server
                .post_forwarded("/auth/send-otp", &body(), client)
                .await,
        );
    }

    // Assert: they are all the peer, so the third is refused.
    replies[0].assert_ok();
    replies[1].assert_ok();
    replies[2].assert_error(429, "rate_limited");
}

on_both_backends!(wrong_secrets_from_one_address_never_lock_the_app_out_for_another);
async fn wrong_secrets_from_one_address_never_lock_the_app_out_for_another(
    builder: TestServerBuilder,
) {
    // Arrange: a stranger behind the same proxy as the app's backend presents wrong secrets.
    let mut h = Harness::start_with(
        builder
            .env("AUTH_TRUSTED_PROXIES", LOOPBACK)
            .env("AUTH_APP_AUTH_FAILURES_PER_IP_PER_HOUR", "5"),
    )
    .await;
    let stranger = "203.0.113.50";
    let backend = "192.0.2.10";
    let wrong =
        json!({ "app_id": h.app.app_id, "app_secret": "sk_wrong", "phone": unique_phone() });
    for _ in 0..6 {
        h.server
            .post_forwarded("/auth/send-otp", &wrong, stranger)
            .await;
    }
    let locked = h
        .server
        .post_forwarded("/auth/send-otp", &wrong, stranger)
        .await;

    // Act: after a restart (no verified secret cached), the right secret from both addresses.
    h.server.stop().await;
    let restarted = h.server.start_sibling().await;
    let right = h.app.body(json!({ "phone": unique_phone() }));
    let stranger_right = restarted
        .post_forwarded("/auth/send-otp", &right, stranger)
        .await;
    let backend_reply = restarted
        .post_forwarded("/auth/send-otp", &right, backend)
        .await;

    // Assert: only the stranger's own address is held back.
    locked.assert_error(429, "rate_limited");
    stranger_right.assert_error(429, "rate_limited");
    backend_reply.assert_ok();
}
