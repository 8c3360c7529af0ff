//! Tokens scoped to a tenant (`tenant` on verify-otp and refresh): refused, never ignored, when the
//! user is not a member, without using anything up; and the 64-tenant limit of a token.

use serde_json::{Map, Value, json};

use super::Admin;
use crate::support::{Harness, TestServer, unique_phone, wrong_code};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_scoped_to_a_tenant_without_membership_is_refused_and_the_code_stays_usable() {
    // Arrange
    let h = Harness::start().await;
    let admin = Admin::of(&h);
    let home = admin.new_tenant("home").await;
    let elsewhere = admin.new_tenant("elsewhere").await;
    let phone = unique_phone();
    admin
        .assign(&home, "member", ("phone", &phone))
        .await
        .assert_ok();
    let (otp_request_id, code) = h.request_code(&phone).await;

    // Act
    let not_a_member = admin
        .verify_scoped(&otp_request_id, &code, &elsewhere)
        .await;
    let no_such_tenant = admin
        .verify_scoped(&otp_request_id, &code, "no-such-tenant")
        .await;
    let wrong_guess = h.verify_otp(&otp_request_id, &wrong_code(&code)).await;
    let unscoped = h.verify_otp(&otp_request_id, &code).await;

    // Assert
    not_a_member.assert_error(404, "tenant_not_found");
    no_such_tenant.assert_error(404, "tenant_not_found");
    wrong_guess.assert_error(401, "otp_invalid");
    assert_eq!(
        wrong_guess.int("attempts_remaining"),
        4,
        "a refused scope cost the code an attempt: {}",
        wrong_guess.text
    );
    let claims = admin.claims(&unscoped).await;
    assert_eq!(claims["tenants"], json!({ home.as_str(): ["member"] }));
    assert!(claims.get("tenant").is_none(), "{claims}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_scoped_to_a_tenant_without_membership_is_refused_and_the_token_stays_current() {
    // Arrange: no retry grace, so had a refused call rotated the token, using it again would be reuse.
    let h =
        Harness::start_with(TestServer::builder().env("AUTH_REFRESH_REUSE_GRACE_SECS", "0")).await;
    let admin = Admin::of(&h);
    let home = admin.new_tenant("home").await;
    let elsewhere = admin.new_tenant("elsewhere").await;
    let phone = unique_phone();
    admin
        .assign(&home, "member", ("phone", &phone))
        .await
        .assert_ok();
    let login = h.login(&phone).await;
    let refresh_token = login.str("refresh_token");

    // Act
    let not_a_member = admin.refresh_scoped(&refresh_token, &elsewhere).await;
    let no_such_tenant = admin.refresh_scoped(&refresh_token, "no-such-tenant").await;
    let unscoped = h.refresh(&refresh_token).await;

    // Assert
    not_a_member.assert_error(404, "tenant_not_found");
    no_such_tenant.assert_error(404, "tenant_not_found");
    unscoped.assert_ok();
    let rotated = unscoped.str("refresh_token");
    assert_ne!(rotated, refresh_token, "the refresh did not rotate");
    h.refresh(&rotated).await.assert_ok();
    h.me(&login.str("access_token")).await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_in_more_than_64_tenants_gets_only_the_scoped_tenant_and_a_truncation_flag() {
    // Arrange
    let h =
        Harness::start_with(TestServer::builder().env("AUTH_OTP_RESEND_COOLDOWN_SECS", "0")).await;
    let admin = Admin::of(&h);
    let schools = admin.new_tenants("district", 70).await;
    let phone = unique_phone();
    admin.assign_everywhere(&schools, "teacher", &phone).await;
    let (one, another) = (schools[7].as_str(), schools[42].as_str());

    // Act
    let unscoped = h.login(&phone).await;
    let (otp_request_id, code) = h.request_code(&phone).await;
    let scoped_login = admin.verify_scoped(&otp_request_id, &code, one).await;
    let scoped_refresh = admin
        .refresh_scoped(&unscoped.str("refresh_token"), another)
        .await;

    // Assert
    let claims = admin.claims(&unscoped).await;
    assert_eq!(claims["tenants"], json!({}), "{claims}");
    assert_eq!(claims["tenants_truncated"], true, "{claims}");
    assert!(claims.get("tenant").is_none(), "{claims}");
    for (slug, tokens) in [(one, &scoped_login), (another, &scoped_refresh)] {
        let claims = admin.claims(tokens).await;
        assert_eq!(claims["tenants"], json!({ slug: ["teacher"] }), "{claims}");
        assert_eq!(claims["tenant"], slug, "{claims}");
        assert_eq!(claims["roles"], json!(["teacher"]), "{claims}");
        assert_eq!(claims["tenants_truncated"], true, "{claims}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_user_in_exactly_64_tenants_gets_them_all_and_no_truncation_flag() {
    // Arrange
    let h = Harness::start().await;
    let admin = Admin::of(&h);
    let schools = admin.new_tenants("district", 64).await;
    let phone = unique_phone();
    admin.assign_everywhere(&schools, "teacher", &phone).await;
    let expected: Map<String, Value> = schools
        .iter()
        .map(|slug| (slug.clone(), json!(["teacher"])))
        .collect();

    // Act
    let login = h.login(&phone).await;

    // Assert
    let claims = admin.claims(&login).await;
    assert_eq!(claims["tenants"], Value::Object(expected));
    assert!(claims.get("tenants_truncated").is_none(), "{claims}");
}
