//! The sandbox: an app a stranger makes in the portal cannot send codes to anyone but its owner and
//! the owner's test identifiers, until the operator approves it.

use serde_json::json;

use super::{approve, create_app, recorded, signed_in_as};
use crate::support::{
    Harness, TestServerBuilder, on_both_backends, send_otp, send_otp_to_phone, unique_email,
    unique_phone,
};

/// How many codes the gateway was asked to deliver to `to`.
fn delivered_to(h: &Harness, to: &str) -> usize {
    h.sink
        .deliveries()
        .iter()
        .filter(|delivery| delivery.body["to"] == json!(to))
        .count()
}

on_both_backends!(a_portal_app_sends_only_to_its_owner_and_testers_until_approved);
async fn a_portal_app_sends_only_to_its_owner_and_testers_until_approved(
    builder: TestServerBuilder,
) {
    // Arrange: a stranger signs up to the portal and makes an app.
    let h = Harness::start_with(builder).await;
    let owner = unique_email();
    let mut visitor = signed_in_as(&h, &owner).await;
    let (app, token) = create_app(&mut visitor, "stranger-app").await;
    let victim = unique_phone();
    let tester = unique_phone();

    // Act / Assert: a victim's number is refused, and the gateway receives nothing.
    let refused = send_otp_to_phone(&h.server, &app, &victim).await;
    refused.assert_error(403, "app_in_sandbox");
    assert_eq!(delivered_to(&h, &victim), 0);
    let page = visitor.get("/portal/apps/stranger-app").await;
    assert!(page.body.contains("In the sandbox"), "{}", page.body);
    assert!(
        page.body
            .contains(r#"action="/portal/apps/stranger-app/sandbox""#),
        "the app's page has no form for test identifiers: {}",
        page.body
    );

    // The owner's own address and a listed test number are delivered to.
    send_otp(&h.server, &app, json!({ "email": owner }))
        .await
        .assert_ok();
    let added = visitor
        .post(
            "/portal/apps/stranger-app/sandbox",
            &[("csrf", &token), ("identifier", &tester)],
        )
        .await;
    assert_eq!(added.status, 303, "{}", added.body);
    send_otp_to_phone(&h.server, &app, &tester)
        .await
        .assert_ok();
    let listed = visitor.get("/portal/apps/stranger-app/sandbox").await;
    assert!(listed.body.contains(&tester), "{}", listed.body);
    let removed = visitor
        .post(
            "/portal/apps/stranger-app/sandbox/remove",
            &[("csrf", &token), ("identifier", &tester)],
        )
        .await;
    assert_eq!(removed.status, 303, "{}", removed.body);
    send_otp_to_phone(&h.server, &app, &tester)
        .await
        .assert_error(403, "app_in_sandbox");

    // The operator approves: the victim's number would now go out; then back in the sandbox.
    approve(&h, "stranger-app").await;
    send_otp_to_phone(&h.server, &app, &victim)
        .await
        .assert_ok();
    let page = visitor.get("/portal/apps/stranger-app").await;
    assert!(page.body.contains("Approved"), "{}", page.body);
    let sandboxed = h
        .server
        .run_cli(&["apps", "sandbox", "--slug", "stranger-app"])
        .await;
    assert!(sandboxed.status.success());
    crate::support::until_the_change_is_heard().await;
    send_otp_to_phone(&h.server, &app, &unique_phone())
        .await
        .assert_error(403, "app_in_sandbox");

    // Every step is on the record.
    assert_eq!(recorded(&h, &app, "app_approved").await.len(), 1);
    assert_eq!(recorded(&h, &app, "app_sandboxed").await.len(), 1);
    assert_eq!(recorded(&h, &app, "test_identifier_added").await.len(), 1);
    assert_eq!(recorded(&h, &app, "test_identifier_removed").await.len(), 1);
    assert_eq!(recorded(&h, &app, "sandbox_refused").await.len(), 3);
    let portal = h
        .server
        .run_cli(&["apps", "sandbox", "--slug", "portal"])
        .await;
    assert!(
        !portal.status.success(),
        "the portal's own app was sandboxed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_app_has_at_most_ten_test_identifiers_and_an_operators_app_is_approved() {
    // Arrange
    let h = Harness::start().await;
    let mut visitor = signed_in_as(&h, &unique_email()).await;
    let (_, token) = create_app(&mut visitor, "tested-app").await;
    for _ in 0..10 {
        let added = visitor
            .post(
                "/portal/apps/tested-app/sandbox",
                &[("csrf", &token), ("identifier", &unique_email())],
            )
            .await;
        assert_eq!(added.status, 303, "{}", added.body);
    }

    // Act
    let eleventh = visitor
        .post(
            "/portal/apps/tested-app/sandbox",
            &[("csrf", &token), ("identifier", &unique_email())],
        )
        .await;
    let stranger_of_the_operators_app = h.send_otp_to_phone(&unique_phone()).await;

    // Assert
    assert_eq!(eleventh.status, 400, "{}", eleventh.body);
    assert!(eleventh.body.contains("at most 10"), "{}", eleventh.body);
    stranger_of_the_operators_app.assert_ok();
}
