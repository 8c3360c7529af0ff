//! Apps are separate worlds (their tenants, users and memberships), and many identical assignments
//! at once leave one membership.

use std::collections::BTreeSet;

use serde_json::json;

use super::{Admin, member_id, memberships, role_change, tenant_slugs};
use crate::support::{Harness, Reply, fire_at_once, unique_phone, unique_slug};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_app_can_neither_see_nor_change_this_apps_tenants_and_users() {
    // Arrange
    let h = Harness::start().await;
    let app_b = h
        .server
        .create_app("Other App", &unique_slug("other"))
        .await;
    let (a, b) = (Admin::of(&h), Admin::for_app(&h.server, &app_b));
    let a_tenant = a.new_tenant("acme").await;
    let phone = unique_phone();
    let a_user = member_id(&a.assign(&a_tenant, "owner", ("phone", &phone)).await);
    let b_tenant = b.new_tenant("bravo").await;

    // Act
    let assign_in_a_tenant = b
        .assign(&a_tenant, "owner", ("phone", &unique_phone()))
        .await;
    let assign_to_a_user = b.assign(&b_tenant, "owner", ("user_id", &a_user)).await;
    let revoke_from_a_user = b.revoke(&b_tenant, "owner", ("user_id", &a_user)).await;
    let list_a_user = b.list_roles(json!({ "user_id": a_user })).await;
    let list_a_tenant = b.list_roles(json!({ "tenant": a_tenant })).await;
    let b_tenants = b.list_tenants(json!({})).await;
    let same_slug_in_b = b.create_tenant(&a_tenant).await;
    let same_phone_in_b = b.assign(&b_tenant, "owner", ("phone", &phone)).await;

    // Assert
    assign_in_a_tenant.assert_error(404, "tenant_not_found");
    assign_to_a_user.assert_error(404, "user_not_found");
    revoke_from_a_user.assert_error(404, "user_not_found");
    assert_reveals_nothing(&list_a_user, "user_not_found");
    assert_reveals_nothing(&list_a_tenant, "tenant_not_found");
    assert_eq!(tenant_slugs(&b_tenants), [b_tenant]);
    same_slug_in_b.assert_ok();
    assert_eq!(same_slug_in_b.body["tenant"]["slug"], a_tenant.as_str());
    assert_ne!(
        member_id(&same_phone_in_b),
        a_user,
        "one phone number is one user per app, not one user across apps"
    );
    let a_view = a.list_roles(json!({ "user_id": a_user })).await;
    assert_eq!(memberships(&a_view), [(a_user, a_tenant, json!(["owner"]))]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_assigns_of_one_role_leave_exactly_one_membership() {
    // Arrange
    let h = Harness::start().await;
    let admin = Admin::of(&h);
    let school = admin.new_tenant("school").await;
    let login = h.login(&unique_phone()).await;
    let user_id = login.body["user"]["id"]
        .as_str()
        .expect("user.id")
        .to_owned();
    let posts = (0..20)
        .map(|_| {
            let fields = role_change(&school, "teacher", ("user_id", &user_id));
            admin.prepare("/roles/assign", fields)
        })
        .collect();

    // Act
    let replies = fire_at_once(posts).await;

    // Assert
    for reply in &replies {
        reply.assert_ok();
        assert_eq!(
            reply.body["membership"]["roles"],
            json!(["teacher"]),
            "{}",
            reply.text
        );
    }
    let listed = admin.list_roles(json!({ "tenant": school })).await;
    assert_eq!(
        memberships(&listed),
        [(user_id, school, json!(["teacher"]))]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_assigns_by_phone_to_someone_new_create_one_user() {
    // Arrange
    let h = Harness::start().await;
    let admin = Admin::of(&h);
    let school = admin.new_tenant("school").await;
    let phone = unique_phone();
    let posts = (0..20)
        .map(|_| {
            let fields = role_change(&school, "teacher", ("phone", &phone));
            admin.prepare("/roles/assign", fields)
        })
        .collect();

    // Act
    let replies = fire_at_once(posts).await;

    // Assert
    let user_ids: BTreeSet<String> = replies.iter().map(member_id).collect();
    assert_eq!(
        user_ids.len(),
        1,
        "several users for one phone: {user_ids:?}"
    );
    let user_id = user_ids.into_iter().next().expect("one user id");
    let listed = admin.list_roles(json!({ "tenant": school })).await;
    assert_eq!(
        memberships(&listed),
        [(user_id.clone(), school, json!(["teacher"]))]
    );
    assert_eq!(h.login(&phone).await.body["user"]["id"], user_id.as_str());
}

/// Another app's user or tenant is either not found or has nothing to show, never its memberships.
#[track_caller]
fn assert_reveals_nothing(reply: &Reply, not_found: &str) {
    if reply.status == 200 {
        assert!(
            memberships(reply).is_empty(),
            "another app's memberships leaked: {}",
            reply.text
        );
    } else {
        reply.assert_error(404, not_found);
    }
}
