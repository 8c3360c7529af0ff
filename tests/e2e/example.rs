//! The example backend (`examples/school-backend`) against a real engine: a person signs in through
//! the backend's own endpoints, keeps the refresh token only in its cookie, reaches routes guarded
//! by `auth-engine-verify`, and gains a teacher's access when the engine gives them the role.

use school_backend::{Config, REFRESH_COOKIE};
use serde_json::{Value, json};

use crate::support::{Harness, PUBLIC_URL, unique_phone};

/// The example backend on a loopback port, configured with the harness app's credentials.
fn start_backend(h: &Harness) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    let config = Config {
        engine_url: h.server.url("").trim_end_matches('/').to_owned(),
        issuer: PUBLIC_URL.to_owned(),
        app_id: h.app.app_id.clone(),
        app_secret: h.app.app_secret.clone(),
        app_slug: h.app.app_slug.clone(),
        cookie_secure: false,
    };
    let server = school_backend::serve(listener, config).unwrap();
    tokio::spawn(server);
    format!("http://{address}")
}

/// One answer of the backend.
struct Answer {
    status: u16,
    set_cookie: Option<String>,
    body: Value,
}

/// A browser-like client of the backend that keeps its refresh cookie by hand.
struct Person {
    http: reqwest::Client,
    base: String,
    refresh_cookie: Option<String>,
}

impl Person {
    async fn send(&mut self, request: reqwest::RequestBuilder) -> Answer {
        let request = match &self.refresh_cookie {
            Some(value) => request.header("cookie", format!("{REFRESH_COOKIE}={value}")),
            None => request,
        };
        let response = request.send().await.unwrap();
        let set_cookie = response
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(set) = &set_cookie {
            let value = set
                .split(';')
                .next()
                .and_then(|pair| pair.split_once('='))
                .map(|(_, value)| value.to_owned())
                .unwrap_or_default();
            self.refresh_cookie = (!value.is_empty()).then_some(value);
        }
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            set_cookie,
            body,
        }
    }

    async fn post(&mut self, path: &str, body: Value) -> Answer {
        let request = self.http.post(format!("{}{path}", self.base)).json(&body);
        self.send(request).await
    }

    async fn get(&mut self, path: &str, access_token: Option<&str>) -> Answer {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(token) = access_token {
            request = request.bearer_auth(token);
        }
        self.send(request).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_example_backend_signs_a_person_in_and_guards_its_routes_with_the_engines_tokens() {
    // Arrange
    let h = Harness::start().await;
    let mut person = Person {
        http: reqwest::Client::builder()
            .user_agent("school-e2e-browser")
            .build()
            .unwrap(),
        base: start_backend(&h),
        refresh_cookie: None,
    };
    let phone = unique_phone();

    // Act: sign in through the backend's own endpoints.
    let started = person.post("/login/start", json!({ "phone": phone })).await;
    let request_id = started.body["otp_request_id"].as_str().unwrap_or_default();
    let code = h.sink.code_for(request_id).await;
    let wrong = person
        .post(
            "/login/finish",
            json!({ "otp_request_id": request_id, "code": crate::support::wrong_code(&code) }),
        )
        .await;
    let finished = person
        .post(
            "/login/finish",
            json!({ "otp_request_id": request_id, "code": code }),
        )
        .await;
    let access = finished.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let me = person.get("/me", Some(&access)).await;
    let anonymous = person.get("/me", None).await;
    let not_a_teacher = person
        .get("/schools/springfield/grades", Some(&access))
        .await;
    h.give_role("springfield", "teacher", &phone).await;
    let refreshed = person.post("/session/refresh", json!({})).await;
    let teacher_access = refreshed.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let as_teacher = person
        .get("/schools/springfield/grades", Some(&teacher_access))
        .await;
    let another_school = person
        .get("/schools/shelbyville/grades", Some(&teacher_access))
        .await;
    let kept_cookie = person.refresh_cookie.clone();
    let logged_out = person.post("/session/logout", json!({})).await;
    person.refresh_cookie = kept_cookie;
    let after_logout = person.post("/session/refresh", json!({})).await;

    // Assert
    assert_eq!(started.status, 200, "{}", started.body);
    assert!(started.body.get("app_secret").is_none());
    assert_eq!(wrong.status, 401);
    assert_eq!(
        wrong.body["error"], "otp_invalid",
        "engine errors pass through"
    );
    assert_eq!(finished.status, 200, "{}", finished.body);
    assert!(
        finished.body.get("refresh_token").is_none(),
        "the refresh token is only in the cookie: {}",
        finished.body
    );
    let cookie = finished.set_cookie.unwrap_or_default();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/session"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    assert_eq!(me.status, 200);
    assert_eq!(me.body["user_id"], finished.body["user"]["id"]);
    assert_eq!(me.body["phone"], json!(phone));
    assert_eq!(anonymous.status, 401);
    assert_eq!(anonymous.body["error"], "token_missing");
    assert_eq!(not_a_teacher.status, 403);
    assert_eq!(refreshed.status, 200, "{}", refreshed.body);
    assert_eq!(as_teacher.status, 200, "{}", as_teacher.body);
    assert_eq!(another_school.status, 403);
    assert_eq!(logged_out.status, 204);
    assert!(
        logged_out
            .set_cookie
            .is_some_and(|c| c.starts_with(&format!("{REFRESH_COOKIE}=;"))),
        "logout clears the cookie"
    );
    assert_eq!(after_logout.status, 401);
    assert_eq!(after_logout.body["error"], "session_revoked");
    assert!(
        after_logout
            .set_cookie
            .is_some_and(|c| c.starts_with(&format!("{REFRESH_COOKIE}=;"))),
        "a refused refresh token's cookie is cleared"
    );
    // The backend passed the person's browser on, so the engine's records name it.
    let logins = h.post("/audit/events", json!({ "event": "login" })).await;
    assert_eq!(
        logins.body["events"][0]["user_agent"], "school-e2e-browser",
        "{}",
        logins.text
    );
}
