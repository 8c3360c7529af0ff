//! docs/04-license-keys.md stays true: its marked examples are sent as real requests, and the real
//! answers must have exactly the documented shape ([`Doc`]).

use serde_json::json;
use time::Duration;

use super::{Vendor, assert_key_format, check_holds, now, rfc3339, user_id_of};
use crate::support::docs::Doc;
use crate::support::{Harness, unique_phone};

const DOC: Doc = Doc {
    name: "docs/04",
    text: include_str!("../../../docs/04-license-keys.md"),
    // Fields whose documented value must be the real one, not just of the same JSON type.
    exact: &["code", "status", "valid"],
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_documented_examples_have_the_shape_of_real_answers() {
    // Arrange: the documented generate request, with a real user, its tenant created, and an expiry
    // a year from now instead of the document's fixed date.
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let mut generate = DOC.request("generate-request");
    if let Some(tenant) = generate["tenant"].as_str() {
        h.post("/tenants/create", json!({ "slug": tenant, "name": "Docs" }))
            .await
            .assert_ok();
    }
    if generate.get("user_id").is_some() {
        generate["user_id"] = json!(user_id_of(&h.login(&unique_phone()).await));
    }
    if generate.get("expires_at").is_some() {
        generate["expires_at"] = json!(rfc3339(now() + Duration::days(365)));
    }

    // Act
    let generated = vendor.generate(generate).await;
    generated.assert_ok();
    let key = generated.body["license"]["key"].clone();
    let mut activate = DOC.request("activate-request");
    activate["key"] = key.clone();
    let activated = vendor.post("/licenses/activate", activate).await;
    let mut verify = DOC.request("verify-request");
    verify["key"] = key;
    let verified = vendor.post("/licenses/verify", verify).await;
    let not_found = vendor
        .post("/licenses/verify", DOC.request("verify-not-found-request"))
        .await;
    let claims = vendor.token_claims(&activated).await;
    let header = {
        use base64::Engine as _;
        let token = activated.str("license_token");
        let encoded = token.split('.').next().unwrap_or_default();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(encoded)
            .unwrap_or_default();
        serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_default()
    };

    // Assert
    for (name, reply) in [
        ("generate-response", &generated),
        ("activate-response", &activated),
        ("verify-response", &verified),
        ("verify-not-found-response", &not_found),
    ] {
        reply.assert_ok();
        DOC.assert_same_shape(name, &reply.body);
    }
    DOC.assert_same_shape("license-token-claims", &claims);
    DOC.assert_same_shape("license-token-header", &header);
    assert_eq!(header["typ"], "license+jwt");
    // The documented `device` is SHA-256 of the documented fingerprint, worked out by hand.
    assert_eq!(
        claims["device"],
        DOC.example("license-token-claims")["device"],
        "the device claim is not base64url(SHA-256(device_fingerprint))"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_documented_deactivate_revoke_and_list_answer_as_documented() {
    // Arrange: a user's two licenses, as the list example shows them: a `pro` one with a device,
    // and a suspended `plugins` one.
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let user_id = user_id_of(&h.login(&unique_phone()).await);
    let pro = vendor
        .issue(json!({ "max_activations": 3, "product": "pro", "user_id": user_id }))
        .await;
    let plugins = vendor
        .issue(json!({ "max_activations": 1, "product": "plugins", "user_id": user_id }))
        .await;
    vendor
        .post("/licenses/suspend", json!({ "license_id": plugins.id }))
        .await
        .assert_ok();
    let mut deactivate = DOC.request("deactivate-request");
    deactivate["key"] = json!(pro.key);
    let device = deactivate["device_fingerprint"]
        .as_str()
        .unwrap_or_default();
    vendor.activated(&pro.key, device).await;

    // Act
    let deactivated = vendor.post("/licenses/deactivate", deactivate).await;
    let mut list = DOC.request("list-request");
    list["user_id"] = json!(user_id);
    let mut listed = vendor.post("/licenses/list", list).await;
    let mut revoke = DOC.request("revoke-request");
    revoke["license_id"] = json!(pro.id);
    let revoked = vendor.post("/licenses/revoke", revoke).await;

    // Assert: licenses list in id order, which is random here; the example shows `pro` first.
    if let Some(items) = listed.body["licenses"].as_array_mut() {
        items.sort_by_key(|license| license["product"] != "pro");
    }
    for (name, reply) in [
        ("deactivate-response", &deactivated),
        ("list-response", &listed),
        ("revoke-response", &revoked),
    ] {
        reply.assert_ok();
        DOC.assert_same_shape(name, &reply.body);
    }
}

#[test]
fn the_documented_keys_obey_the_documented_check() {
    // Arrange
    let documented_key = DOC.example("generate-response")["license"]["key"].clone();
    let documented_typo = DOC.example("verify-not-found-request")["key"].clone();

    // Act
    let key = documented_key.as_str().unwrap_or_default();
    let typo = documented_typo.as_str().unwrap_or_default();

    // Assert
    assert_key_format(key);
    for name in ["activate-request", "verify-request"] {
        assert_eq!(
            DOC.example(name)["key"],
            key,
            "example {name} uses another key"
        );
    }
    assert!(
        !check_holds(typo),
        "the documented typo {typo} passes the check"
    );
    let changed = key
        .chars()
        .zip(typo.chars())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        (changed, key.len()),
        (1, typo.len()),
        "the documented typo {typo} is not one symbol off {key}"
    );
}
