//! The portal's tenants-and-roles and users-and-sessions pages over HTTP: what a developer does there
//! reaches the API's tokens and sessions at once, is recorded as the developer's act, and stays
//! closed to another developer.

use serde_json::json;

use super::{approve, create_app, recorded, signed_in_visitor};
use crate::support::{Harness, TestServer, login, me, post, refresh, unique_phone};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tenants_and_roles_made_in_the_portal_reach_the_next_token() {
    // Arrange
    let h = Harness::start().await;
    let mut visitor = signed_in_visitor(&h).await;
    let (app, token) = create_app(&mut visitor, "schools-app").await;
    approve(&h, "schools-app").await;
    let phone = unique_phone();
    let signed_in = login(&h.server, &app, &h.sink, &phone).await;
    let user_id = signed_in.body["user"]["id"].as_str().unwrap().to_owned();
    let tenants = "/portal/apps/schools-app/tenants";
    let springfield = format!("{tenants}/springfield");

    // Act
    let bad_slug = visitor
        .post(
            tenants,
            &[("csrf", &token), ("slug", "Not A Slug"), ("name", "X")],
        )
        .await;
    let created = visitor
        .post(
            tenants,
            &[
                ("csrf", &token),
                ("slug", "springfield"),
                ("name", "Springfield"),
            ],
        )
        .await;
    let again = visitor
        .post(
            tenants,
            &[("csrf", &token), ("slug", "springfield"), ("name", "Again")],
        )
        .await;
    let bad_role = visitor
        .post(
            &format!("{springfield}/roles"),
            &[("csrf", &token), ("user", &phone), ("role", "Teacher!")],
        )
        .await;
    let assigned = visitor
        .post(
            &format!("{springfield}/roles"),
            &[("csrf", &token), ("user", &phone), ("role", "teacher")],
        )
        .await;
    let members = visitor.get(&springfield).await;
    let listed = visitor.get(tenants).await;
    let refreshed = refresh(&h.server, &app, &signed_in.str("refresh_token")).await;
    let claims =
        crate::support::jwt::verified_claims(&h.server, &app, &refreshed.str("access_token")).await;
    let taken = visitor
        .post(
            &format!("{springfield}/roles/revoke"),
            &[("csrf", &token), ("user", &user_id), ("role", "teacher")],
        )
        .await;
    let after_taking = post(
        &h.server,
        &app,
        "/roles/list",
        json!({ "user_id": user_id }),
    )
    .await;

    // Assert
    assert_eq!(bad_slug.status, 400);
    assert!(bad_slug.body.contains("slug:"), "{}", bad_slug.body);
    assert_eq!(created.status, 303, "{}", created.body);
    assert_eq!(created.header("location"), springfield);
    assert_eq!(again.status, 409);
    assert!(again.body.contains("<code>tenant_exists</code>"));
    assert_eq!(bad_role.status, 400);
    assert!(bad_role.body.contains("role:"), "{}", bad_role.body);
    assert_eq!(assigned.status, 303, "{}", assigned.body);
    assert!(members.body.contains(&user_id), "{}", members.body);
    assert!(members.body.contains("<code>teacher</code>"));
    assert!(listed.body.contains("Springfield"), "{}", listed.body);
    assert_eq!(claims["tenants"], json!({ "springfield": ["teacher"] }));
    assert_eq!(taken.status, 303, "{}", taken.body);
    after_taking.assert_ok();
    assert_eq!(after_taking.body["memberships"], json!([]));
    for event in ["tenant_created", "role_assigned", "role_revoked"] {
        let records = recorded(&h, &app, event).await;
        assert_eq!(records.len(), 1, "{event}: {records:?}");
        assert_eq!(records[0]["actor"], "developer", "{event}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_developer_ends_one_session_then_every_session_of_a_user() {
    // Arrange: one person signs in twice in a row.
    let builder = TestServer::builder().env("AUTH_OTP_RESEND_COOLDOWN_SECS", "0");
    let h = Harness::start_with(builder).await;
    let mut visitor = signed_in_visitor(&h).await;
    let (app, token) = create_app(&mut visitor, "sessions-app").await;
    approve(&h, "sessions-app").await;
    let phone = unique_phone();
    let on_phone = login(&h.server, &app, &h.sink, &phone).await;
    let on_laptop = login(&h.server, &app, &h.sink, &phone).await;
    let user_id = on_phone.body["user"]["id"].as_str().unwrap().to_owned();
    let user_page = format!("/portal/apps/sessions-app/users/{user_id}");
    let revoke = format!("{user_page}/revoke");

    // Act
    let everyone = visitor.get("/portal/apps/sessions-app/users").await;
    let found = visitor
        .get(&format!(
            "/portal/apps/sessions-app/users?q=%2B{}",
            &phone[1..]
        ))
        .await;
    let bad_search = visitor.get("/portal/apps/sessions-app/users?q=12345").await;
    let before = visitor.get(&user_page).await;
    let ended_one = visitor
        .post(
            &revoke,
            &[("csrf", &token), ("session", &on_phone.str("session_id"))],
        )
        .await;
    let phone_refresh = refresh(&h.server, &app, &on_phone.str("refresh_token")).await;
    let phone_me = me(&h.server, &on_phone.str("access_token")).await;
    let laptop_refresh = refresh(&h.server, &app, &on_laptop.str("refresh_token")).await;
    let ended_all = visitor
        .post(&revoke, &[("csrf", &token), ("session", "")])
        .await;
    let laptop_after = refresh(&h.server, &app, &laptop_refresh.str("refresh_token")).await;
    let after = visitor.get(&user_page).await;

    // Assert
    assert_eq!(everyone.status, 200);
    assert!(everyone.body.contains(&user_id), "{}", everyone.body);
    assert!(everyone.body.contains("<td>2</td>"), "two live sessions");
    assert!(found.body.contains(&user_id), "{}", found.body);
    assert_eq!(bad_search.status, 400);
    assert!(bad_search.body.contains("phone:"), "{}", bad_search.body);
    assert_eq!(before.body.matches(">live<").count(), 2, "{}", before.body);
    assert_eq!(ended_one.status, 303, "{}", ended_one.body);
    phone_refresh.assert_error(401, "session_revoked");
    phone_me.assert_error(401, "session_revoked");
    laptop_refresh.assert_ok();
    assert_eq!(ended_all.status, 303, "{}", ended_all.body);
    laptop_after.assert_error(401, "session_revoked");
    assert_eq!(after.body.matches(">live<").count(), 0, "{}", after.body);
    assert!(!after.body.contains("End every session"));
    let records = recorded(&h, &app, "session_revoked").await;
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(records.iter().all(|r| r["actor"] == "developer"));
    assert_eq!(records[1]["details"]["revoked_sessions"], 1);
    assert_eq!(records[1]["details"]["all_sessions"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn another_developer_can_neither_see_nor_change_the_apps_people() {
    // Arrange
    let h = Harness::start().await;
    let mut owner = signed_in_visitor(&h).await;
    let (app, owner_token) = create_app(&mut owner, "private-people").await;
    approve(&h, "private-people").await;
    let tenants = "/portal/apps/private-people/tenants";
    owner
        .post(
            tenants,
            &[("csrf", &owner_token), ("slug", "acme"), ("name", "Acme")],
        )
        .await;
    let signed_in = login(&h.server, &app, &h.sink, &unique_phone()).await;
    let user_id = signed_in.body["user"]["id"].as_str().unwrap().to_owned();
    let user_page = format!("/portal/apps/private-people/users/{user_id}");
    let mut stranger = signed_in_visitor(&h).await;
    let token = stranger.get("/portal/apps/new").await.field("csrf");

    // Act
    let pages = [
        stranger.get(tenants).await,
        stranger.get(&format!("{tenants}/acme")).await,
        stranger.get("/portal/apps/private-people/users").await,
        stranger.get(&user_page).await,
    ];
    let create = stranger
        .post(
            tenants,
            &[("csrf", &token), ("slug", "intruders"), ("name", "X")],
        )
        .await;
    let assign = stranger
        .post(
            &format!("{tenants}/acme/roles"),
            &[("csrf", &token), ("user", &user_id), ("role", "admin")],
        )
        .await;
    let revoke = stranger
        .post(
            &format!("{user_page}/revoke"),
            &[("csrf", &token), ("session", "")],
        )
        .await;

    // Assert
    for page in pages.iter().chain([&create, &assign, &revoke]) {
        assert_eq!(page.status, 404, "{}", page.body);
    }
    let tenants_now = post(&h.server, &app, "/tenants/list", json!({})).await;
    assert_eq!(
        tenants_now.body["tenants"].as_array().map(Vec::len),
        Some(1)
    );
    let roles_now = post(
        &h.server,
        &app,
        "/roles/list",
        json!({ "user_id": user_id }),
    )
    .await;
    assert_eq!(roles_now.body["memberships"], json!([]));
    refresh(&h.server, &app, &signed_in.str("refresh_token"))
        .await
        .assert_ok();
}
