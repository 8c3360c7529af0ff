//! Malformed requests are refused with `invalid_request` naming the field, and references to
//! things that do not exist with their own 404.

use serde_json::{Value, json};

use super::{By, UNKNOWN_LICENSE_ID, Vendor, rejected_fields};
use crate::support::Harness;

const UNKNOWN_USER_ID: &str = "usr_nobodynobodynobodynobodynobody";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn generate_refuses_each_malformed_field_by_name() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let huge_metadata = json!({ "notes": "x".repeat(5000) });
    let cases: [(&str, Value); 8] = [
        ("max_activations", json!({ "max_activations": 0 })),
        ("max_activations", json!({ "max_activations": 10_001 })),
        (
            "expires_at",
            json!({ "expires_at": "2020-01-01T00:00:00Z" }),
        ),
        ("expires_at", json!({ "expires_at": "next tuesday" })),
        ("metadata", json!({ "metadata": "not an object" })),
        ("metadata", json!({ "metadata": [1, 2, 3] })),
        ("metadata", json!({ "metadata": huge_metadata })),
        ("product", json!({ "product": "p".repeat(101) })),
    ];

    // Act
    let mut replies = Vec::new();
    for (_, fields) in &cases {
        replies.push(vendor.generate(fields.clone()).await);
    }

    // Assert
    for ((field, fields), reply) in cases.iter().zip(&replies) {
        assert!(
            rejected_fields(reply).iter().any(|name| name == field),
            "{fields} was not refused naming {field}: {}",
            reply.text
        );
    }
    let listed = vendor.list(json!({})).await;
    listed.assert_ok();
    assert_eq!(
        listed.body["licenses"],
        json!([]),
        "a refused generate created a license"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_limits_of_generate_fields_are_allowed() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let just_under_four_kib = json!({ "notes": "x".repeat(4000) });

    // Act
    let most_seats = vendor.generate(json!({ "max_activations": 10_000 })).await;
    let one_seat = vendor.generate(json!({ "max_activations": 1 })).await;
    let long_product = vendor.generate(json!({ "product": "p".repeat(100) })).await;
    let big_metadata = vendor
        .generate(json!({ "metadata": just_under_four_kib }))
        .await;
    let defaults = vendor.generate(json!({})).await;

    // Assert
    for reply in [
        &most_seats,
        &one_seat,
        &long_product,
        &big_metadata,
        &defaults,
    ] {
        reply.assert_ok();
    }
    assert_eq!(most_seats.body["license"]["max_activations"], 10_000);
    let license = &defaults.body["license"];
    assert_eq!(license["max_activations"], 1, "{license}");
    assert!(
        license["product"].is_null() && license["expires_at"].is_null(),
        "{license}"
    );
    assert_eq!(license["metadata"], json!({}), "{license}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_users_and_tenants_are_not_found_on_generate() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);

    // Act
    let no_user = vendor.generate(json!({ "user_id": UNKNOWN_USER_ID })).await;
    let no_tenant = vendor.generate(json!({ "tenant": "no-such-tenant" })).await;

    // Assert
    no_user.assert_error(404, "user_not_found");
    no_tenant.assert_error(404, "tenant_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn activate_refuses_a_missing_or_oversized_device_fingerprint() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let key = vendor.issue_seats(3).await.key;

    // Act
    let empty = vendor.activate(&key, "").await;
    let too_long = vendor.activate(&key, &"f".repeat(513)).await;
    let missing = vendor
        .post("/licenses/activate", json!({ "key": key }))
        .await;
    let long_name = vendor
        .post(
            "/licenses/activate",
            json!({ "key": key, "device_fingerprint": "device-a", "device_name": "n".repeat(101) }),
        )
        .await;
    let longest = vendor.activate(&key, &"f".repeat(512)).await;

    // Assert
    for reply in [&empty, &too_long, &missing] {
        assert_eq!(
            rejected_fields(reply),
            ["device_fingerprint"],
            "{}",
            reply.text
        );
    }
    assert_eq!(rejected_fields(&long_name), ["device_name"]);
    longest.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn state_changes_need_exactly_one_of_key_and_license_id() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let issued = vendor.issue_seats(1).await;

    // Act
    let neither = vendor.post("/licenses/suspend", json!({})).await;
    let both = vendor
        .post(
            "/licenses/suspend",
            json!({ "key": issued.key, "license_id": issued.id }),
        )
        .await;
    let long_reason = vendor
        .post(
            "/licenses/revoke",
            json!({ "license_id": issued.id, "reason": "r".repeat(501) }),
        )
        .await;
    let unknown_id = vendor.revoke(By::Id(UNKNOWN_LICENSE_ID)).await;

    // Assert
    neither.assert_error(400, "invalid_request");
    both.assert_error(400, "invalid_request");
    assert_eq!(rejected_fields(&long_reason), ["reason"]);
    unknown_id.assert_error(404, "license_not_found");
    let still = vendor.verify(&issued.key, None).await;
    assert_eq!(still.body["license"]["status"], "active", "{}", still.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn list_refuses_a_limit_outside_one_to_two_hundred() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);

    // Act
    let zero = vendor.list(json!({ "limit": 0 })).await;
    let too_many = vendor.list(json!({ "limit": 201 })).await;
    let most = vendor.list(json!({ "limit": 200 })).await;

    // Assert
    assert_eq!(rejected_fields(&zero), ["limit"]);
    assert_eq!(rejected_fields(&too_many), ["limit"]);
    most.assert_ok();
}
