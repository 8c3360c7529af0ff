//! The operator's rotations: `auth-engine apps rotate-secret` keeps the old secret for the chosen
//! overlap and `apps rotate-key` signs new tokens with a new key while the old one stays published.
//! Every such change, and an app disabled, reaches every running engine at once.

use serde_json::Value;

use crate::support::jwt::{fetch_jwks, jwks_keys, verify_with_kid};
use std::time::{Duration, Instant};

use crate::support::{
    AppCreds, Harness, TestServer, TestServerBuilder, database, login, on_both_backends, post,
    send_otp_to_phone, unique_phone,
};

/// How soon an operator's change must take effect in a running engine that kept the app and its
/// keys: at once, bar the moment its notification takes to arrive.
const AT_ONCE: Duration = Duration::from_millis(1000);

/// How long `check` took to hold, asking every 20 ms, or `None` if it did not within [`AT_ONCE`].
async fn took_effect<F: Future<Output = bool>>(check: impl Fn() -> F) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < AT_ONCE {
        if check().await {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

on_both_backends!(an_operators_rotation_takes_effect_at_once_in_a_running_engine);
async fn an_operators_rotation_takes_effect_at_once_in_a_running_engine(
    builder: TestServerBuilder,
) {
    // Arrange: the engine has used the app, its secret and its signing key, and keeps them.
    let h = Harness::start_with(builder).await;
    let original = h.app.clone();
    let before = h.login(&unique_phone()).await.str("access_token");
    assert!(works(&h, &original).await);

    // Act: another process (the operator's command) rotates the key, then the secret.
    let rotated_key = h
        .server
        .run_cli(&["apps", "rotate-key", "--slug", &h.app.app_slug])
        .await;
    let new_key = took_effect(|| async {
        let token = login(&h.server, &original, &h.sink, &unique_phone())
            .await
            .str("access_token");
        kid_of(&token) != kid_of(&before)
    })
    .await;
    let rotated = with_secret(&h, &rotate_secret(&h, "0").await);
    let old_secret_refused = took_effect(|| async { !works(&h, &original).await }).await;

    // Assert
    assert!(rotated_key.status.success());
    assert!(
        new_key.is_some(),
        "tokens were still signed with the retired key"
    );
    assert!(
        old_secret_refused.is_some(),
        "the replaced secret still worked"
    );
    assert!(works(&h, &rotated).await);
}

fn kid_of(token: &str) -> String {
    let header = token.split('.').next().unwrap_or_default();
    let header: Value = serde_json::from_slice(&base64_url_decode(header)).unwrap();
    header["kid"].as_str().unwrap_or_default().to_owned()
}

/// Runs `apps rotate-secret` for the harness app; its JSON answer.
async fn rotate_secret(h: &Harness, overlap_hours: &str) -> Value {
    let args = [
        "apps",
        "rotate-secret",
        "--slug",
        &h.app.app_slug,
        "--overlap-hours",
        overlap_hours,
        "--json",
    ];
    let output = h.server.run_cli(&args).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

fn with_secret(h: &Harness, answer: &Value) -> AppCreds {
    AppCreds {
        app_secret: answer["app_secret"].as_str().unwrap_or_default().to_owned(),
        ..h.app.clone()
    }
}

async fn works(h: &Harness, app: &AppCreds) -> bool {
    accepts(&h.server, app).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_rotates_a_secret_with_an_overlap_then_without_one() {
    // Arrange
    let h = Harness::start().await;
    let original = h.app.clone();

    // Act
    let overlapping = rotate_secret(&h, "1").await;
    let second = with_secret(&h, &overlapping);
    let both_work = (works(&h, &original).await, works(&h, &second).await);
    let immediate = rotate_secret(&h, "0").await;
    let third = with_secret(&h, &immediate);
    let after = (
        works(&h, &original).await,
        works(&h, &second).await,
        works(&h, &third).await,
    );
    let too_long = h
        .server
        .run_cli(&[
            "apps",
            "rotate-secret",
            "--slug",
            &h.app.app_slug,
            "--overlap-hours",
            "169",
        ])
        .await;
    let unknown = h
        .server
        .run_cli(&["apps", "rotate-secret", "--slug", "no-such-app"])
        .await;

    // Assert
    assert!(
        overlapping["old_secret_valid_until"].is_string(),
        "{overlapping}"
    );
    assert_eq!(both_work, (true, true));
    assert!(immediate["old_secret_valid_until"].is_null(), "{immediate}");
    assert_eq!(after, (false, false, true));
    assert!(!too_long.status.success());
    assert!(
        String::from_utf8_lossy(&too_long.stderr)
            .contains("--overlap-hours must be between 0 and 7 days")
    );
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("--slug no app has this slug"));
    let records = post(
        &h.server,
        &third,
        "/audit/events",
        serde_json::json!({ "event": "app_secret_rotated" }),
    )
    .await;
    let records = records.body["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(records.len(), 2);
    assert!(
        records.iter().all(|r| r["actor"] == "operator"),
        "{records:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_rotates_the_signing_key_and_earlier_tokens_still_verify() {
    // Arrange
    let h = Harness::start().await;
    let before = h.login(&unique_phone()).await.str("access_token");

    // Act
    let output = h
        .server
        .run_cli(&["apps", "rotate-key", "--slug", &h.app.app_slug])
        .await;
    let after = h.login(&unique_phone()).await.str("access_token");
    let jwks = fetch_jwks(&h.server, &h.app).await;

    // Assert
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert_eq!(jwks_keys(&jwks).len(), 2, "{jwks}");
    for token in [&before, &after] {
        verify_with_kid(token, &jwks, &h.app.app_slug).unwrap();
    }
    assert_ne!(kid_of(&before), kid_of(&after));
    assert!(stdout.contains(&kid_of(&after)), "{stdout}");
}

fn base64_url_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .unwrap()
}

/// Several engines share only a PostgreSQL database (one process serves a SQLite file).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_disabled_app_is_refused_at_once_by_every_process() {
    // Arrange: two engines on one database have both used the app, and keep it.
    let Some(database) = database::scratch_database().await else {
        return;
    };
    let mut h = Harness::start_with(TestServer::builder().postgres(database.url())).await;
    let mut second = h.server.start_sibling().await;
    let servers = [&h.server, &second];
    for server in servers {
        assert!(accepts(server, &h.app).await);
    }
    let store = database::open(&h.server);
    let set_disabled = |disabled: bool| {
        format!(
            "UPDATE apps SET disabled = {disabled} WHERE slug = {}",
            database::quoted(&h.app.app_slug)
        )
    };

    // Act: the operator disables the app in the database, then enables it again.
    assert_eq!(database::sql(&store, &set_disabled(true)).await, 1);
    let mut refused = Vec::new();
    for server in servers {
        refused.push(took_effect(|| async { !accepts(server, &h.app).await }).await);
    }
    let answer = send_otp_to_phone(&h.server, &h.app, &unique_phone()).await;
    assert_eq!(database::sql(&store, &set_disabled(false)).await, 1);
    let mut accepted = Vec::new();
    for server in servers {
        accepted.push(took_effect(|| async { accepts(server, &h.app).await }).await);
    }

    // Assert
    answer.assert_error(403, "app_disabled");
    for (process, (refused, accepted)) in refused.iter().zip(&accepted).enumerate() {
        assert!(
            refused.is_some(),
            "process {process} still served the disabled app"
        );
        assert!(
            accepted.is_some(),
            "process {process} still refused the enabled app"
        );
    }
    drop(store);
    second.stop().await;
    h.server.stop().await;
}

/// Whether `server` sends a code for `app`.
async fn accepts(server: &TestServer, app: &AppCreds) -> bool {
    send_otp_to_phone(server, app, &unique_phone()).await.status == 200
}
