//! The verification library for backends (`auth-engine-verify`) against the real engine: its JWKS
//! fetched over HTTP, and the access and license tokens it really issues.

use auth_engine_verify::{HttpJwks, Options, Verifier, VerifyError};
use serde_json::json;

use crate::support::{Harness, PUBLIC_URL, unique_phone};

/// A verifier for `app_slug` with the harness engine's keys. The engine names itself by
/// `AUTH_PUBLIC_URL`; its JWKS is fetched where this test reaches it.
fn verifier_for(h: &Harness, app_slug: &str) -> Verifier {
    let jwks = HttpJwks::new(h.server.url(&format!("/apps/{}/jwks.json", h.app.app_slug)));
    Verifier::with_source(PUBLIC_URL, app_slug, jwks, Options::default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_library_verifies_the_engines_access_and_license_tokens_with_its_published_keys() {
    // Arrange
    let h = Harness::start().await;
    let login = h.login(&unique_phone()).await;
    let access_token = login.str("access_token");
    let issued = h
        .post("/licenses/generate", json!({ "max_activations": 1 }))
        .await;
    let key = issued.body["license"]["key"].as_str().unwrap_or_default();
    let activated = h
        .post(
            "/licenses/activate",
            json!({ "key": key, "device_fingerprint": "laptop-1" }),
        )
        .await;
    activated.assert_ok();
    let unreachable = Verifier::with_source(
        PUBLIC_URL,
        &h.app.app_slug,
        HttpJwks::new("http://127.0.0.1:9/jwks.json"),
        Options::default(),
    );

    // Act
    let verifier = verifier_for(&h, &h.app.app_slug);
    let access = verifier.verify_access(&access_token).await;
    let license = verifier
        .verify_license(&activated.str("license_token"))
        .await;
    let license_as_access = verifier
        .verify_access(&activated.str("license_token"))
        .await;
    let for_another_app = verifier_for(&h, "another-app")
        .verify_access(&access_token)
        .await;
    let without_keys = unreachable.verify_access(&access_token).await;

    // Assert
    let access = access.unwrap();
    assert_eq!(json!(access.sub), login.body["user"]["id"]);
    assert_eq!(json!(access.sid), login.body["session_id"]);
    assert_eq!(json!(license.unwrap().sub), issued.body["license"]["id"]);
    assert!(matches!(
        license_as_access,
        Err(VerifyError::Invalid { .. })
    ));
    assert!(matches!(for_another_app, Err(VerifyError::Invalid { .. })));
    assert_eq!(without_keys.unwrap_err().code(), "service_unavailable");
}
