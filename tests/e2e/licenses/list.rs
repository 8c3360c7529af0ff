//! Listing an app's licenses: filtered by user and tenant, a page at a time, in id order.

use serde_json::{Value, json};

use super::{Vendor, assert_no_key, user_id_of};
use crate::support::{Harness, Reply, unique_phone, unique_slug};

/// The license ids of a list answer, in the order given.
#[track_caller]
fn listed_ids(reply: &Reply) -> Vec<String> {
    reply.assert_ok();
    let Some(list) = reply.body["licenses"].as_array() else {
        panic!("no `licenses` array: {}", reply.text);
    };
    list.iter()
        .map(|license| match license["id"].as_str() {
            Some(id) => id.to_owned(),
            None => panic!("license without an id {license} in {}", reply.text),
        })
        .collect()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_users_licenses_are_listed_a_page_at_a_time_in_id_order() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let user = user_id_of(&h.login(&unique_phone()).await);
    let mut theirs = Vec::new();
    for product in ["editor", "exporter", "plugins"] {
        let issued = vendor
            .issue(json!({ "user_id": user, "product": product }))
            .await;
        assert_eq!(issued.license["user_id"], user.as_str());
        theirs.push(issued);
    }
    let nobodys = vendor.issue(json!({ "product": "editor" })).await;
    let their_ids = sorted(theirs.iter().map(|issued| issued.id.clone()).collect());

    // Act
    let all_of_theirs = vendor.list(json!({ "user_id": user })).await;
    let first = vendor.list(json!({ "user_id": user, "limit": 2 })).await;
    let second = vendor
        .list(json!({ "user_id": user, "limit": 2, "cursor": first.str("next_cursor") }))
        .await;
    let everything = vendor.list(json!({})).await;

    // Assert
    assert_eq!(listed_ids(&all_of_theirs), their_ids);
    assert!(
        all_of_theirs.body["next_cursor"].is_null(),
        "{}",
        all_of_theirs.text
    );
    assert_eq!(listed_ids(&first), &their_ids[..2]);
    assert_eq!(listed_ids(&second), &their_ids[2..]);
    assert!(second.body["next_cursor"].is_null(), "{}", second.text);
    let mut every_id = their_ids.clone();
    every_id.push(nobodys.id.clone());
    assert_eq!(listed_ids(&everything), sorted(every_id));
    for issued in theirs.iter().chain([&nobodys]) {
        assert_no_key(&everything, &issued.key);
    }
    let listed: &Value = &all_of_theirs.body["licenses"][0];
    assert_eq!(listed["user_id"], user.as_str(), "{listed}");
    assert_eq!(listed["activations"], 0, "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_user_and_tenant_filters_combine() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let tenant = unique_slug("school");
    h.post(
        "/tenants/create",
        json!({ "slug": tenant, "name": "A School" }),
    )
    .await
    .assert_ok();
    let user = user_id_of(&h.login(&unique_phone()).await);
    let both = vendor
        .issue(json!({ "user_id": user, "tenant": tenant }))
        .await;
    let user_only = vendor.issue(json!({ "user_id": user })).await;
    let tenant_only = vendor.issue(json!({ "tenant": tenant })).await;
    vendor.issue(json!({})).await;

    // Act
    let by_user = vendor.list(json!({ "user_id": user })).await;
    let by_tenant = vendor.list(json!({ "tenant": tenant })).await;
    let by_both = vendor
        .list(json!({ "user_id": user, "tenant": tenant }))
        .await;

    // Assert
    assert_eq!(both.license["tenant"], tenant.as_str());
    assert_eq!(
        listed_ids(&by_user),
        sorted(vec![both.id.clone(), user_only.id.clone()])
    );
    assert_eq!(
        listed_ids(&by_tenant),
        sorted(vec![both.id.clone(), tenant_only.id.clone()])
    );
    assert_eq!(listed_ids(&by_both), std::slice::from_ref(&both.id));
}
