//! The portal's handlers against use cases on mocks: the mocks expect nothing, so any call the
//! engine would make on a path that must not reach it fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use actix_web::http::header;
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::{App, web};
use auth_domain::otp::OtpPolicy;
use auth_domain::session::TokenPolicy;
use auth_ports::{
    MockAppStore, MockAuditChain, MockAuditLog, MockClock, MockKeyedHasher, MockLicenseStore,
    MockNotifier, MockOtpStore, MockRandomSource, MockRateLimiter, MockSecretHasher,
    MockSessionStore, MockStoreHealth, MockTenantStore, MockTokenCodec,
};
use auth_usecases::{AppCredentials, AuthService, Limits, Ports, Settings};
use std::sync::Arc;

use crate::PortalState;

fn keys() -> MockKeyedHasher {
    let mut keys = MockKeyedHasher::new();
    keys.expect_mac().returning(|_, data| {
        let mut digest = [0u8; 32];
        for (i, byte) in data.iter().enumerate() {
            digest[i % 32] ^= byte.rotate_left(u32::try_from(i % 7).unwrap());
        }
        digest
    });
    keys
}

fn state() -> PortalState {
    let mut random = MockRandomSource::new();
    random.expect_fill().returning(|bytes| bytes.fill(7));
    let ports = Ports {
        apps: Arc::new(MockAppStore::new()),
        otps: Arc::new(MockOtpStore::new()),
        sessions: Arc::new(MockSessionStore::new()),
        tenants: Arc::new(MockTenantStore::new()),
        licenses: Arc::new(MockLicenseStore::new()),
        sandbox: Arc::new(auth_ports::MockSandboxStore::new()),
        limiter: Arc::new(MockRateLimiter::new()),
        audit: Arc::new(MockAuditLog::new()),
        chain: Arc::new(MockAuditChain::new()),
        health: Arc::new(MockStoreHealth::new()),
        notifier: Arc::new(MockNotifier::new()),
        tokens: Arc::new(MockTokenCodec::new()),
        audit_key: Arc::new(auth_ports::MockAuditSigner::new()),
        secrets: Arc::new(MockSecretHasher::new()),
        mac: Arc::new(MockKeyedHasher::new()),
        clock: Arc::new(MockClock::new()),
        random: Arc::new(MockRandomSource::new()),
    };
    let settings = Settings {
        issuer: "http://auth.test".into(),
        otp: OtpPolicy::default(),
        tokens: TokenPolicy::default(),
        limits: Limits::default(),
    };
    PortalState {
        service: Arc::new(AuthService::new(ports, settings)),
        keys: Arc::new(keys()),
        random: Arc::new(random),
        credentials: AppCredentials {
            app_id: "app_portal".into(),
            app_secret: "sk_portal".into(),
        },
        secure_cookies: true,
    }
}

macro_rules! portal {
    () => {
        init_service(
            App::new()
                .app_data(web::Data::new(state()))
                .configure(crate::configure),
        )
        .await
    };
}

