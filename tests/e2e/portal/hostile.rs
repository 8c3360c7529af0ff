//! The portal in hostile hands: forms posted without their fields or with control characters,
//! delivery caps past the operator's ceilings, app names that would disguise a text message, and
//! a stranger trying to keep a developer from signing in.

use serde_json::json;

use super::{Visitor, create_app, signed_in_visitor};
use crate::support::{Harness, TestServer, TestServerBuilder, on_both_backends, unique_email};

on_both_backends!(malformed_portal_forms_answer_the_portals_own_error_page);
async fn malformed_portal_forms_answer_the_portals_own_error_page(builder: TestServerBuilder) {
    // Arrange
    let h = Harness::start_with(builder).await;
    let mut visitor = signed_in_visitor(&h).await;
    let (_, token) = create_app(&mut visitor, "formed-app").await;

    // Act
    let without_csrf = visitor
        .post("/portal/sign-in", &[("identifier", "a@example.com")])
        .await;
    let without_name = visitor
        .post("/portal/apps", &[("csrf", &token), ("slug", "unnamed-app")])
        .await;
    let nul_product = visitor
        .post(
            "/portal/apps/formed-app/licenses",
            &[
                ("csrf", &token),
                ("product", "zqx\u{0}max"),
                ("max_activations", "1"),
            ],
        )
        .await;
    let nul_search = visitor.get("/portal/apps/formed-app/users?q=a%00b").await;
    let twice = visitor.get("/portal/apps/formed-app/users?q=a&q=b").await;

    // Assert: the catalogue code on the portal's page, never framework text.
    assert_eq!(without_csrf.status, 403, "{}", without_csrf.body);
    for page in [
        &without_csrf,
        &without_name,
        &nul_product,
        &nul_search,
        &twice,
    ] {
        assert!(
            page.header("content-type").starts_with("text/html"),
            "{}",
            page.body
        );
        assert!(page.body.contains("invalid_request"), "{}", page.body);
        assert!(!page.body.contains("Parse error"), "{}", page.body);
    }
    assert_eq!(without_name.status, 400, "{}", without_name.body);
    assert!(without_name.body.contains("name"), "{}", without_name.body);
    assert_eq!(nul_product.status, 400, "{}", nul_product.body);
    assert!(nul_product.body.contains("product"), "{}", nul_product.body);
    assert_eq!(nul_search.status, 400, "{}", nul_search.body);
    assert_eq!(twice.status, 400, "{}", twice.body);
    let licenses = visitor.get("/portal/apps/formed-app/licenses").await;
    assert!(!licenses.body.contains("zqx"), "a licence was made anyway");
}

on_both_backends!(caps_above_the_operators_ceiling_are_refused_and_nothing_is_saved);
async fn caps_above_the_operators_ceiling_are_refused_and_nothing_is_saved(
    builder: TestServerBuilder,
) {
    // Arrange
    let h = Harness::start_with(builder.env("AUTH_APP_SMS_PER_DAY_MAX", "500")).await;
    let mut visitor = signed_in_visitor(&h).await;
    let (_, token) = create_app(&mut visitor, "greedy-app").await;
    let settings = |sms_per_day: &str| {
        vec![
            ("csrf", token.clone()),
            ("access_ttl_secs", String::new()),
            ("reuse_grace_secs", String::new()),
            ("sms", "on".to_owned()),
            ("email", "on".to_owned()),
            ("sms_countries", "any".to_owned()),
            ("sms_per_day", sms_per_day.to_owned()),
            ("emails_per_day", "10".to_owned()),
        ]
    };

    // Act
    let huge = visitor
        .post_owned("/portal/apps/greedy-app/settings", &settings("4294967295"))
        .await;
    let above = visitor
        .post_owned("/portal/apps/greedy-app/settings", &settings("501"))
        .await;
    let page = visitor.get("/portal/apps/greedy-app/settings").await;

    // Assert: refused naming the field; the new app's cap is the ceiling, and it is unchanged.
    for refused in [&huge, &above] {
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(refused.body.contains("sms_per_day"), "{}", refused.body);
    }
    assert!(
        page.body
            .contains(r#"name="sms_per_day" type="number" min="0" required value="500""#),
        "{}",
        page.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn app_names_that_would_disguise_a_message_are_refused_in_the_portal() {
    // Arrange
    let h = Harness::start().await;
    let mut visitor = signed_in_visitor(&h).await;
    let token = visitor.get("/portal/apps/new").await.field("csrf");
    let long = "x".repeat(61);

    // Act / Assert
    for (name, slug) in [
        ("ACME Bank\u{202E}0010 555 008 1+ llac", "bidi-app"),
        ("ACME\u{200B}Bank", "zero-width-app"),
        (long.as_str(), "long-name-app"),
    ] {
        let refused = visitor
            .post(
                "/portal/apps",
                &[("csrf", &token), ("name", name), ("slug", slug)],
            )
            .await;
        assert_eq!(refused.status, 400, "{name:?}: {}", refused.body);
        assert!(refused.body.contains("name"), "{}", refused.body);
        let page = visitor.get(&format!("/portal/apps/{slug}")).await;
        assert_ne!(page.status, 200, "{slug} was created");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stranger_signing_in_as_a_developer_cannot_keep_them_out() {
    // Arrange: the portal behind a trusted proxy; the stranger and the developer at two addresses.
    let h =
        Harness::start_with(TestServer::builder().env("AUTH_TRUSTED_PROXIES", "127.0.0.1")).await;
    let developer = unique_email();
    let mut stranger = Visitor::new(&h.server);
    stranger.forwarded_for = Some("203.0.113.66".into());
    let csrf = stranger.get("/portal/sign-in").await.field("csrf");
    let sent = stranger
        .post(
            "/portal/sign-in",
            &[("csrf", &csrf), ("identifier", &developer)],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    let again = stranger
        .post(
            "/portal/sign-in",
            &[("csrf", &csrf), ("identifier", &developer)],
        )
        .await;

    // Act: the developer, from their own address, right after.
    let mut own = Visitor::new(&h.server);
    own.forwarded_for = Some("198.51.100.20".into());
    let csrf = own.get("/portal/sign-in").await.field("csrf");
    let own_sent = own
        .post(
            "/portal/sign-in",
            &[("csrf", &csrf), ("identifier", &developer)],
        )
        .await;
    let code = h.sink.code_for(&own_sent.field("otp_request_id")).await;
    let signed_in = own
        .post(
            "/portal/sign-in/code",
            &[
                ("csrf", &csrf),
                ("otp_request_id", &own_sent.field("otp_request_id")),
                ("hint", "x"),
                ("code", &code),
            ],
        )
        .await;

    // Assert: the stranger's resend is refused; the developer is not.
    assert_eq!(again.status, 429, "{}", again.body);
    assert_eq!(own_sent.status, 200, "{}", own_sent.body);
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let events = h
        .sink
        .deliveries()
        .iter()
        .filter(|delivery| delivery.body["to"] == json!(developer))
        .count();
    assert_eq!(events, 2);
}
