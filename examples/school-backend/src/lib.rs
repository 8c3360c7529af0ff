#![doc = include_str!("../README.md")]

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use auth_engine_verify::{Authenticated, HttpJwks, Options, Verifier};
use serde::Deserialize;
use serde_json::{Value, json};
use std::net::TcpListener;

/// The cookie that holds the refresh token; only the `/session` endpoints ever receive it.
pub const REFRESH_COOKIE: &str = "refresh_token";

/// How this backend reaches the engine, and as which app.
#[derive(Clone)]
pub struct Config {
    /// Where the engine's API answers, e.g. `http://127.0.0.1:8080`.
    pub engine_url: String,
    /// The engine's `AUTH_PUBLIC_URL`: the `iss` of its tokens.
    pub issuer: String,
    pub app_id: String,
    pub app_secret: String,
    pub app_slug: String,
    /// `Secure` on the refresh cookie; off only for plain-http development.
    pub cookie_secure: bool,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("engine_url", &self.engine_url)
            .field("issuer", &self.issuer)
            .field("app_id", &self.app_id)
            .field("app_slug", &self.app_slug)
            .finish_non_exhaustive()
    }
}

/// The engine's API, called with this app's credentials.
#[derive(Debug, Clone)]
struct Engine {
    http: reqwest::Client,
    config: Config,
}

impl Engine {
    /// POSTs `fields` plus the app's credentials and the end user's address and browser to the
    /// engine's `path` (its per-user limits and audit records need them); the engine's answer as
    /// this backend's answer when it is an error.
    async fn call(
        &self,
        request: &HttpRequest,
        path: &str,
        mut fields: Value,
    ) -> Result<Value, HttpResponse> {
        fields["app_id"] = json!(self.config.app_id);
        fields["app_secret"] = json!(self.config.app_secret);
        // Behind a proxy, take the address from the header your proxy sets instead.
        if let Some(peer) = request.peer_addr() {
            fields["client_ip"] = json!(peer.ip().to_string());
        }
        if let Some(agent) = request
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
        {
            fields["user_agent"] = json!(agent.chars().take(256).collect::<String>());
        }
        let response = self
            .http
            .post(format!("{}{path}", self.config.engine_url))
            .json(&fields)
            .send()
            .await
            .map_err(|_| unavailable())?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|_| unavailable())?;
        if status.is_success() {
            Ok(body)
        } else {
            let status = actix_web::http::StatusCode::from_u16(status.as_u16())
                .unwrap_or(actix_web::http::StatusCode::BAD_GATEWAY);
            Err(HttpResponse::build(status).json(body))
        }
    }
}

fn unavailable() -> HttpResponse {
    HttpResponse::BadGateway().json(json!({
        "error": "service_unavailable",
        "message": "the sign-in service cannot be reached; retry later",
    }))
}

fn refresh_cookie(config: &Config, token: &str, max_age_secs: i64) -> Cookie<'static> {
    Cookie::build(REFRESH_COOKIE, token.to_owned())
        .path("/session")
        .http_only(true)
        .secure(config.cookie_secure)
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age_secs))
        .finish()
}

/// A token response of the engine as this backend answers it: the access token in the body, the
/// refresh token only in the cookie.
fn signed_in(config: &Config, tokens: &Value) -> HttpResponse {
    let refresh = tokens["refresh_token"].as_str().unwrap_or_default();
    let lifetime = tokens["refresh_expires_in"].as_i64().unwrap_or(0);
    HttpResponse::Ok()
        .cookie(refresh_cookie(config, refresh, lifetime))
        .json(json!({
            "access_token": tokens["access_token"],
            "expires_in": tokens["expires_in"],
            "user": tokens["user"],
        }))
}

#[derive(Debug, Deserialize)]
struct Start {
    phone: Option<String>,
    email: Option<String>,
}

