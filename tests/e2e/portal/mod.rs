//! The developer portal in a real headless Chromium: a developer signs in with a code, creates an
//! app, copies its four credentials, and those credentials work against the API; the secret is never
//! shown again, and another developer cannot open the app. Screenshots of the main pages are saved in
//! `target/portal-screenshots/`.

mod hostile;
mod people;
mod sandbox;

use serde_json::json;

use crate::support::browser::{self, Browser};
use crate::support::{
    AppCreds, Harness, send_otp_to_phone, unique_email, unique_phone, verify_otp,
};

/// Signs in through the portal's pages as `email`, with the code the webhook sink received.
async fn sign_in(browser: &Browser, h: &Harness, email: &str, shots: bool) {
    browser.goto(&h.server.url("/portal")).await;
    assert!(
        browser.url().await.ends_with("/portal/sign-in"),
        "{}",
        browser.url().await
    );
    if shots {
        browser.screenshot("1-sign-in").await;
    }
    browser.fill("#identifier", email).await;
    browser.submit("button[type=submit]").await;
    let asked = browser.text("main").await;
    assert!(asked.contains("We sent a six-digit code"), "{asked}");
    let code = h.sink.last_code_to(email).await;
    browser.fill("#code", &code).await;
    if shots {
        browser.screenshot("2-code").await;
    }
    browser.submit("main button[type=submit]").await;
    assert_eq!(browser.text("h1").await, "My apps");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_developer_creates_an_app_in_the_browser_and_its_credentials_work_once_shown() {
    if !browser::available() {
        return;
    }
    // Arrange
    let h = Harness::start().await;
    let browser = Browser::start().await;
    let developer = unique_email();
    sign_in(&browser, &h, &developer, true).await;
    browser.screenshot("3-my-apps-empty").await;

    // Act: create an app and read the four values off the page.
    browser.submit("a[href='/portal/apps/new']").await;
    browser.fill("#name", "Browser <App>").await;
    assert_eq!(
        browser.value("#slug").await,
        "browser-app",
        "the slug is suggested from the name as it is typed"
    );
    browser.screenshot("4-create-app").await;
    browser.submit("main button[type=submit]").await;
    browser.screenshot("5-credentials").await;
    let page = browser.text("main").await;
    let created = AppCreds {
        app_id: browser.value("#app-id").await,
        app_secret: browser.value("#app-secret").await,
        app_slug: browser.value("#app-slug").await,
        jwt_public_key: browser.value("#jwt-public-key").await,
    };
    let env = browser.value("#env").await;

    // Assert: the page says it once, and the values are real credentials.
    assert!(
        page.contains("this secret will not be shown again"),
        "{page}"
    );
    assert!(created.app_id.starts_with("app_"), "{created:?}");
    assert!(created.app_secret.starts_with("sk_"));
    assert_eq!(created.app_slug, "browser-app");
    assert!(
        env.contains(&format!("APP_SECRET={}", created.app_secret)),
        "{env}"
    );
    // In the sandbox the app sends only to its owner and the test identifiers listed on its page.
    let phone = unique_phone();
    browser
        .goto(&h.server.url("/portal/apps/browser-app"))
        .await;
    let state = browser.text("#sandbox-state").await;
    assert!(state.contains("In the sandbox"), "{state}");
    browser.fill("#identifier", &phone).await;
    browser
        .submit("form[action='/portal/apps/browser-app/sandbox'] button")
        .await;
    browser.screenshot("5b-sandbox").await;
    let listed = browser.text("#test-identifiers").await;
    assert!(listed.contains(&phone), "{listed}");
    let sent = send_otp_to_phone(&h.server, &created, &phone).await;
    sent.assert_ok();
    let code = h.sink.code_for(&sent.str("otp_request_id")).await;
    let verified = verify_otp(&h.server, &created, &sent.str("otp_request_id"), &code).await;
    verified.assert_ok();
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(created.jwt_public_key.as_bytes())
        .expect("JWT_PUBLIC_KEY is a PEM public key");
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&["browser-app"]);
    let claims =
        jsonwebtoken::decode::<serde_json::Value>(&verified.str("access_token"), &key, &validation)
            .expect("the access token verifies with the copied public key");
    assert_eq!(claims.claims["phone"], json!(phone));
    approve(&h, "browser-app").await;

    // The app's page, reloaded, never shows the secret again; the list shows the app.
    browser
        .goto(&h.server.url("/portal/apps/browser-app"))
        .await;
    browser.screenshot("6-app-detail").await;
    assert_eq!(browser.text("#app-id").await, created.app_id);
    assert!(!browser.source().await.contains(&created.app_secret));

    // Rotating with no overlap: the old secret stops at once, the new one works.
    browser.fill("#overlap_hours", "0").await;
    browser.submit("main button[type=submit]").await;
    browser.screenshot("8-new-secret").await;
    let notice = browser.text("main").await;
    assert!(
        notice.contains("The old secret has stopped working"),
        "{notice}"
    );
    let rotated = AppCreds {
        app_secret: browser.value("#app-secret").await,
        ..created.clone()
    };
    assert_ne!(rotated.app_secret, created.app_secret);
    send_otp_to_phone(&h.server, &created, &unique_phone())
        .await
        .assert_error(401, "invalid_app_credentials");
    send_otp_to_phone(&h.server, &rotated, &unique_phone())
        .await
        .assert_ok();
    // The login made with the copied credentials is in the app's audit log, found by its filter.
    browser
        .goto(&h.server.url("/portal/apps/browser-app"))
        .await;
    browser
        .submit("a[href='/portal/apps/browser-app/audit']")
        .await;
    browser.click("option[value='login']").await;
    browser.submit("form.filters button[type=submit]").await;
    browser.screenshot("9-audit-log").await;
    let logins = browser.text("#events tbody").await;
    assert!(
        logins.contains("login")
            && logins.contains(&claims.claims["sub"].as_str().unwrap_or("?").to_owned()),
        "{logins}"
    );
    assert!(
        !logins.contains("otp_sent"),
        "the filter keeps only logins: {logins}"
    );

    browser
        .goto(&h.server.url("/portal/apps/browser-app/settings"))
        .await;
    browser.screenshot("10-settings").await;
    assert_eq!(browser.value("#sms_countries").await, "any");
    browser
        .goto(&h.server.url("/portal/apps/browser-app/licenses"))
        .await;
    browser.fill("#product", "pro").await;
    browser.submit("main form.stack button[type=submit]").await;
    assert!(browser.value("#license-key").await.len() > 20);
    browser.screenshot("11-licenses").await;

    // A tenant, a role for the person who signed in above, and their sessions, ended from the page.
    browser
        .goto(&h.server.url("/portal/apps/browser-app/tenants"))
        .await;
    browser.fill("#tenant-slug", "springfield").await;
    browser.fill("#tenant-name", "Springfield").await;
    browser.submit("main form.stack button[type=submit]").await;
    browser.fill("#role-user", &phone).await;
    browser.fill("#role-name", "teacher").await;
    browser.submit("main form.stack button[type=submit]").await;
    browser.screenshot("12-tenant-roles").await;
    let members = browser.text("#members").await;
    assert!(
        members.contains(claims.claims["sub"].as_str().unwrap_or("?")),
        "{members}"
    );
    browser
        .goto(&h.server.url("/portal/apps/browser-app/users"))
        .await;
    browser.screenshot("13-users").await;
    browser.submit("#users a").await;
    assert!(browser.text("#sessions").await.contains("live"));
    browser
        .submit("button[aria-label='End every session']")
        .await;
    browser.screenshot("14-user-sessions").await;
    assert!(!browser.text("#sessions").await.contains("live"));
    crate::support::refresh(&h.server, &rotated, &verified.str("refresh_token"))
        .await
        .assert_error(401, "session_revoked");

    browser.goto(&h.server.url("/portal/apps")).await;
    assert!(browser.text("main").await.contains("Browser <App>"));
    browser.screenshot("7-my-apps").await;

    // Another developer sees neither the app nor its page.
    browser.submit("header button[type=submit]").await;
    assert!(browser.url().await.ends_with("/portal/sign-in"));
    sign_in(&browser, &h, &unique_email(), false).await;
    assert!(browser.text("main").await.contains("You have no apps yet"));
    browser
        .goto(&h.server.url("/portal/apps/browser-app"))
        .await;
    assert!(browser.text("main").await.contains("not_found"));
    assert!(!browser.source().await.contains(&created.app_id));
    browser
        .goto(&h.server.url("/portal/apps/browser-app/audit"))
        .await;
    assert!(browser.text("main").await.contains("not_found"));
    assert!(
        !browser.source().await.contains("login"),
        "no record of theirs is shown"
    );
    browser.quit().await;
}

