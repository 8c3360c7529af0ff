//! What a key looks like, and that a mistyped, unknown or foreign key finds nothing.

use std::collections::BTreeSet;

use serde_json::json;

use super::{
    Vendor, assert_key_format, assert_verdict, check_holds, mistype, seats, well_formed_stranger,
};
use crate::support::{Harness, unique_slug};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn generated_keys_are_five_groups_of_look_alike_free_symbols_with_a_check_symbol() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);

    // Act
    let mut keys = BTreeSet::new();
    for _ in 0..20 {
        keys.insert(vendor.issue(json!({})).await.key);
    }

    // Assert
    assert_eq!(keys.len(), 20, "a key was handed out twice: {keys:?}");
    for key in &keys {
        assert_key_format(key);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mistyped_key_is_not_found_and_takes_no_seat() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let issued = vendor.issue_seats(1).await;
    let typo = mistype(&issued.key, 12);
    assert!(
        !check_holds(&typo),
        "the typo {typo} still passes the check"
    );

    // Act
    let verified = vendor.verify(&typo, None).await;
    let verified_on_device = vendor.verify(&typo, Some("device-a")).await;
    let activated = vendor.activate(&typo, "device-a").await;

    // Assert
    assert_verdict(&verified, "NOT_FOUND");
    assert_verdict(&verified_on_device, "NOT_FOUND");
    activated.assert_error(404, "license_not_found");
    let real = vendor.verify(&issued.key, None).await;
    assert_verdict(&real, "VALID");
    assert_eq!(seats(&real), 0, "the typo took a seat: {}", real.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_position_of_a_key_catches_a_typo() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let key = vendor.issue_seats(1).await.key;

    // Act
    let mut verdicts = Vec::new();
    for position in [0, 6, 13, 19, 24] {
        verdicts.push(vendor.verify(&mistype(&key, position), None).await);
    }

    // Assert
    for verdict in &verdicts {
        assert_verdict(verdict, "NOT_FOUND");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_well_formed_key_nobody_issued_is_not_found() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let issued = vendor.issue_seats(1).await;
    let stranger = well_formed_stranger(&issued.key);

    // Act
    let verified = vendor.verify(&stranger, None).await;
    let activated = vendor.activate(&stranger, "device-a").await;
    let deactivated = vendor.deactivate(&stranger, "device-a").await;

    // Assert
    assert_verdict(&verified, "NOT_FOUND");
    activated.assert_error(404, "license_not_found");
    deactivated.assert_error(404, "license_not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_apps_real_key_is_not_found() {
    // Arrange
    let h = Harness::start().await;
    let app_b = h
        .server
        .create_app("Other App", &unique_slug("other"))
        .await;
    let (a, b) = (Vendor::of(&h), Vendor::for_app(&h.server, &app_b));
    let b_key = b.issue_seats(3).await.key;

    // Act
    let verified_in_a = a.verify(&b_key, None).await;
    let activated_in_a = a.activate(&b_key, "device-a").await;

    // Assert
    assert_verdict(&verified_in_a, "NOT_FOUND");
    activated_in_a.assert_error(404, "license_not_found");
    let in_b = b.verify(&b_key, None).await;
    assert_verdict(&in_b, "VALID");
    assert_eq!(seats(&in_b), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_typed_in_lower_case_with_spaces_is_the_same_key() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let issued = vendor.issue_seats(1).await;
    let as_typed = issued.key.to_lowercase().replace('-', " ");

    // Act
    let activated = vendor.activate(&as_typed, "device-a").await;
    let verified = vendor.verify(&issued.key, Some("device-a")).await;

    // Assert
    activated.assert_ok();
    assert_eq!(activated.body["license"]["id"], issued.id.as_str());
    assert_verdict(&verified, "VALID");
}
