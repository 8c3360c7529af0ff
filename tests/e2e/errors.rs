//! The error envelope, request ids, transport-level refusals, health checks and start-up refusals.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::json;

use crate::support::{Harness, Reply, TestServer, TestServerBuilder, output_text, unique_phone};

const BODY_LIMIT: usize = 64 * 1024;

async fn post_raw(server: &TestServer, path: &str, content_type: &str, body: String) -> Reply {
    let request = server
        .client()
        .post(server.url(path))
        .header("content-type", content_type)
        .body(body);
    Reply::from_request(request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn unknown_route_answers_a_json_404_carrying_its_request_id() {
    // Arrange
    let server = TestServer::builder().start().await;

    // Act
    let reply = server.get("/no/such/route").await;

    // Assert
    reply.assert_error(404, "not_found");
    let content_type = reply.header("content-type").unwrap_or("");
    assert!(
        content_type.starts_with("application/json"),
        "Content-Type: {content_type:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wrong_method_answers_405() {
    // Arrange
    let server = TestServer::builder().start().await;

    // Act
    let reply = server.get("/auth/send-otp").await;

    // Assert
    reply.assert_error(405, "method_not_allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_json_is_an_invalid_request() {
    // Arrange
    let server = TestServer::builder().start().await;

    // Act
    let reply = post_raw(
        &server,
        "/auth/send-otp",
        "application/json",
        r#"{"app_id": "#.to_owned(),
    )
    .await;

    // Assert
    reply.assert_error(400, "invalid_request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_field_is_named_in_the_field_problems() {
    // Arrange
    let h = Harness::start().await;
    let (otp_request_id, _code) = h.request_code(&unique_phone()).await;
    let without_otp = h.app.body(json!({ "otp_request_id": otp_request_id }));

    // Act
    let reply = h.server.post("/auth/verify-otp", &without_otp).await;

    // Assert
    reply.assert_error(400, "invalid_request");
    let problems = reply.field_problems();
    assert!(
        problems.iter().any(|(name, _)| name == "otp"),
        "`otp` not named in {problems:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_body_over_64_kib_is_refused_as_too_large() {
    // Arrange
    let server = TestServer::builder().start().await;
    let body = json!({
        "app_id": "app_unknown",
        "app_secret": "secret",
        "phone": unique_phone(),
        "user_agent": "a".repeat(BODY_LIMIT + 1024),
    })
    .to_string();
    assert!(body.len() > BODY_LIMIT);

    // Act
    let reply = post_raw(&server, "/auth/send-otp", "application/json", body).await;

    // Assert
    reply.assert_error(413, "payload_too_large");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_non_json_content_type_is_an_unsupported_media_type() {
    // Arrange
    let h = Harness::start().await;
    let body = h.app.body(json!({ "phone": unique_phone() })).to_string();

    // Act
    let reply = post_raw(&h.server, "/auth/send-otp", "text/plain", body).await;

    // Assert
    reply.assert_error(415, "unsupported_media_type");
    assert!(
        h.sink.deliveries().is_empty(),
        "a refused request delivered a code"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_response_carries_a_distinct_request_id() {
    // Arrange
    let h = Harness::start().await;
    let jwks_path = format!("/apps/{}/jwks.json", h.app.app_slug);

    // Act
    let successes = [
        h.server.get("/healthz").await,
        h.server.get(&jwks_path).await,
        h.send_otp_to_phone(&unique_phone()).await,
    ];
    let errors = [
        (h.server.get("/no/such/route").await, 404, "not_found"),
        (
            h.send_otp(json!({ "phone": "not-a-phone" })).await,
            400,
            "invalid_request",
        ),
        (h.server.get("/auth/me").await, 401, "token_missing"),
    ];

    // Assert
    for reply in &successes {
        reply.assert_ok();
    }
    for (reply, status, code) in &errors {
        // assert_error also checks that X-Request-Id equals the body's request_id.
        reply.assert_error(*status, code);
    }
    let ids: Vec<&str> = successes
        .iter()
        .chain(errors.iter().map(|(reply, _, _)| reply))
        .map(|reply| reply.header("x-request-id").filter(|id| !id.is_empty()))
        .map(|id| id.expect("a response without X-Request-Id"))
        .collect();
    let distinct: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(distinct.len(), ids.len(), "request ids repeat: {ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn health_and_readiness_answer_200_while_the_database_is_up() {
    // Arrange
    let server = TestServer::builder().start().await;

    // Act
    let health = server.get("/healthz").await;
    let ready = server.get("/readyz").await;

    // Assert
    health.assert_ok();
    ready.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_count_requests_per_route_codes_per_channel_and_reuse() {
    // Arrange
    let h =
        Harness::start_with(TestServer::builder().env("AUTH_REFRESH_REUSE_GRACE_SECS", "0")).await;
    let tokens = h.login(&unique_phone()).await;
    let first = tokens.str("refresh_token");
    h.refresh(&first).await.assert_ok();
    h.refresh(&first)
        .await
        .assert_error(401, "refresh_token_reused");

    // Act
    let metrics = h.server.get("/metrics").await;

    // Assert
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain"))
    );
    for line in [
        "auth_otp_sent_total{channel=\"sms\"} 1",
        "auth_otp_sent_total{channel=\"email\"} 0",
        "auth_refresh_reuse_detected_total 1",
        "auth_http_requests_total{route=\"/auth/refresh\",status=\"200\"} 1",
        "auth_http_requests_total{route=\"/auth/refresh\",status=\"401\"} 1",
        "auth_http_request_duration_seconds_count{route=\"/auth/verify-otp\"} 1",
    ] {
        assert!(
            metrics.text.lines().any(|l| l == line),
            "missing {line:?} in\n{}",
            metrics.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn production_mode_refuses_the_console_notifier() {
    // Arrange: everything else production demands is present, so the notifier is the only
    // reason to refuse.
    let builder = TestServer::builder()
        .env("AUTH_ENV", "production")
        .env("AUTH_PUBLIC_URL", "https://auth.example.com")
        .env("AUTH_NOTIFIER", "console");

    // Act
    let text = refusal(builder).await;

    // Assert
    assert!(
        text.contains("AUTH_NOTIFIER"),
        "the refusal does not name AUTH_NOTIFIER:\n{text}"
    );
    assert!(!text.contains("AUTH_MASTER_KEY"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn production_refuses_to_start_listing_every_unsafe_setting() {
    // Arrange: an all-zero master key, a plain-http public URL and a plain-http webhook that would
    // carry codes across the network.
    let builder = TestServer::builder()
        .env("AUTH_ENV", "production")
        .env(
            "AUTH_MASTER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        )
        .env("AUTH_PUBLIC_URL", "http://auth.example.com")
        .env("AUTH_NOTIFIER", "webhook")
        .env("AUTH_WEBHOOK_URL", "http://hooks.example.com/codes");

    // Act
    let text = refusal(builder).await;

    // Assert: one message names all three, so the operator fixes them in one go.
    for variable in ["AUTH_MASTER_KEY", "AUTH_PUBLIC_URL", "AUTH_WEBHOOK_URL"] {
        assert!(text.contains(variable), "{variable} is not named:\n{text}");
    }
    assert!(text.contains("3 settings must change"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_https_public_url_makes_every_answer_demand_https() {
    // Arrange
    let server = TestServer::builder()
        .env("AUTH_PUBLIC_URL", "https://auth.example.com")
        .start()
        .await;

    // Act: an API answer, an error and a portal page.
    let answers = [
        server.get("/healthz").await,
        server.get("/no-such-route").await,
        server.get("/portal/sign-in").await,
    ];

    // Assert
    for answer in answers {
        assert_eq!(
            answer.header("strict-transport-security"),
            Some("max-age=31536000"),
            "{} {}",
            answer.status,
            answer.text
        );
    }
    let plain = TestServer::builder().start().await;
    assert_eq!(
        plain
            .get("/healthz")
            .await
            .header("strict-transport-security"),
        None
    );
}

/// What `serve` printed when it refused to start; fails if it started.
async fn refusal(builder: TestServerBuilder) -> String {
    let output = builder
        .run_to_exit(&["serve"], Duration::from_secs(30))
        .await;
    let text = output_text(&output);
    assert!(!output.status.success(), "the server started:\n{text}");
    text
}