/// A browser-like HTTP client that keeps cookies by hand and does not follow redirects, so every
/// `Set-Cookie` and `Location` can be asserted.
struct Visitor {
    http: reqwest::Client,
    base: String,
    cookies: std::collections::BTreeMap<String, String>,
    /// The address a reverse proxy in front of the engine says this browser is at, if any.
    forwarded_for: Option<String>,
}

/// One portal answer.
struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    set_cookies: Vec<String>,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The `value` of the form field `name` in the page.
    fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} in {}", self.body))
            + marker.len();
        self.body[start..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// The credentials a created app's page shows (the public key is not needed here).
    fn credentials(&self) -> AppCreds {
        AppCreds {
            app_id: self.input("app-id"),
            app_secret: self.input("app-secret"),
            app_slug: self.input("app-slug"),
            jwt_public_key: String::new(),
        }
    }

    /// The value of the input with id `id`.
    fn input(&self, id: &str) -> String {
        let marker = format!("id=\"{id}\" readonly value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no #{id}"))
            + marker.len();
        self.body[start..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_owned()
    }
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| {
            let encoded: String = value
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect();
            format!("{name}={encoded}")
        })
        .collect::<Vec<_>>()
        .join("&")
}

impl Visitor {
    fn new(server: &crate::support::TestServer) -> Self {
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: server.url(""),
            cookies: std::collections::BTreeMap::new(),
            forwarded_for: None,
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookie: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let request = match &self.forwarded_for {
            Some(address) => request.header("x-forwarded-for", address),
            None => request,
        };
        let response = request
            .header("cookie", cookie.join("; "))
            .send()
            .await
            .unwrap();
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        for set in &set_cookies {
            let pair = set.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        Page {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            set_cookies,
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post_owned(&mut self, path: &str, fields: &[(&str, String)]) -> Page {
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post(path, &borrowed).await
    }

    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("origin", self.base.trim_end_matches('/'))
            .body(form(fields));
        self.send(request).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_portal_refuses_forged_forms_and_rotates_its_session_cookie() {
    // Arrange
    let h = Harness::start().await;
    let mut visitor = Visitor::new(&h.server);
    let developer = unique_email();

    // Act: sign in, with a forged form first.
    let sign_in = visitor.get("/portal/sign-in").await;
    let csrf = sign_in.field("csrf");
    let forged = visitor
        .post(
            "/portal/sign-in",
            &[("csrf", "forged"), ("identifier", &developer)],
        )
        .await;
    let sent = visitor
        .post(
            "/portal/sign-in",
            &[("csrf", &csrf), ("identifier", &developer)],
        )
        .await;
    let code = h.sink.last_code_to(&developer).await;
    let signed_in = visitor
        .post(
            "/portal/sign-in/code",
            &[
                ("csrf", &csrf),
                ("otp_request_id", &sent.field("otp_request_id")),
                ("hint", "x"),
                ("code", &code),
            ],
        )
        .await;

    // Assert: strict headers, forged form refused before anything was sent, tight cookies.
    assert_eq!(sign_in.status, 200);
    let policy = sign_in.header("content-security-policy");
    assert!(
        policy.contains("default-src 'none'") && policy.contains("script-src 'self'"),
        "{policy}"
    );
    assert!(policy.contains("frame-ancestors 'none'") && policy.contains("form-action 'self'"));
    assert_eq!(forged.status, 403);
    assert!(forged.body.contains("invalid_request"), "{}", forged.body);
    assert_eq!(
        h.sink
            .deliveries()
            .iter()
            .filter(|d| d.body["to"] == developer.as_str())
            .count(),
        1,
        "only the genuine form sent a code"
    );
    assert_eq!(signed_in.status, 303);
    assert_eq!(signed_in.header("location"), "/portal/apps");
    for name in ["portal_access=", "portal_refresh="] {
        let cookie = signed_in
            .set_cookies
            .iter()
            .find(|c| c.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} cookie: {:?}", signed_in.set_cookies));
        assert!(
            cookie.contains("; HttpOnly") && cookie.contains("; SameSite=Strict"),
            "{cookie}"
        );
        assert!(cookie.contains("; Path=/portal"), "{cookie}");
    }

    // Without its access token, the browser's refresh token is rotated, as any backend would.
    let old_refresh = visitor.cookies["portal_refresh"].clone();
    visitor.cookies.remove("portal_access");
    let rotated = visitor.get("/portal/apps").await;
    assert_eq!(rotated.status, 200, "{}", rotated.body);
    assert_ne!(visitor.cookies["portal_refresh"], old_refresh);
    assert!(visitor.cookies.contains_key("portal_access"));

    // Signed out, the page sends the browser to sign in again.
    let out = visitor.post("/portal/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    let after = visitor.get("/portal/apps").await;
    assert_eq!(after.status, 303);
    assert_eq!(after.header("location"), "/portal/sign-in");
}

/// A visitor signed in to the portal through its forms, with a fresh email.
async fn signed_in_visitor(h: &Harness) -> Visitor {
    signed_in_as(h, &unique_email()).await
}

/// A visitor signed in to the portal through its forms as `email`.
async fn signed_in_as(h: &Harness, email: &str) -> Visitor {
    let mut visitor = Visitor::new(&h.server);
    let csrf = visitor.get("/portal/sign-in").await.field("csrf");
    let sent = visitor
        .post("/portal/sign-in", &[("csrf", &csrf), ("identifier", email)])
        .await;
    let code = h.sink.code_for(&sent.field("otp_request_id")).await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("otp_request_id", &sent.field("otp_request_id")),
        ("hint", "x"),
        ("code", &code),
    ];
    let signed_in = visitor.post("/portal/sign-in/code", &fields).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    visitor
}

/// The records named `event` in the app's audit log, oldest first.
async fn recorded(h: &Harness, app: &AppCreds, event: &str) -> Vec<serde_json::Value> {
    let reply =
        crate::support::post(&h.server, app, "/audit/events", json!({ "event": event })).await;
    reply.assert_ok();
    reply.body["events"].as_array().cloned().unwrap_or_default()
}

/// Lifts the app `slug` out of the sandbox, as the engine's operator does.
async fn approve(h: &Harness, slug: &str) {
    let output = h.server.run_cli(&["apps", "approve", "--slug", slug]).await;
    assert!(
        output.status.success(),
        "apps approve: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    crate::support::until_the_change_is_heard().await;
}

/// Creates the app `slug` through the portal's form; its credentials, and the page's form token.
async fn create_app(visitor: &mut Visitor, slug: &str) -> (AppCreds, String) {
    let token = visitor.get("/portal/apps/new").await.field("csrf");
    let fields = [
        ("csrf", token.as_str()),
        ("name", "Made here"),
        ("slug", slug),
    ];
    let created = visitor.post("/portal/apps", &fields).await;
    assert_eq!(created.status, 201, "{}", created.body);
    (created.credentials(), token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_developer_rotates_the_secret_and_the_signing_key_without_breaking_live_clients() {
    let h = Harness::start().await;
    let mut visitor = signed_in_visitor(&h).await;

    // The slug the engine keeps for the portal cannot be taken, and nothing is created.
    let page = visitor.get("/portal/apps/new").await;
    let token = page.field("csrf");
    let reserved = visitor
        .post(
            "/portal/apps",
            &[("csrf", &token), ("name", "Mine"), ("slug", "portal")],
        )
        .await;
    assert_eq!(reserved.status, 400);
    assert!(reserved.body.contains("reserved"), "{}", reserved.body);

    // A created app's `app_created` record names the developer.
    let created = visitor
        .post(
            "/portal/apps",
            &[("csrf", &token), ("name", "Mine"), ("slug", "mine-app")],
        )
        .await;
    assert_eq!(created.status, 201);
    let app = created.credentials();
    approve(&h, "mine-app").await;
    let audit = crate::support::post(&h.server, &app, "/audit/events", json!({})).await;
    audit.assert_ok();
    assert_eq!(
        audit.body["events"][0]["event"], "app_created",
        "{}",
        audit.text
    );
    assert_eq!(audit.body["events"][0]["actor"], "developer");

    // A rotation with an overlap keeps both secrets working; the next one without ends the old.
    let rotate = |overlap: &'static str| {
        [
            ("csrf", token.clone()),
            ("overlap_hours", overlap.to_owned()),
        ]
    };
    let too_long = visitor
        .post_owned("/portal/apps/mine-app/secret", &rotate("169"))
        .await;
    assert_eq!(too_long.status, 400);
    assert!(too_long.body.contains("overlap_hours"), "{}", too_long.body);
    let first = visitor
        .post_owned("/portal/apps/mine-app/secret", &rotate("1"))
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.body.contains("keeps working until"), "{}", first.body);
    let second_secret = AppCreds {
        app_secret: first.input("app-secret"),
        ..app.clone()
    };
    let phone = || json!({ "phone": unique_phone() });
    for creds in [&app, &second_secret] {
        crate::support::send_otp(&h.server, creds, phone())
            .await
            .assert_ok();
    }
    let second = visitor
        .post_owned("/portal/apps/mine-app/secret", &rotate("0"))
        .await;
    let third_secret = AppCreds {
        app_secret: second.input("app-secret"),
        ..app.clone()
    };
    for stopped in [&app, &second_secret] {
        crate::support::send_otp(&h.server, stopped, phone())
            .await
            .assert_error(401, "invalid_app_credentials");
    }
    crate::support::send_otp(&h.server, &third_secret, phone())
        .await
        .assert_ok();
    let rotations = crate::support::post(
        &h.server,
        &third_secret,
        "/audit/events",
        json!({ "event": "app_secret_rotated" }),
    )
    .await;
    let overlaps: Vec<&serde_json::Value> = rotations.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["details"]["overlap_seconds"])
        .collect();
    assert_eq!(
        overlaps,
        [&json!(3600), &json!(0)],
        "in the order they happened"
    );

    // A new signing key signs new tokens; the old one stays in the JWKS for the tokens it signed.
    let before = crate::support::login(&h.server, &third_secret, &h.sink, &unique_phone()).await;
    let rotated_key = visitor
        .post("/portal/apps/mine-app/key", &[("csrf", &token)])
        .await;
    assert_eq!(rotated_key.status, 303, "{}", rotated_key.body);
    assert_eq!(rotated_key.header("location"), "/portal/apps/mine-app");
    let after = crate::support::login(&h.server, &third_secret, &h.sink, &unique_phone()).await;
    let jwks = crate::support::jwt::fetch_jwks(&h.server, &third_secret).await;
    assert_eq!(crate::support::jwt::jwks_keys(&jwks).len(), 2, "{jwks}");
    for token in [before.str("access_token"), after.str("access_token")] {
        crate::support::jwt::verify_with_kid(&token, &jwks, "mine-app")
            .expect("verifies by its kid");
    }
    let kid = |token: &str| jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    assert_ne!(
        kid(&before.str("access_token")),
        kid(&after.str("access_token"))
    );
    let detail = visitor.get("/portal/apps/mine-app").await;
    assert!(
        detail.body.contains("in the JWKS until its tokens expire"),
        "{}",
        detail.body
    );

    // A leaked key: a confirmation step, then every earlier key is withdrawn at once.
    let confirm = visitor.get("/portal/apps/mine-app/key/withdraw").await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(confirm.body.contains("Only do this if a key has leaked"));
    let forged = visitor
        .post("/portal/apps/mine-app/key/withdraw", &[("csrf", "forged")])
        .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    let withdrawn = visitor
        .post(
            "/portal/apps/mine-app/key/withdraw",
            &[("csrf", &confirm.field("csrf"))],
        )
        .await;
    assert_eq!(withdrawn.status, 303, "{}", withdrawn.body);
    let latest = after.str("access_token");
    crate::support::me(&h.server, &latest)
        .await
        .assert_error(401, "token_invalid");
    let jwks = crate::support::jwt::fetch_jwks(&h.server, &third_secret).await;
    let published: Vec<&str> = crate::support::jwt::jwks_keys(&jwks)
        .iter()
        .filter_map(|key| key["kid"].as_str())
        .collect();
    assert_eq!(published.len(), 1, "{jwks}");
    assert_ne!(published[0], kid(&latest));
    let detail = visitor.get("/portal/apps/mine-app").await;
    assert_eq!(
        detail.body.matches("withdrawn ").count(),
        2,
        "both earlier keys show withdrawn: {}",
        detail.body
    );

    // The operator disables the app: its page and the list say so.
    let disabled = h
        .server
        .run_cli(&["apps", "disable", "--slug", "mine-app"])
        .await;
    assert!(disabled.status.success());
    let detail = visitor.get("/portal/apps/mine-app").await;
    assert!(
        detail
            .body
            .contains("This app is disabled by the engine's operator"),
        "{}",
        detail.body
    );
    let list = visitor.get("/portal/apps").await;
    assert!(list.body.contains("(disabled)"), "{}", list.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_apps_settings_shape_its_tokens_and_channels_from_the_next_request() {
    // Arrange: an app made in the portal.
    let h = Harness::start().await;
    let mut visitor = signed_in_visitor(&h).await;
    let (app, token) = create_app(&mut visitor, "tuned-app").await;
    approve(&h, "tuned-app").await;
    let settings = |ttl: &'static str, sms: bool| {
        let mut fields = vec![
            ("csrf", token.clone()),
            ("access_ttl_secs", ttl.to_owned()),
            ("reuse_grace_secs", String::new()),
            ("email", "on".to_owned()),
            ("sms_countries", "any".to_owned()),
            ("sms_per_day", "10".to_owned()),
            ("emails_per_day", "10".to_owned()),
        ];
        if sms {
            fields.push(("sms", "on".to_owned()));
        }
        fields
    };

    // Act
    let out_of_bounds = visitor
        .post_owned("/portal/apps/tuned-app/settings", &settings("30", true))
        .await;
    let saved = visitor
        .post_owned("/portal/apps/tuned-app/settings", &settings("120", false))
        .await;
    let email = unique_email();
    let sent = crate::support::send_otp(&h.server, &app, json!({ "email": email })).await;
    let code = h.sink.code_for(&sent.str("otp_request_id")).await;
    let login = verify_otp(&h.server, &app, &sent.str("otp_request_id"), &code).await;
    let by_sms = send_otp_to_phone(&h.server, &app, &unique_phone()).await;

    // Assert
    assert_eq!(out_of_bounds.status, 400);
    assert!(
        out_of_bounds.body.contains("access_ttl_secs"),
        "{}",
        out_of_bounds.body
    );
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(
        saved.header("location"),
        "/portal/apps/tuned-app/settings?saved=1"
    );
    login.assert_ok();
    assert_eq!(login.body["expires_in"], 120);
    let claims =
        crate::support::jwt::verified_claims(&h.server, &app, &login.str("access_token")).await;
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        120
    );
    by_sms.assert_error(400, "invalid_request");
    assert!(
        by_sms.text.contains("does not accept sms"),
        "{}",
        by_sms.text
    );
    let page = visitor.get("/portal/apps/tuned-app/settings?saved=1").await;
    assert!(page.body.contains("Saved."));
    assert!(
        page.body
            .contains(r#"name="access_ttl_secs" type="number" min="60" max="3600" value="120""#),
        "{}",
        page.body
    );
    let records = recorded(&h, &app, "app_settings_changed").await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["details"]["access_ttl_secs"], 120);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_developer_issues_a_license_key_once_and_suspends_and_revokes_it() {
    // Arrange
    let h = Harness::start().await;
    let mut visitor = signed_in_visitor(&h).await;
    let (app, token) = create_app(&mut visitor, "licensed-app").await;
    let activate = |key: &str| json!({ "key": key, "device_fingerprint": "device-1" });

    // Act
    let refused = visitor
        .post(
            "/portal/apps/licensed-app/licenses",
            &[
                ("csrf", &token),
                ("product", "pro"),
                ("max_activations", "0"),
            ],
        )
        .await;
    let generated = visitor
        .post(
            "/portal/apps/licensed-app/licenses",
            &[
                ("csrf", &token),
                ("product", "pro"),
                ("max_activations", "2"),
            ],
        )
        .await;
    let key = generated.input("license-key");
    let active = crate::support::post(&h.server, &app, "/licenses/activate", activate(&key)).await;
    let listed = visitor.get("/portal/apps/licensed-app/licenses").await;
    let id = active.body["license"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let base = format!("/portal/apps/licensed-app/licenses/{id}");
    let suspended = visitor
        .post(&format!("{base}/suspend"), &[("csrf", &token)])
        .await;
    let while_suspended =
        crate::support::post(&h.server, &app, "/licenses/activate", activate(&key)).await;
    visitor
        .post(&format!("{base}/reinstate"), &[("csrf", &token)])
        .await;
    let reinstated =
        crate::support::post(&h.server, &app, "/licenses/activate", activate(&key)).await;
    visitor
        .post(&format!("{base}/revoke"), &[("csrf", &token)])
        .await;
    let revoked = crate::support::post(&h.server, &app, "/licenses/activate", activate(&key)).await;

    // Assert
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("max_activations"), "{}", refused.body);
    assert_eq!(generated.status, 201, "{}", generated.body);
    assert!(generated.body.contains("this key will not be shown again"));
    active.assert_ok();
    assert_eq!(active.body["license"]["max_activations"], 2);
    assert!(listed.body.contains(&id), "{}", listed.body);
    assert!(!listed.body.contains(&key), "the key is never shown again");
    assert_eq!(suspended.status, 303);
    while_suspended.assert_error(403, "license_suspended");
    reinstated.assert_ok();
    revoked.assert_error(403, "license_revoked");
    let records = recorded(&h, &app, "license_generated").await;
    assert_eq!(records[0]["actor"], "developer", "{records:?}");
}
