//! What an operator can cut off at once: a leaked signing key (withdrawn with a rotation), sessions
//! left unused past the app's idle timeout, and a whole app (disabled, then enabled again).

use serde_json::{Value, json};
use std::time::{Duration, Instant};

use crate::support::jwt::{fetch_jwks, jwks_keys};
use crate::support::{Harness, TestServerBuilder, on_both_backends, output_text, unique_phone};

/// How soon a change made by another process must show in a running engine: at once, bar the
/// moment its notification takes to arrive.
const AT_ONCE: Duration = Duration::from_millis(1000);

/// Whether `check` held within [`AT_ONCE`], asking every 20 ms.
async fn at_once<F: Future<Output = bool>>(check: impl Fn() -> F) -> bool {
    let started = Instant::now();
    while started.elapsed() < AT_ONCE {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// The `kid` in a JWT's header.
fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token)
        .ok()
        .and_then(|header| header.kid)
        .unwrap_or_default()
}

/// The app's audit records named `event`.
async fn records(h: &Harness, event: &str) -> Vec<Value> {
    let reply = h.post("/audit/events", json!({ "event": event })).await;
    reply.assert_ok();
    reply.body["events"].as_array().cloned().unwrap_or_default()
}

on_both_backends!(a_withdrawn_keys_tokens_are_refused_at_once_and_sessions_go_on);
async fn a_withdrawn_keys_tokens_are_refused_at_once_and_sessions_go_on(
    builder: TestServerBuilder,
) {
    // Arrange: a signed-in user whose access token the old key signed.
    let h = Harness::start_with(builder).await;
    let login = h.login(&unique_phone()).await;
    let old_token = login.str("access_token");
    h.me(&old_token).await.assert_ok();
    let old_kid = kid_of(&old_token);

    // Act: the key leaked; the operator rotates and withdraws the earlier keys.
    let args = [
        "apps",
        "rotate-key",
        "--slug",
        &h.app.app_slug,
        "--revoke-previous",
    ];
    let withdrawn = h.server.run_cli(&args).await;
    let refused = at_once(|| async { h.me(&old_token).await.status == 401 }).await;
    let jwks = fetch_jwks(&h.server, &h.app).await;
    let refreshed = h.refresh(&login.str("refresh_token")).await;

    // Assert
    let said = output_text(&withdrawn);
    assert!(withdrawn.status.success(), "{said}");
    assert!(said.contains(&old_kid), "names the withdrawn kid: {said}");
    assert!(refused, "the withdrawn key's token still worked");
    h.me(&old_token).await.assert_error(401, "token_invalid");
    let published: Vec<&str> = jwks_keys(&jwks)
        .iter()
        .filter_map(|key| key["kid"].as_str())
        .collect();
    assert!(!published.contains(&old_kid.as_str()), "{jwks}");
    assert_eq!(published.len(), 1, "only the new key: {jwks}");
    refreshed.assert_ok();
    let new_token = refreshed.str("access_token");
    assert_eq!(kid_of(&new_token), published[0]);
    h.me(&new_token).await.assert_ok();
    let revoked = records(&h, "app_key_revoked").await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0]["actor"], "operator");
    assert_eq!(revoked[0]["details"]["kid"], old_kid.as_str());
    assert_eq!(revoked[0]["details"]["replaced_by"], published[0]);
}
