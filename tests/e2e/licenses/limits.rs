//! Checking keys is rate limited per key and per end-user IP, so that keys cannot be searched for.

use serde_json::json;

use super::{Vendor, assert_verdict};
use crate::support::{Harness, Reply, TestServer};

/// A 429 `rate_limited` with a positive `retry_after` and a `Retry-After` header.
#[track_caller]
fn assert_rate_limited(reply: &Reply) {
    reply.assert_error(429, "rate_limited");
    assert!(reply.int("retry_after") > 0, "{}", reply.text);
    assert!(
        reply.header("retry-after").is_some(),
        "no Retry-After header: {:?}",
        reply.headers
    );
}

/// A verify on behalf of an end user at `client_ip`.
async fn verify_from(vendor: Vendor<'_>, key: &str, client_ip: &str) -> Reply {
    let fields = json!({ "key": key, "client_ip": client_ip });
    vendor.post("/licenses/verify", fields).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checks_of_one_key_past_the_hourly_limit_are_refused_without_blocking_other_keys() {
    // Arrange
    let h =
        Harness::start_with(TestServer::builder().env("AUTH_LICENSE_CHECKS_PER_KEY_PER_HOUR", "3"))
            .await;
    let vendor = Vendor::of(&h);
    let busy = vendor.issue_seats(5).await.key;
    let quiet = vendor.issue_seats(5).await.key;
    let mut allowed = Vec::new();
    for _ in 0..3 {
        allowed.push(vendor.verify(&busy, None).await);
    }

    // Act
    let fourth = vendor.verify(&busy, None).await;
    let activation = vendor.activate(&busy, "device-a").await;
    let other_key = vendor.verify(&quiet, None).await;

    // Assert
    for reply in &allowed {
        assert_verdict(reply, "VALID");
    }
    assert_rate_limited(&fourth);
    assert_rate_limited(&activation);
    assert_verdict(&other_key, "VALID");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checks_from_one_client_ip_past_the_hourly_limit_are_refused_without_blocking_other_ips() {
    // Arrange
    let h =
        Harness::start_with(TestServer::builder().env("AUTH_LICENSE_CHECKS_PER_IP_PER_HOUR", "3"))
            .await;
    let vendor = Vendor::of(&h);
    let mut keys = Vec::new();
    for _ in 0..5 {
        keys.push(vendor.issue_seats(5).await.key);
    }
    let busy_ip = "203.0.113.7";
    let mut allowed = Vec::new();
    for key in &keys[..3] {
        allowed.push(verify_from(vendor, key, busy_ip).await);
    }

    // Act
    let fourth = verify_from(vendor, &keys[3], busy_ip).await;
    let activation = vendor
        .post(
            "/licenses/activate",
            json!({ "key": keys[4], "device_fingerprint": "device-a", "client_ip": busy_ip }),
        )
        .await;
    let other_ip = verify_from(vendor, &keys[4], "198.51.100.9").await;

    // Assert
    for reply in &allowed {
        assert_verdict(reply, "VALID");
    }
    assert_rate_limited(&fourth);
    assert_rate_limited(&activation);
    assert_verdict(&other_ip, "VALID");
}
