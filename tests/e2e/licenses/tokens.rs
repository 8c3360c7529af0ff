//! The license token: what a client checks offline, against the app's JWKS, without calling back.

use jsonwebtoken::{Algorithm, decode_header};
use serde_json::{Value, json};
use time::Duration;

use super::{Vendor, now, rfc3339};
use crate::support::jwt::{LICENSE_TOKEN_TYP, fetch_jwks, jwks_keys, verify_license_token};
use crate::support::{Harness, unique_slug};

/// base64url without padding of a 32-byte digest: 43 characters of `A–Z a–z 0–9 - _`.
#[track_caller]
fn assert_device_hash(claims: &Value) -> String {
    let device = claims["device"].as_str().unwrap_or_default();
    assert!(
        device.len() == 43
            && device
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "device is not base64url of a SHA-256: {claims}"
    );
    device.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_license_token_is_an_rs256_license_jwt_whose_key_is_in_the_jwks() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let key = vendor.issue_seats(1).await.key;

    // Act
    let token = vendor
        .activated(&key, "device-a")
        .await
        .str("license_token");
    let jwks = fetch_jwks(&h.server, &h.app).await;

    // Assert
    let header = decode_header(&token).expect("a JWT header");
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some(LICENSE_TOKEN_TYP));
    let kid = header.kid.expect("a kid in the token header");
    assert!(
        jwks_keys(&jwks)
            .iter()
            .any(|jwk| jwk["kid"] == kid.as_str()),
        "kid {kid} is not published in {jwks}"
    );
    let claims = verify_license_token(&token, &jwks, &h.app.app_slug)
        .unwrap_or_else(|error| panic!("license token does not verify offline: {error}"));
    assert!(
        claims["jti"].as_str().is_some_and(|jti| !jti.is_empty()),
        "{claims}"
    );
    assert!(
        verify_license_token(&token, &jwks, "some-other-app").is_err(),
        "the token verifies for another audience"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_device_claim_is_the_same_for_one_device_and_differs_between_devices() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let key = vendor.issue_seats(2).await.key;
    let on_a = vendor.activated(&key, "device-a").await;
    let on_b = vendor.activated(&key, "device-b").await;

    // Act
    let on_a_again = vendor.activated(&key, "device-a").await;

    // Assert
    let a = assert_device_hash(&vendor.token_claims(&on_a).await);
    let b = assert_device_hash(&vendor.token_claims(&on_b).await);
    let a_again = vendor.token_claims(&on_a_again).await;
    assert_ne!(a, b, "two devices, one device claim");
    assert_eq!(assert_device_hash(&a_again), a);
    assert_eq!(a_again["act"], on_a.body["activation"]["id"]);
    assert!(
        !on_a.text.contains("device-a"),
        "the fingerprint is echoed back: {}",
        on_a.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_license_token_never_outlives_its_license_nor_thirty_days() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let in_ten_days = now() + Duration::days(10);
    let in_a_year = now() + Duration::days(365);
    let short = vendor
        .issue(json!({ "expires_at": rfc3339(in_ten_days) }))
        .await;
    let long = vendor
        .issue(json!({ "expires_at": rfc3339(in_a_year) }))
        .await;
    let forever = vendor.issue(json!({})).await;

    // Act
    let mut exps = Vec::new();
    for issued in [&short, &long, &forever] {
        let activated = vendor.activated(&issued.key, "device-a").await;
        let claims = vendor.token_claims(&activated).await;
        exps.push(claims["exp"].as_i64().expect("an exp claim"));
    }

    // Assert
    let cap = (now() + Duration::days(30)).unix_timestamp();
    let floor = now().unix_timestamp();
    assert!(
        exps[0] <= in_ten_days.unix_timestamp() && exps[0] > floor,
        "exp {} is not within the license's ten days",
        exps[0]
    );
    for exp in &exps[1..] {
        assert!(
            *exp <= cap && *exp > floor,
            "exp {exp} is not within 30 days"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn product_and_entitlements_are_claimed_only_when_the_license_has_them() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let plain = vendor
        .issue(json!({ "metadata": { "order": "A-1001" } }))
        .await;
    let rich = vendor
        .issue(json!({
            "product": "studio",
            "metadata": {
                "order": "A-1002",
                "entitlements": { "export": true, "plugins": ["eq"] },
            },
        }))
        .await;

    // Act
    let plain_claims = vendor
        .token_claims(&vendor.activated(&plain.key, "device-a").await)
        .await;
    let rich_claims = vendor
        .token_claims(&vendor.activated(&rich.key, "device-a").await)
        .await;

    // Assert
    assert!(plain_claims["product"].is_null(), "{plain_claims}");
    assert!(plain_claims["entitlements"].is_null(), "{plain_claims}");
    assert!(plain_claims.get("order").is_none(), "{plain_claims}");
    assert_eq!(rich_claims["product"], "studio");
    assert_eq!(
        rich_claims["entitlements"],
        json!({ "export": true, "plugins": ["eq"] })
    );
    assert_eq!(rich.license["metadata"]["order"], "A-1002");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_license_token_of_one_app_does_not_verify_as_another_apps() {
    // Arrange
    let h = Harness::start().await;
    let app_b = h
        .server
        .create_app("Other App", &unique_slug("other"))
        .await;
    let vendor = Vendor::of(&h);
    let key = vendor.issue_seats(1).await.key;
    let token = vendor
        .activated(&key, "device-a")
        .await
        .str("license_token");

    // Act
    let b_jwks = fetch_jwks(&h.server, &app_b).await;
    let as_b = verify_license_token(&token, &b_jwks, &app_b.app_slug);

    // Assert
    assert!(as_b.is_err(), "app A's license token verified as app B's");
}
