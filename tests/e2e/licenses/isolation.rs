//! Apps are separate worlds: another app can neither see nor change this app's licenses.

use serde_json::json;

use super::{By, Vendor, assert_status, assert_verdict, seats};
use crate::support::{Harness, unique_slug};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_app_can_neither_check_nor_change_this_apps_licenses() {
    // Arrange
    let h = Harness::start().await;
    let app_b = h
        .server
        .create_app("Other App", &unique_slug("other"))
        .await;
    let (a, b) = (Vendor::of(&h), Vendor::for_app(&h.server, &app_b));
    let issued = a.issue_seats(2).await;
    a.activated(&issued.key, "device-a").await;
    let b_own = b.issue_seats(1).await;

    // Act
    let verified = b.verify(&issued.key, Some("device-a")).await;
    let activated = b.activate(&issued.key, "device-b").await;
    let deactivated = b.deactivate(&issued.key, "device-a").await;
    let revoked_by_key = b.revoke(By::Key(&issued.key)).await;
    let revoked_by_id = b.revoke(By::Id(&issued.id)).await;
    let suspended_by_id = b.suspend(By::Id(&issued.id)).await;
    let reinstated_by_id = b.reinstate(By::Id(&issued.id)).await;
    let b_list = b.list(json!({})).await;

    // Assert
    assert_verdict(&verified, "NOT_FOUND");
    activated.assert_error(404, "license_not_found");
    deactivated.assert_error(404, "license_not_found");
    revoked_by_key.assert_error(404, "license_not_found");
    revoked_by_id.assert_error(404, "license_not_found");
    suspended_by_id.assert_error(404, "license_not_found");
    reinstated_by_id.assert_error(404, "license_not_found");
    b_list.assert_ok();
    let b_ids: Vec<&str> = b_list.body["licenses"]
        .as_array()
        .map(|list| list.iter().filter_map(|l| l["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(b_ids, [b_own.id.as_str()], "{}", b_list.text);

    let in_a = a.verify(&issued.key, Some("device-a")).await;
    assert_verdict(&in_a, "VALID");
    assert_status(&in_a, "active");
    assert_eq!(seats(&in_a), 1, "app B changed the seats: {}", in_a.text);
}
