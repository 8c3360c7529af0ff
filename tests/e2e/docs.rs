//! docs/01, 02, 03, 05 and 06 stay true: their marked requests are sent to a real engine, and the
//! real answers must have exactly the documented shape ([`Doc`]).

use serde_json::json;

use crate::support::docs::Doc;
use crate::support::jwt::{fetch_jwks, verified_claims};
use crate::support::{Harness, TestServer};

const GETTING_STARTED: Doc = Doc {
    name: "docs/01",
    text: include_str!("../../docs/01-getting-started.md"),
    exact: &["channel", "token_type", "is_new_user", "phone"],
};

const OTP: Doc = Doc {
    name: "docs/02",
    text: include_str!("../../docs/02-otp-authentication.md"),
    exact: &[
        "channel",
        "destination_hint",
        "error",
        "message",
        "attempts_remaining",
    ],
};

const ERRORS: Doc = Doc {
    name: "docs/06",
    text: include_str!("../../docs/06-error-reference.md"),
    exact: &["error", "message"],
};

const TOKENS: Doc = Doc {
    name: "docs/03",
    text: include_str!("../../docs/03-token-management.md"),
    exact: &[
        "token_type",
        "phone",
        "tenants",
        "kty",
        "use",
        "alg",
        "e",
        "error",
        "message",
        "revoked_sessions",
    ],
};

const ROLES: Doc = Doc {
    name: "docs/05",
    text: include_str!("../../docs/05-roles-and-tenants.md"),
    // A cursor is opaque: only its type is documented.
    exact: &["slug", "name", "tenant", "roles"],
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_getting_started_sign_in_answers_as_documented() {
    // Arrange
    let h = Harness::start().await;

    // Act: the documented requests, as they are, with the real request id and code.
    let sent = h
        .post(
            "/auth/send-otp",
            GETTING_STARTED.request("send-otp-request"),
        )
        .await;
    let otp_request_id = sent.str("otp_request_id");
    let mut verify = GETTING_STARTED.request("verify-otp-request");
    verify["otp_request_id"] = json!(otp_request_id);
    verify["otp"] = json!(h.sink.code_for(&otp_request_id).await);
    let verified = h.post("/auth/verify-otp", verify).await;

    // Assert
    sent.assert_ok();
    GETTING_STARTED.assert_same_shape("send-otp-response", &sent.body);
    verified.assert_ok();
    GETTING_STARTED.assert_same_shape("verify-otp-response", &verified.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_token_management_examples_answer_as_documented() {
    // Arrange: the documented person holds the documented role, and replaced tokens count as
    // reused at once, so reuse needs no waiting.
    let builder = TestServer::builder()
        .env("AUTH_REFRESH_REUSE_GRACE_SECS", "0")
        .env("AUTH_OTP_RESEND_COOLDOWN_SECS", "0");
    let h = Harness::start_with(builder).await;
    let documented = TOKENS.example("access-token-claims");
    let phone = documented["phone"].as_str().unwrap_or_default();
    h.give_role("springfield", "teacher", phone).await;
    let first = h.login(phone).await;
    let second = h.login(phone).await;

    // Act
    let access_token = first.str("access_token");
    let claims = verified_claims(&h.server, &h.app, &access_token).await;
    let jwks = fetch_jwks(&h.server, &h.app).await;
    let me = h.me(&access_token).await;
    let mut refresh = TOKENS.request("refresh-request");
    refresh["refresh_token"] = json!(first.str("refresh_token"));
    let refreshed = h.post("/auth/refresh", refresh.clone()).await;
    let reused = h.post("/auth/refresh", refresh).await;
    let mut logout = TOKENS.request("logout-request");
    logout["refresh_token"] = json!(second.str("refresh_token"));
    let logged_out = h.post("/auth/logout", logout).await;

    // Assert
    TOKENS.assert_same_shape("access-token-claims", &claims);
    TOKENS.assert_same_shape("jwks-response", &jwks);
    me.assert_ok();
    TOKENS.assert_same_shape("me-response", &me.body);
    refreshed.assert_ok();
    TOKENS.assert_same_shape("refresh-response", &refreshed.body);
    reused.assert_error(401, "refresh_token_reused");
    TOKENS.assert_same_shape("refresh-reused-error", &reused.body);
    logged_out.assert_ok();
    TOKENS.assert_same_shape("logout-response", &logged_out.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_roles_and_tenants_examples_answer_as_documented() {
    // Arrange: the two schools the list example shows, and a third so that there is a next page.
    let h = Harness::start().await;
    let created = h
        .post("/tenants/create", ROLES.request("tenants-create-request"))
        .await;
    for (slug, name) in [
        ("shelbyville-high", "Shelbyville High"),
        ("springfield-high", "Springfield High"),
    ] {
        h.post("/tenants/create", json!({ "slug": slug, "name": name }))
            .await
            .assert_ok();
    }

    // Act
    let listed = h
        .post("/tenants/list", ROLES.request("tenants-list-request"))
        .await;
    let assign = ROLES.request("roles-assign-request");
    let assigned = h.post("/roles/assign", assign.clone()).await;
    let mut grader = assign.clone();
    grader["role"] = json!("grader");
    h.post("/roles/assign", grader).await.assert_ok();
    let members = h
        .post("/roles/list", ROLES.request("roles-list-request"))
        .await;
    // "The same fields as /roles/assign".
    let revoked = h.post("/roles/revoke", assign).await;

    // Assert
    for (name, reply) in [
        ("tenants-create-response", &created),
        ("tenants-list-response", &listed),
        ("roles-assign-response", &assigned),
        ("roles-list-response", &members),
        ("roles-revoke-response", &revoked),
    ] {
        reply.assert_ok();
        ROLES.assert_same_shape(name, &reply.body);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_otp_examples_answer_as_documented() {
    // Arrange
    let h = Harness::start().await;

    // Act
    let sent = h
        .post("/auth/send-otp", OTP.request("send-otp-email-request"))
        .await;
    let mut wrong = OTP.request("verify-wrong-code-request");
    wrong["otp_request_id"] = json!(sent.str("otp_request_id"));
    let code = h.sink.code_for(&sent.str("otp_request_id")).await;
    if wrong["otp"] == json!(code) {
        wrong["otp"] = json!(crate::support::wrong_code(&code));
    }
    let refused = h.post("/auth/verify-otp", wrong).await;

    // Assert
    sent.assert_ok();
    OTP.assert_same_shape("send-otp-email-response", &sent.body);
    refused.assert_error(401, "otp_invalid");
    OTP.assert_same_shape("verify-wrong-code-error", &refused.body);
    ERRORS.assert_same_shape("error-envelope", &refused.body);
}
