//! Seats: one per device, never more than `max_activations`, also when devices race for the last
//! one, and given back by deactivation.

use std::collections::BTreeSet;

use super::{Vendor, activation, assert_verdict, license_of, seats, the_only_winner};
use crate::support::{Harness, fire_at_once};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn activating_the_same_device_again_returns_the_same_activation_and_no_new_seat() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let issued = vendor.issue_seats(1).await;
    let first = vendor.activated(&issued.key, "device-a").await;

    // Act
    let again = vendor.activate(&issued.key, "device-a").await;

    // Assert
    again.assert_ok();
    assert_eq!(
        again.body["activation"]["id"], first.body["activation"]["id"],
        "a repeat activation made a new one: {}",
        again.text
    );
    assert_eq!(seats(&again), 1);
    assert!(!again.str("license_token").is_empty(), "{}", again.text);
    assert_eq!(seats(&vendor.verify(&issued.key, None).await), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_license_refuses_a_new_device_until_a_seat_is_freed() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let key = vendor.issue_seats(2).await.key;
    vendor.activated(&key, "device-a").await;
    let with_b = vendor.activated(&key, "device-b").await;
    assert_eq!(seats(&with_b), 2);

    // Act
    let refused = vendor.activate(&key, "device-c").await;
    let freed = vendor.deactivate(&key, "device-a").await;
    let admitted = vendor.activate(&key, "device-c").await;

    // Assert
    refused.assert_error(409, "activation_limit_reached");
    freed.assert_ok();
    assert_eq!(seats(&freed), 1);
    admitted.assert_ok();
    assert_eq!(seats(&admitted), 2);
    assert_verdict(
        &vendor.verify(&key, Some("device-a")).await,
        "DEVICE_MISMATCH",
    );
    assert_verdict(&vendor.verify(&key, Some("device-b")).await, "VALID");
    assert_verdict(&vendor.verify(&key, Some("device-c")).await, "VALID");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deactivating_a_device_without_a_seat_is_device_not_activated() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let key = vendor.issue_seats(2).await.key;
    vendor.activated(&key, "device-a").await;

    // Act
    let stranger = vendor.deactivate(&key, "device-b").await;
    let first = vendor.deactivate(&key, "device-a").await;
    let twice = vendor.deactivate(&key, "device-a").await;

    // Assert
    stranger.assert_error(404, "device_not_activated");
    first.assert_ok();
    assert_eq!(seats(&first), 0);
    twice.assert_error(404, "device_not_activated");
    assert_verdict(
        &vendor.verify(&key, Some("device-a")).await,
        "NOT_ACTIVATED",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_devices_racing_for_the_last_seat_get_exactly_one() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let key = vendor.issue_seats(1).await.key;
    let devices: Vec<String> = (0..20).map(|i| format!("racing-device-{i}")).collect();
    let posts = devices
        .iter()
        .map(|device| vendor.prepare("/licenses/activate", activation(&key, device)))
        .collect();

    // Act
    let replies = fire_at_once(posts).await;

    // Assert
    let winner = the_only_winner(&replies);
    assert_eq!(seats(&replies[winner]), 1);
    let on_winner = vendor.verify(&key, Some(&devices[winner])).await;
    assert_verdict(&on_winner, "VALID");
    assert_eq!(seats(&on_winner), 1);
    let loser = &devices[(winner + 1) % devices.len()];
    assert_verdict(&vendor.verify(&key, Some(loser)).await, "DEVICE_MISMATCH");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_device_activating_ten_times_at_once_holds_one_seat() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let key = vendor.issue_seats(1).await.key;
    let posts = (0..10)
        .map(|_| vendor.prepare("/licenses/activate", activation(&key, "device-a")))
        .collect();

    // Act
    let replies = fire_at_once(posts).await;

    // Assert
    for reply in &replies {
        reply.assert_ok();
        license_of(reply);
    }
    let ids: BTreeSet<String> = replies
        .iter()
        .map(|reply| reply.body["activation"]["id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1, "one device got several activations: {ids:?}");
    assert_eq!(seats(&vendor.verify(&key, None).await), 1);
}