async fn login_start(
    engine: web::Data<Engine>,
    request: HttpRequest,
    body: web::Json<Start>,
) -> HttpResponse {
    // Exactly one is expected; the engine names the problem when not.
    let mut fields = json!({});
    if let Some(phone) = &body.phone {
        fields["phone"] = json!(phone);
    }
    if let Some(email) = &body.email {
        fields["email"] = json!(email);
    }
    match engine.call(&request, "/auth/send-otp", fields).await {
        Ok(sent) => HttpResponse::Ok().json(json!({
            "otp_request_id": sent["otp_request_id"],
            "destination_hint": sent["destination_hint"],
            "resend_after": sent["resend_after"],
        })),
        Err(refused) => refused,
    }
}

#[derive(Debug, Deserialize)]
struct Finish {
    otp_request_id: String,
    code: String,
}

async fn login_finish(
    engine: web::Data<Engine>,
    request: HttpRequest,
    body: web::Json<Finish>,
) -> HttpResponse {
    let fields = json!({ "otp_request_id": body.otp_request_id, "otp": body.code });
    match engine.call(&request, "/auth/verify-otp", fields).await {
        Ok(tokens) => signed_in(&engine.config, &tokens),
        Err(refused) => refused,
    }
}

fn no_session() -> HttpResponse {
    HttpResponse::Unauthorized().json(json!({
        "error": "refresh_token_invalid",
        "message": "no session: sign in",
    }))
}

/// The removal of the refresh cookie.
fn cleared(config: &Config) -> Cookie<'static> {
    let mut gone = refresh_cookie(config, "", 0);
    gone.make_removal();
    gone
}

async fn refresh(engine: web::Data<Engine>, request: HttpRequest) -> HttpResponse {
    let Some(cookie) = request.cookie(REFRESH_COOKIE) else {
        return no_session();
    };
    let fields = json!({ "refresh_token": cookie.value() });
    match engine.call(&request, "/auth/refresh", fields).await {
        Ok(tokens) => signed_in(&engine.config, &tokens),
        // A refused refresh token is dead for good: stop the browser from sending it.
        Err(mut refused) if refused.status() == actix_web::http::StatusCode::UNAUTHORIZED => {
            let _ = refused.add_cookie(&cleared(&engine.config));
            refused
        }
        Err(refused) => refused,
    }
}

async fn logout(engine: web::Data<Engine>, request: HttpRequest) -> HttpResponse {
    if let Some(cookie) = request.cookie(REFRESH_COOKIE) {
        let fields = json!({ "refresh_token": cookie.value() });
        // The cookie goes whatever the engine answers: a session it no longer knows is over too.
        if let Err(refused) = engine.call(&request, "/auth/logout", fields).await
            && refused.status().is_server_error()
        {
            return refused;
        }
    }
    HttpResponse::NoContent()
        .cookie(cleared(&engine.config))
        .finish()
}

async fn me(user: Authenticated) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "user_id": user.claims.sub,
        "phone": user.claims.phone,
        "email": user.claims.email,
        "tenants": user.claims.tenants,
    }))
}

async fn grades(user: Authenticated, tenant: web::Path<String>) -> HttpResponse {
    if !user.claims.has_role(&tenant, "teacher") {
        return HttpResponse::Forbidden().json(json!({
            "error": "forbidden",
            "message": "only a teacher of this school sees its grades",
        }));
    }
    HttpResponse::Ok().json(json!({ "school": *tenant, "grades": [] }))
}

/// Serves the backend on `listener` until the returned server is stopped.
///
/// # Errors
/// When the listener cannot be used.
pub fn serve(listener: TcpListener, config: Config) -> std::io::Result<actix_web::dev::Server> {
    let jwks_url = format!("{}/apps/{}/jwks.json", config.engine_url, config.app_slug);
    let verifier = Verifier::with_source(
        &config.issuer,
        &config.app_slug,
        HttpJwks::new(jwks_url),
        Options::default(),
    );
    let engine = web::Data::new(Engine {
        http: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(5))
            .build()
            .unwrap_or_default(),
        config,
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            .app_data(engine.clone())
            .route("/login/start", web::post().to(login_start))
            .route("/login/finish", web::post().to(login_finish))
            .route("/session/refresh", web::post().to(refresh))
            .route("/session/logout", web::post().to(logout))
            .route("/me", web::get().to(me))
            .route("/schools/{tenant}/grades", web::get().to(grades))
    })
    .workers(1)
    .listen(listener)?
    .run();
    Ok(server)
}
