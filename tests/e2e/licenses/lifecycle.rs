//! One license from generate to its final revocation, and a license that runs out.

use std::time::Duration as StdDuration;

use serde_json::json;
use time::Duration;

use super::{
    By, Vendor, assert_key_format, assert_no_key, assert_status, assert_verdict, instant,
    license_of, now, rfc3339, seats,
};
use crate::support::{Harness, PUBLIC_URL};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_license_lives_from_generate_through_suspension_to_final_revocation() {
    // Arrange
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let expires_at = now() + Duration::days(365);
    let (device_a, device_b) = ("fingerprint-of-laptop-a", "fingerprint-of-laptop-b");

    // Act: generate.
    let generated = vendor
        .generate(json!({
            "product": "pro",
            "max_activations": 2,
            "expires_at": rfc3339(expires_at),
            "metadata": { "entitlements": { "seats": 3 } },
        }))
        .await;

    // Assert
    generated.assert_ok();
    let license = license_of(&generated).clone();
    let key = generated.body["license"]["key"]
        .as_str()
        .expect("generate shows the key")
        .to_owned();
    let id = license["id"].as_str().expect("license.id").to_owned();
    assert_key_format(&key);
    assert_eq!(license["status"], "active");
    assert_eq!(license["product"], "pro");
    assert_eq!(license["max_activations"], 2);
    assert_eq!(license["activations"], 0);
    assert_eq!(instant(&license, "expires_at"), expires_at);
    assert!(
        license["user_id"].is_null() && license["tenant"].is_null(),
        "{license}"
    );
    assert_eq!(
        license["metadata"],
        json!({ "entitlements": { "seats": 3 } })
    );
    instant(&license, "created_at");

    // Act: device A takes a seat.
    let activated = vendor
        .post(
            "/licenses/activate",
            json!({ "key": key, "device_fingerprint": device_a, "device_name": "Ada's laptop" }),
        )
        .await;

    // Assert
    activated.assert_ok();
    assert_no_key(&activated, &key);
    let activation = &activated.body["activation"];
    let activation_id = activation["id"].as_str().unwrap_or_default().to_owned();
    assert!(activation_id.starts_with("act_"), "{}", activated.text);
    assert_eq!(activation["license_id"], id.as_str());
    assert_eq!(activation["device_name"], "Ada's laptop");
    instant(activation, "created_at");
    assert_eq!(seats(&activated), 1);
    let claims = vendor.token_claims(&activated).await;
    assert_eq!(claims["iss"], PUBLIC_URL);
    assert_eq!(claims["aud"], h.app.app_slug.as_str());
    assert_eq!(claims["sub"], id.as_str());
    assert_eq!(claims["act"], activation_id.as_str());
    assert_eq!(claims["app_id"], h.app.app_id.as_str());
    assert_eq!(claims["product"], "pro");
    assert_eq!(claims["entitlements"], json!({ "seats": 3 }));
    let exp = claims["exp"].as_i64().expect("an exp claim");
    assert!(
        exp <= expires_at.unix_timestamp(),
        "exp {exp} after the license expiry"
    );
    let thirty_days = (now() + Duration::days(30)).unix_timestamp();
    assert!(exp <= thirty_days, "exp {exp} more than 30 days ahead");
    for claim in ["iat", "nbf", "jti", "device"] {
        assert!(!claims[claim].is_null(), "no {claim} claim: {claims}");
    }

    // Act: check the key with and without a device.
    let on_a = vendor.verify(&key, Some(device_a)).await;
    let on_b = vendor.verify(&key, Some(device_b)).await;
    let anywhere = vendor.verify(&key, None).await;
    let listed = vendor.list(json!({})).await;

    // Assert
    assert_verdict(&on_a, "VALID");
    assert_eq!(seats(&on_a), 1);
    assert_verdict(&on_b, "DEVICE_MISMATCH");
    assert_verdict(&anywhere, "VALID");
    listed.assert_ok();
    assert_eq!(
        listed.body["licenses"][0]["id"],
        id.as_str(),
        "{}",
        listed.text
    );
    for reply in [&on_a, &on_b, &anywhere, &listed] {
        assert_no_key(reply, &key);
        assert!(
            !reply.text.contains("\"key\""),
            "a `key` field outside generate: {}",
            reply.text
        );
    }

    // Act: suspend, twice.
    let suspended = vendor.suspend(By::Key(&key)).await;
    let suspended_again = vendor.suspend(By::Id(&id)).await;

    // Assert
    assert_status(&suspended, "suspended");
    assert_eq!(seats(&suspended), 1, "suspending freed a seat");
    assert_status(&suspended_again, "suspended");
    assert_verdict(&vendor.verify(&key, Some(device_a)).await, "SUSPENDED");
    vendor
        .activate(&key, device_b)
        .await
        .assert_error(403, "license_suspended");
    // No fresh token while suspended, not even for the device that holds a seat.
    vendor
        .activate(&key, device_a)
        .await
        .assert_error(403, "license_suspended");

    // Act: reinstate.
    let reinstated = vendor.reinstate(By::Id(&id)).await;

    // Assert
    assert_status(&reinstated, "active");
    assert_verdict(&vendor.verify(&key, Some(device_a)).await, "VALID");

    // Act: device A gives its seat back.
    let deactivated = vendor.deactivate(&key, device_a).await;

    // Assert
    deactivated.assert_ok();
    assert_eq!(seats(&deactivated), 0);
    assert_verdict(&vendor.verify(&key, Some(device_a)).await, "NOT_ACTIVATED");

    // Act: revoke, then try to undo it.
    let revoked = vendor
        .post(
            "/licenses/revoke",
            json!({ "license_id": id, "reason": "refunded" }),
        )
        .await;
    let reinstate_revoked = vendor.reinstate(By::Key(&key)).await;
    let suspend_revoked = vendor.suspend(By::Id(&id)).await;
    let revoked_again = vendor.revoke(By::Key(&key)).await;

    // Assert
    assert_status(&revoked, "revoked");
    assert_verdict(&vendor.verify(&key, None).await, "REVOKED");
    reinstate_revoked.assert_error(403, "license_revoked");
    suspend_revoked.assert_error(403, "license_revoked");
    assert_status(&revoked_again, "revoked");
    vendor
        .activate(&key, device_a)
        .await
        .assert_error(403, "license_revoked");
    assert_verdict(&vendor.verify(&key, Some(device_a)).await, "REVOKED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expired_license_verifies_as_expired_and_refuses_activation() {
    // Arrange: a license that runs out two to three seconds from now, with a device on it.
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let expires_at = now() + Duration::seconds(3);
    let issued = vendor
        .issue(json!({ "max_activations": 5, "expires_at": rfc3339(expires_at) }))
        .await;
    let before = vendor.activated(&issued.key, "device-early").await;
    let exp = vendor.token_claims(&before).await["exp"]
        .as_i64()
        .expect("an exp claim");
    // The one real wait here: expiry is judged by the server's own clock.
    let remaining = expires_at - now() + Duration::milliseconds(500);
    tokio::time::sleep(StdDuration::try_from(remaining).unwrap_or_default()).await;

    // Act
    let on_device = vendor.verify(&issued.key, Some("device-early")).await;
    let anywhere = vendor.verify(&issued.key, None).await;
    let late = vendor.activate(&issued.key, "device-late").await;
    let renewal = vendor.activate(&issued.key, "device-early").await;

    // Assert
    assert!(
        exp <= expires_at.unix_timestamp(),
        "the token outlives the license: exp {exp}, license until {expires_at}"
    );
    assert_verdict(&on_device, "EXPIRED");
    assert_verdict(&anywhere, "EXPIRED");
    assert_eq!(
        license_of(&anywhere)["status"],
        "active",
        "{}",
        anywhere.text
    );
    late.assert_error(403, "license_expired");
    renewal.assert_error(403, "license_expired");
}
