//! What an operator can cut off at once: a leaked signing key (withdrawn with a rotation), sessions
//! left unused past the app's idle timeout, and a whole app (disabled, then enabled again).

use serde_json::{Value, json};
use std::time::{Duration, Instant};

use crate::support::jwt::{fetch_jwks, jwks_keys};
use crate::support::{
    Harness, TestServerBuilder, database, on_both_backends, output_text, unique_phone,
};

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

on_both_backends!(a_refresh_token_unused_past_the_apps_idle_timeout_is_expired);
async fn a_refresh_token_unused_past_the_apps_idle_timeout_is_expired(builder: TestServerBuilder) {
    // Arrange: the app's refresh tokens may go unused for a minute; two people signed in.
    let h = Harness::start_with(builder).await;
    let slug = h.app.app_slug.clone();
    let server = &h.server;
    let configure = |seconds: &'static str| {
        let slug = slug.clone();
        async move {
            let args = [
                "apps",
                "configure",
                "--slug",
                &slug,
                "--refresh-idle-secs",
                seconds,
            ];
            server.run_cli(&args).await
        }
    };
    let too_short = configure("59").await;
    let configured = configure("60").await;
    let idle = h.login(&unique_phone()).await.str("refresh_token");
    let active = h.login(&unique_phone()).await.str("refresh_token");

    // Act: one person's token goes unused for 61 s (the clock moved on, as the database keeps it).
    let store = database::open(&h.server);
    let backdate = format!(
        "UPDATE refresh_tokens SET created_at = created_at - 61000000 WHERE session_id = \
         (SELECT session_id FROM refresh_tokens WHERE app_id = {} ORDER BY created_at LIMIT 1)",
        database::quoted(&h.app.app_id)
    );
    assert_eq!(database::sql(&store, &backdate).await, 1);
    let expired = h.refresh(&idle).await;
    let refreshed = h.refresh(&active).await;

    // Assert
    assert!(!too_short.status.success());
    assert!(
        output_text(&too_short)
            .contains("--refresh-idle-secs refresh idle timeout must be 60 to 31536000 seconds"),
        "{}",
        output_text(&too_short)
    );
    assert!(configured.status.success(), "{}", output_text(&configured));
    expired.assert_error(401, "refresh_token_expired");
    refreshed.assert_ok();
    let changed = records(&h, "app_settings_changed").await;
    assert_eq!(changed.len(), 1, "{changed:?}");
    assert_eq!(changed[0]["details"]["refresh_idle_secs"], 60);
    assert_eq!(changed[0]["actor"], "operator");
}

on_both_backends!(a_disabled_apps_calls_and_tokens_are_refused_until_it_is_enabled);
async fn a_disabled_apps_calls_and_tokens_are_refused_until_it_is_enabled(
    builder: TestServerBuilder,
) {
    // Arrange: a signed-in user.
    let h = Harness::start_with(builder).await;
    let login = h.login(&unique_phone()).await;
    let (access, refresh) = (login.str("access_token"), login.str("refresh_token"));
    let server = &h.server;
    let slug = h.app.app_slug.clone();
    let cli = |command: &'static str| {
        let slug = slug.clone();
        async move {
            let output = server.run_cli(&["apps", command, "--slug", &slug]).await;
            assert!(output.status.success(), "{}", output_text(&output));
        }
    };

    // Act
    cli("disable").await;
    let refused = at_once(|| async { h.me(&access).await.status == 401 }).await;
    let sending = h.send_otp_to_phone(&unique_phone()).await;
    let me_while_disabled = h.me(&access).await;
    let refresh_while_disabled = h.refresh(&refresh).await;
    cli("enable").await;
    let restored = at_once(|| async { h.me(&access).await.status == 200 }).await;

    // Assert
    assert!(refused, "the disabled app's token still worked");
    sending.assert_error(403, "app_disabled");
    me_while_disabled.assert_error(401, "token_invalid");
    refresh_while_disabled.assert_error(403, "app_disabled");
    assert!(
        restored,
        "an earlier token follows its own expiry once enabled"
    );
    h.refresh(&refresh).await.assert_ok();
    for event in ["app_disabled", "app_enabled"] {
        let recorded = records(&h, event).await;
        assert_eq!(recorded.len(), 1, "{event}: {recorded:?}");
        assert_eq!(recorded[0]["actor"], "operator");
    }
}
