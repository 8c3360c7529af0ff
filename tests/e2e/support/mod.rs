//! The test kit: a real server process per test, a webhook sink that receives its codes, and the
//! calls an integrating backend makes.

#![allow(
    dead_code,
    unused_macros,
    reason = "each test module, and the load bench, uses a different part of the kit"
)]

pub mod browser;
pub mod database;
pub mod docs;
pub mod http;
pub mod jwt;
pub mod proxy;
pub mod server;
pub mod sha256;
pub mod webhook;

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};

pub use http::{Reply, fire_at_once};
pub use server::{AppCreds, MASTER_KEY, PUBLIC_URL, TestServer, TestServerBuilder};
pub use webhook::WebhookSink;

/// Runs `async fn $case(builder: TestServerBuilder)` twice, as `$case::on_sqlite` (the default
/// embedded database) and `$case::on_postgres` (a scratch database of its own; skipped without
/// `TEST_DATABASE_URL`, except under `CI=true`).
macro_rules! on_both_backends {
    ($case:ident) => {
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn on_sqlite() {
                super::$case($crate::support::TestServer::builder()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn on_postgres() {
                let Some(database) = $crate::support::database::scratch_database().await else {
                    return;
                };
                super::$case($crate::support::TestServer::builder().postgres(database.url())).await;
            }
        }
    };
}
pub(crate) use on_both_backends;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// Everything a finished `auth-engine` command printed, stdout then stderr.
pub fn output_text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// How long an operator's change, made by a command in another process, may take to reach a
/// running engine that keeps the app: on PostgreSQL the engine hears of it by notification,
/// milliseconds after the commit (docs/operations.md, scale-out), and a busy machine may take a
/// while longer to act on it. On SQLite it takes effect at the next request.
pub const CHANGE_HEARD_WITHIN: std::time::Duration = std::time::Duration::from_millis(500);

/// Waits out [`CHANGE_HEARD_WITHIN`] after an operator's command changed an app.
pub async fn until_the_change_is_heard() {
    tokio::time::sleep(CHANGE_HEARD_WITHIN).await;
}

/// A valid E.164 mobile number (India, 10 national digits) no other test in this run uses.
pub fn unique_phone() -> String {
    format!("+9198{:08}", next_id())
}

pub fn unique_email() -> String {
    format!("user{}@example.com", next_id())
}

pub fn unique_slug(prefix: &str) -> String {
    format!("{prefix}-{}", next_id())
}

/// A code of the same shape as `code` that is certainly not `code`.
pub fn wrong_code(code: &str) -> String {
    let mut digits: Vec<char> = code.chars().collect();
    let last = digits.last_mut().expect("a non-empty code");
    let value = last.to_digit(10).expect("a numeric code");
    *last = char::from_digit((value + 1) % 10, 10).expect("a digit");
    digits.into_iter().collect()
}

/// POSTs `fields` plus the app's `app_id` and `app_secret` to `path`.
pub async fn post(server: &TestServer, app: &AppCreds, path: &str, fields: Value) -> Reply {
    server.post(path, &app.body(fields)).await
}

pub async fn send_otp(server: &TestServer, app: &AppCreds, fields: Value) -> Reply {
    server.post("/auth/send-otp", &app.body(fields)).await
}

pub async fn send_otp_to_phone(server: &TestServer, app: &AppCreds, phone: &str) -> Reply {
    send_otp(server, app, json!({ "phone": phone })).await
}

pub async fn verify_otp(
    server: &TestServer,
    app: &AppCreds,
    otp_request_id: &str,
    code: &str,
) -> Reply {
    let body = app.body(json!({ "otp_request_id": otp_request_id, "otp": code }));
    server.post("/auth/verify-otp", &body).await
}

pub async fn refresh(server: &TestServer, app: &AppCreds, refresh_token: &str) -> Reply {
    server
        .post(
            "/auth/refresh",
            &app.body(json!({ "refresh_token": refresh_token })),
        )
        .await
}

pub async fn logout(
    server: &TestServer,
    app: &AppCreds,
    refresh_token: &str,
    all_sessions: bool,
) -> Reply {
    let body = app.body(json!({ "refresh_token": refresh_token, "all_sessions": all_sessions }));
    server.post("/auth/logout", &body).await
}

pub async fn me(server: &TestServer, access_token: &str) -> Reply {
    server.get_with_bearer("/auth/me", access_token).await
}

/// Sends a code to `phone`, reads it from the sink and verifies it: the token response.
pub async fn login(server: &TestServer, app: &AppCreds, sink: &WebhookSink, phone: &str) -> Reply {
    let sent = send_otp_to_phone(server, app, phone).await;
    sent.assert_ok();
    let otp_request_id = sent.str("otp_request_id");
    let code = sink.code_for(&otp_request_id).await;
    let verified = verify_otp(server, app, &otp_request_id, &code).await;
    verified.assert_ok();
    verified
}

/// A server delivering codes to its own sink, with one app already created.
#[derive(Debug)]
pub struct Harness {
    pub sink: WebhookSink,
    pub server: TestServer,
    pub app: AppCreds,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(TestServer::builder()).await
    }

    pub async fn start_with(builder: TestServerBuilder) -> Self {
        let sink = WebhookSink::start().await;
        let server = builder.webhook(&sink).start().await;
        let slug = unique_slug("app");
        let app = server.create_app("Test App", &slug).await;
        assert_eq!(
            app.app_slug, slug,
            "apps create must keep the requested slug"
        );
        Self { sink, server, app }
    }

    /// POSTs `fields` plus this harness's app credentials to `path`.
    pub async fn post(&self, path: &str, fields: Value) -> Reply {
        post(&self.server, &self.app, path, fields).await
    }

    pub async fn send_otp(&self, fields: Value) -> Reply {
        send_otp(&self.server, &self.app, fields).await
    }

    pub async fn send_otp_to_phone(&self, phone: &str) -> Reply {
        send_otp_to_phone(&self.server, &self.app, phone).await
    }

    pub async fn verify_otp(&self, otp_request_id: &str, code: &str) -> Reply {
        verify_otp(&self.server, &self.app, otp_request_id, code).await
    }

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
        refresh(&self.server, &self.app, refresh_token).await
    }

    pub async fn logout(&self, refresh_token: &str, all_sessions: bool) -> Reply {
        logout(&self.server, &self.app, refresh_token, all_sessions).await
    }

    pub async fn me(&self, access_token: &str) -> Reply {
        me(&self.server, access_token).await
    }

    pub async fn login(&self, phone: &str) -> Reply {
        login(&self.server, &self.app, &self.sink, phone).await
    }

    /// Creates the tenant `tenant` and gives the person with `phone` the role `role` in it.
    pub async fn give_role(&self, tenant: &str, role: &str, phone: &str) {
        self.post("/tenants/create", json!({ "slug": tenant, "name": tenant }))
            .await
            .assert_ok();
        let assign = json!({ "tenant": tenant, "role": role, "phone": phone });
        self.post("/roles/assign", assign).await.assert_ok();
    }

    /// Sends a code and returns `(otp_request_id, code)` as the sink received them.
    pub async fn request_code(&self, phone: &str) -> (String, String) {
        let sent = self.send_otp_to_phone(phone).await;
        sent.assert_ok();
        let otp_request_id = sent.str("otp_request_id");
        let code = self.sink.code_for(&otp_request_id).await;
        (otp_request_id, code)
    }
}
