//! Roles over time: given before sign-up, carried by (scoped) tokens, seen at once by /auth/me and by
//! tokens at the next refresh, and optionally ending the user's sessions when taken away.

use serde_json::json;

use super::{Admin, configure_revoke_sessions_on_role_change, member_id, memberships};
use crate::support::{Harness, TestServer, unique_phone};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_school_admin_gives_and_takes_roles_and_tokens_follow_at_the_next_refresh() {
    // Arrange: the school exists and the teacher's role is given before she ever signs in.
    let h =
        Harness::start_with(TestServer::builder().env("AUTH_OTP_RESEND_COOLDOWN_SECS", "0")).await;
    let admin = Admin::of(&h);
    let school = admin.new_tenant("springfield-elementary").await;
    let phone = unique_phone();
    let assigned = admin.assign(&school, "teacher", ("phone", &phone)).await;
    let user_id = member_id(&assigned);
    assert!(user_id.starts_with("usr_"), "{}", assigned.text);
    assert_eq!(assigned.body["membership"]["tenant"], school.as_str());
    assert_eq!(assigned.body["membership"]["roles"], json!(["teacher"]));

    // Act: her first login.
    let first_login = h.login(&phone).await;

    // Assert: she is the user the assignment created, and her token already carries the role.
    assert_eq!(first_login.body["user"]["id"], user_id.as_str());
    let claims = admin.claims(&first_login).await;
    assert_eq!(claims["tenants"], json!({ school.as_str(): ["teacher"] }));
    for scoped_only in ["tenant", "roles", "tenants_truncated"] {
        assert!(
            claims.get(scoped_only).is_none(),
            "an unscoped token has `{scoped_only}`: {claims}"
        );
    }

    // Act: a login scoped to the school, then a refresh scoped to it.
    let (otp_request_id, code) = h.request_code(&phone).await;
    let scoped = admin.verify_scoped(&otp_request_id, &code, &school).await;
    let refreshed = admin
        .refresh_scoped(&scoped.str("refresh_token"), &school)
        .await;

    // Assert: both tokens name the school and carry its roles.
    for (step, tokens) in [("scoped login", &scoped), ("scoped refresh", &refreshed)] {
        let claims = admin.claims(tokens).await;
        assert_eq!(claims["tenant"], school.as_str(), "{step}: {claims}");
        assert_eq!(claims["roles"], json!(["teacher"]), "{step}: {claims}");
        assert_eq!(
            claims["tenants"],
            json!({ school.as_str(): ["teacher"] }),
            "{step}: {claims}"
        );
    }

    // Act: a second role.
    let second = admin.assign(&school, "grader", ("user_id", &user_id)).await;
    let live = h.me(&refreshed.str("access_token")).await;

    // Assert: /auth/me sees it at once; the token in hand still says what was true at its issue.
    second.assert_ok();
    assert_eq!(
        second.body["membership"]["roles"],
        json!(["grader", "teacher"])
    );
    live.assert_ok();
    assert_eq!(
        live.body["tenants"],
        json!({ school.as_str(): ["grader", "teacher"] })
    );
    assert_eq!(admin.claims(&refreshed).await["roles"], json!(["teacher"]));

    // Act: the teacher role is taken away, then the session refreshes.
    let revoked = admin
        .revoke(&school, "teacher", ("user_id", &user_id))
        .await;
    let after_revoke = admin
        .refresh_scoped(&refreshed.str("refresh_token"), &school)
        .await;

    // Assert
    revoked.assert_ok();
    assert_eq!(revoked.body["membership"]["roles"], json!(["grader"]));
    let claims = admin.claims(&after_revoke).await;
    assert_eq!(claims["roles"], json!(["grader"]), "{claims}");
    assert_eq!(claims["tenants"], json!({ school.as_str(): ["grader"] }));

    // Act: the last role goes too.
    let emptied = admin.revoke(&school, "grader", ("user_id", &user_id)).await;
    let listed = admin.list_roles(json!({ "user_id": user_id })).await;
    let scoped_again = admin
        .refresh_scoped(&after_revoke.str("refresh_token"), &school)
        .await;
    let unscoped = h.refresh(&after_revoke.str("refresh_token")).await;

    // Assert: no membership is left, so the school can no longer be asked for.
    emptied.assert_ok();
    assert_eq!(emptied.body["membership"]["roles"], json!([]));
    assert!(memberships(&listed).is_empty(), "{}", listed.text);
    scoped_again.assert_error(404, "tenant_not_found");
    assert_eq!(admin.claims(&unscoped).await["tenants"], json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn by_default_revoking_a_role_leaves_the_users_sessions_alive() {
    // Arrange
    let h = Harness::start().await;
    let admin = Admin::of(&h);
    let school = admin.new_tenant("school").await;
    let phone = unique_phone();
    admin
        .assign(&school, "teacher", ("phone", &phone))
        .await
        .assert_ok();
    let login = h.login(&phone).await;

    // Act
    let revoked = admin.revoke(&school, "teacher", ("phone", &phone)).await;
    let me = h.me(&login.str("access_token")).await;
    let refreshed = h.refresh(&login.str("refresh_token")).await;

    // Assert
    revoked.assert_ok();
    me.assert_ok();
    assert_eq!(me.body["tenants"], json!({}), "{}", me.text);
    assert_eq!(admin.claims(&refreshed).await["tenants"], json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_revoke_sessions_on_role_change_a_revoke_signs_the_user_out_everywhere() {
    // Arrange
    let h =
        Harness::start_with(TestServer::builder().env("AUTH_OTP_RESEND_COOLDOWN_SECS", "0")).await;
    configure_revoke_sessions_on_role_change(&h, true).await;
    let admin = Admin::of(&h);
    let school = admin.new_tenant("school").await;
    let (phone, colleague) = (unique_phone(), unique_phone());
    for who in [&phone, &colleague] {
        admin
            .assign(&school, "teacher", ("phone", who))
            .await
            .assert_ok();
    }
    let on_laptop = h.login(&phone).await;
    let on_phone = h.login(&phone).await;
    let colleagues_session = h.login(&colleague).await;

    // Act
    let revoked = admin.revoke(&school, "teacher", ("phone", &phone)).await;

    // Assert
    revoked.assert_ok();
    assert_eq!(revoked.body["membership"]["roles"], json!([]));
    for session in [&on_laptop, &on_phone] {
        h.refresh(&session.str("refresh_token"))
            .await
            .assert_error(401, "session_revoked");
        h.me(&session.str("access_token"))
            .await
            .assert_error(401, "session_revoked");
    }
    h.refresh(&colleagues_session.str("refresh_token"))
        .await
        .assert_ok();
    let signed_in_again = h.login(&phone).await;
    assert_eq!(admin.claims(&signed_in_again).await["tenants"], json!({}));
}