fn set_cookies(response: &actix_web::dev::ServiceResponse) -> Vec<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn the_sign_in_form_carries_the_token_of_a_new_strict_cookie_under_a_strict_policy() {
    let portal = portal!();

    let response = call_service(
        &portal,
        TestRequest::get().uri("/portal/sign-in").to_request(),
    )
    .await;

    assert_eq!(response.status(), 200);
    let policy = response
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    let cookies = set_cookies(&response);
    let cookie = cookies
        .iter()
        .find(|c| c.starts_with("portal_csrf="))
        .unwrap()
        .clone();
    assert!(
        cookie.contains("HttpOnly; SameSite=Strict; Secure"),
        "{cookie}"
    );
    let secret = cookie["portal_csrf=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body = String::from_utf8(read_body(response).await.to_vec()).unwrap();
    let expected = crate::csrf::token(&state(), &secret);
    assert!(
        body.contains(&format!(r#"name="csrf" value="{expected}""#)),
        "{body}"
    );
    assert!(
        body.contains(r#"<label for="identifier">"#),
        "inputs are labelled"
    );
}

#[actix_web::test]
async fn a_forged_or_cross_origin_form_is_refused_before_the_engine_is_asked() {
    let portal = portal!();
    let token = crate::csrf::token(&state(), "secret");
    let post = |csrf: &str, origin: &str| {
        TestRequest::post()
            .uri("/portal/sign-in")
            .insert_header((header::HOST, "auth.test"))
            .insert_header((header::ORIGIN, origin))
            .insert_header((header::COOKIE, "portal_csrf=secret"))
            .set_form([("csrf", csrf), ("identifier", "dev@example.com")])
            .to_request()
    };

    let forged = call_service(&portal, post("forged", "http://auth.test")).await;
    let cross_site = call_service(&portal, post(&token, "https://evil.test")).await;

    // The engine's mocks expect no call: reaching send-otp would have panicked.
    assert_eq!(forged.status(), 403);
    assert_eq!(cross_site.status(), 403);
    let body = String::from_utf8(read_body(forged).await.to_vec()).unwrap();
    assert!(body.contains("<code>invalid_request</code>"), "{body}");
}

#[actix_web::test]
async fn without_a_usable_session_cookie_app_pages_send_the_browser_to_sign_in() {
    let portal = portal!();

    let anonymous =
        call_service(&portal, TestRequest::get().uri("/portal/apps").to_request()).await;
    let garbage = call_service(
        &portal,
        TestRequest::get()
            .uri("/portal/apps/someone-else")
            .insert_header((header::COOKIE, "portal_refresh=not-a-token"))
            .to_request(),
    )
    .await;

    for response in [&anonymous, &garbage] {
        assert_eq!(response.status(), 303);
        assert_eq!(
            response.headers().get(header::LOCATION).unwrap(),
            "/portal/sign-in"
        );
    }
    assert!(
        set_cookies(&garbage)
            .iter()
            .any(|c| c.starts_with("portal_refresh=;"))
    );
}

#[actix_web::test]
async fn an_unknown_portal_page_is_a_not_found_page_and_assets_are_ours() {
    let portal = portal!();

    let missing = call_service(&portal, TestRequest::get().uri("/portal/nope").to_request()).await;
    let script = call_service(
        &portal,
        TestRequest::get()
            .uri("/portal/static/portal.js")
            .to_request(),
    )
    .await;

    assert_eq!(missing.status(), 404);
    assert_eq!(script.status(), 200);
    assert!(
        script
            .headers()
            .get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
}

/// Every form that changes something, with a field it would act on.
const FORMS: [&str; 12] = [
    "/portal/sign-in/code",
    "/portal/sign-out",
    "/portal/apps",
    "/portal/apps/demo/secret",
    "/portal/apps/demo/key",
    "/portal/apps/demo/settings",
    "/portal/apps/demo/licenses",
    "/portal/apps/demo/licenses/lic_aaaa/revoke",
    "/portal/apps/demo/tenants",
    "/portal/apps/demo/tenants/springfield/roles",
    "/portal/apps/demo/tenants/springfield/roles/revoke",
    "/portal/apps/demo/users/usr_aaaa/revoke",
];

#[actix_web::test]
async fn every_form_refuses_a_forged_token_before_the_engine_is_asked() {
    let portal = portal!();

    for uri in FORMS {
        let response = call_service(
            &portal,
            TestRequest::post()
                .uri(uri)
                .insert_header((header::COOKIE, "portal_csrf=secret"))
                .set_form([
                    ("csrf", "forged"),
                    ("slug", "x"),
                    ("name", "x"),
                    ("user", "x"),
                    ("user_id", "usr_aaaa"),
                    ("role", "x"),
                    ("session", ""),
                    ("overlap_hours", "0"),
                    ("otp_request_id", "otp_aaaa"),
                    ("hint", "x"),
                    ("code", "123456"),
                    ("access_ttl_secs", ""),
                    ("reuse_grace_secs", ""),
                    ("sms_countries", "any"),
                    ("sms_per_day", "1"),
                    ("emails_per_day", "1"),
                    ("product", ""),
                    ("max_activations", "1"),
                ])
                .to_request(),
        )
        .await;

        // The engine's mocks expect no call: reaching any use case would have panicked.
        assert_eq!(response.status(), 403, "{uri}");
    }
}

#[actix_web::test]
async fn the_tenant_and_user_pages_send_a_browser_without_a_session_to_sign_in() {
    let portal = portal!();

    for uri in [
        "/portal/apps/demo/tenants",
        "/portal/apps/demo/tenants/springfield",
        "/portal/apps/demo/users?q=ada%40example.com",
        "/portal/apps/demo/users/usr_aaaa",
    ] {
        let response = call_service(&portal, TestRequest::get().uri(uri).to_request()).await;

        assert_eq!(response.status(), 303, "{uri}");
        assert_eq!(
            response.headers().get(header::LOCATION).unwrap(),
            "/portal/sign-in",
            "{uri}"
        );
    }
}
