//! The HTTP endpoints: each reads and checks its input, calls one use case and shapes the answer.

use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use auth_domain::ids::OtpId;
use auth_domain::otp::OtpCode;
use auth_domain::session::RefreshToken;
use auth_domain::{Email, Identifier, Phone, TenantSlug};
use auth_usecases::{
    AppCredentials, AuthError, Caller, LogoutRequest, RefreshRequest, SendOtp, VerifyOtpRequest,
};
use std::net::IpAddr;

use crate::body::{Fields, JsonBody};
use crate::dto::{JwkBody, JwksBody, LogoutBody, MeBody, OtpSentBody, StatusBody, TokenBody};
use crate::endpoints::{ENDPOINTS, Verb};
use crate::{ApiError, AppState, Failure, request_id};

pub(crate) type Answer = Result<HttpResponse, Failure>;

const MAX_ID_CHARS: usize = 100;
const MAX_SECRET_CHARS: usize = 256;
const MAX_USER_AGENT_CHARS: usize = 512;
const MAX_TOKEN_CHARS: usize = 100;
const MAX_TENANT_CHARS: usize = 63;

pub fn configure(config: &mut web::ServiceConfig) {
    for endpoint in ENDPOINTS {
        let (method, name) = match endpoint.verb {
            Verb::Get => (Method::GET, "GET"),
            Verb::Post => (Method::POST, "POST"),
        };
        let allow = HeaderValue::from_static(name);
        let other_methods =
            web::to(move |request: HttpRequest| method_not_allowed(request, allow.clone()));
        config.service(
            web::resource(endpoint.path)
                .route((endpoint.handler)().method(method))
                .default_service(other_methods),
        );
    }
    config.default_service(web::to(not_found));
}

pub(crate) fn fail(request: &HttpRequest) -> impl Fn(ApiError) -> Failure + '_ {
    move |error| Failure {
        error,
        request_id: request_id(request),
    }
}

pub(crate) fn auth_fail(request: &HttpRequest) -> impl Fn(AuthError) -> Failure + '_ {
    move |error| Failure {
        error: error.into(),
        request_id: request_id(request),
    }
}

async fn not_found(request: HttpRequest) -> Answer {
    Err(fail(&request)(ApiError::NotFound))
}

/// Another method on a known path: `method_not_allowed`, and `Allow` naming the one it takes.
async fn method_not_allowed(request: HttpRequest, allow: HeaderValue) -> HttpResponse {
    let mut response = ApiError::MethodNotAllowed.to_response(&request_id(&request));
    response.headers_mut().insert(header::ALLOW, allow);
    response
}

/// Refuses the request with the problems found, or hands back what was read.
pub(crate) fn read<T>(
    request: &HttpRequest,
    body: JsonBody,
    value: Option<T>,
) -> Result<T, Failure> {
    body.finish().map_err(fail(request))?;
    value.ok_or_else(|| fail(request)(AuthError::invalid_field("body", "is incomplete").into()))
}

/// Reads an app call's JSON body and the fields every app call carries.
pub(crate) async fn app_body(
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<(JsonBody, AppCredentials, Caller), Failure> {
    let mut body = JsonBody::read(request, payload)
        .await
        .map_err(fail(request))?;
    let (credentials, caller) = app_call(&mut body, request);
    Ok((body, credentials, caller))
}

/// The fields every app call carries: credentials and the optional end-user context.
fn app_call(body: &mut JsonBody, request: &HttpRequest) -> (AppCredentials, Caller) {
    let (credentials, client_ip, user_agent) = app_fields(body);
    let caller = Caller {
        request_id: request_id(request),
        client_ip,
        peer_ip: request.peer_addr().map(|peer| peer.ip().to_string()),
        user_agent,
    };
    (credentials, caller)
}

/// An app call's credentials, and the end user's address and browser as the backend saw them.
pub(crate) fn app_fields(
    body: &mut impl Fields,
) -> (AppCredentials, Option<String>, Option<String>) {
    let app_id = body
        .required_str("app_id", MAX_ID_CHARS)
        .unwrap_or_default();
    let app_secret = body
        .required_str("app_secret", MAX_SECRET_CHARS)
        .unwrap_or_default();
    let client_ip = body.optional_str("client_ip", 64);
    let client_ip = body.parsed("client_ip", client_ip, |raw| {
        raw.parse::<IpAddr>()
            .map(|ip| ip.to_string())
            .map_err(|_| auth_domain::ParseError("must be an IPv4 or IPv6 address"))
    });
    let user_agent = body.optional_str("user_agent", MAX_USER_AGENT_CHARS);
    (AppCredentials { app_id, app_secret }, client_ip, user_agent)
}

/// The optional `tenant` a token is to be scoped to.
fn tenant(body: &mut impl Fields) -> Option<TenantSlug> {
    let raw = body.optional_str("tenant", MAX_TENANT_CHARS);
    body.parsed("tenant", raw, TenantSlug::parse)
}

/// Exactly one of `phone` or `email`.
pub(crate) fn identifier(body: &mut impl Fields) -> Option<Identifier> {
    let phone = body.optional_str("phone", 16);
    let email = body.optional_str("email", 254);
    match (phone, email) {
        (Some(phone), None) => body
            .parsed("phone", Some(phone), Phone::parse)
            .map(Identifier::Phone),
        (None, Some(email)) => body
            .parsed("email", Some(email), Email::parse)
            .map(Identifier::Email),
        (Some(_), Some(_)) => {
            body.problem("phone", "give exactly one of phone or email");
            None
        }
        (None, None) => {
            body.problem("phone", "one of phone or email is required");
            None
        }
    }
}

pub(crate) async fn send_otp(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let identifier = identifier(&mut body);
    let identifier = read(&request, body, identifier)?;
    let sent = state
        .service
        .send_otp(SendOtp {
            credentials,
            identifier,
            caller,
        })
        .await
        .map_err(auth_fail(&request))?;
    state.metrics.otp_sent(sent.channel);
    Ok(HttpResponse::Ok().json(OtpSentBody::from(sent)))
}

/// The code being answered, and the tenant the token is to be scoped to.
pub(crate) fn otp_answer(body: &mut impl Fields) -> Option<(OtpId, OtpCode, Option<TenantSlug>)> {
    let otp_id = body.required_str("otp_request_id", MAX_ID_CHARS);
    let otp_id = body.parsed("otp_request_id", otp_id, OtpId::parse);
    let code = body.required_str("otp", 16);
    let code = body.parsed("otp", code, OtpCode::parse);
    let tenant = tenant(body);
    otp_id.zip(code).map(|(id, code)| (id, code, tenant))
}

pub(crate) async fn verify_otp(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let answer = otp_answer(&mut body);
    let (otp_request_id, code, tenant) = read(&request, body, answer)?;
    let grant = state
        .service
        .verify_otp(VerifyOtpRequest {
            credentials,
            otp_request_id,
            code,
            tenant,
            caller,
        })
        .await
        .map_err(auth_fail(&request))?;
    Ok(HttpResponse::Ok().json(TokenBody::from(grant)))
}

type Presented = Result<Option<RefreshToken>, AuthError>;

/// A refresh token field: a malformed one is simply not a token this engine issued.
fn refresh_token(body: &mut impl Fields) -> Presented {
    match body.required_str("refresh_token", MAX_TOKEN_CHARS) {
        Some(raw) => RefreshToken::parse(&raw)
            .map(Some)
            .map_err(|_| AuthError::RefreshTokenInvalid),
        None => Ok(None),
    }
}

/// The refresh token to rotate, and the tenant the new access token is to be scoped to.
pub(crate) fn rotation(body: &mut impl Fields) -> (Presented, Option<TenantSlug>) {
    (refresh_token(body), tenant(body))
}

/// The refresh token of the session to end, and whether every session of its user ends.
pub(crate) fn ending(body: &mut impl Fields) -> (Presented, bool) {
    let token = refresh_token(body);
    (token, body.optional_bool("all_sessions").unwrap_or(false))
}

pub(crate) async fn refresh(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let (token, tenant) = rotation(&mut body);
    let token = read(&request, body, Some(token))?;
    let refresh_token = token.map_err(auth_fail(&request))?.ok_or_else(|| {
        auth_fail(&request)(AuthError::invalid_field("refresh_token", "is required"))
    })?;
    let grant = state
        .service
        .refresh(RefreshRequest {
            credentials,
            refresh_token,
            tenant,
            caller,
        })
        .await
        .map_err(|error| {
            if error == AuthError::RefreshTokenReused {
                state.metrics.refresh_reuse_detected();
            }
            auth_fail(&request)(error)
        })?;
    Ok(HttpResponse::Ok().json(TokenBody::from(grant)))
}

pub(crate) async fn logout(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let (token, all_sessions) = ending(&mut body);
    let token = read(&request, body, Some(token))?;
    let refresh_token = token.map_err(auth_fail(&request))?.ok_or_else(|| {
        auth_fail(&request)(AuthError::invalid_field("refresh_token", "is required"))
    })?;
    let revoked = state
        .service
        .logout(LogoutRequest {
            credentials,
            refresh_token,
            all_sessions,
            caller,
        })
        .await
        .map_err(auth_fail(&request))?;
    Ok(HttpResponse::Ok().json(LogoutBody {
        revoked_sessions: revoked,
    }))
}

pub(crate) async fn me(request: HttpRequest, state: web::Data<AppState>) -> Answer {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return Err(auth_fail(&request)(AuthError::TokenMissing));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|value| {
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or_else(|| auth_fail(&request)(AuthError::TokenInvalid))?;
    let view = state.service.me(token).await.map_err(auth_fail(&request))?;
    Ok(HttpResponse::Ok().json(MeBody::from(view)))
}

pub(crate) async fn jwks(
    request: HttpRequest,
    slug: web::Path<String>,
    state: web::Data<AppState>,
) -> Answer {
    let keys = state
        .service
        .jwks(&slug)
        .await
        .map_err(auth_fail(&request))?;
    let Some(keys) = keys else {
        return Err(fail(&request)(ApiError::NotFound));
    };
    let keys = keys.into_iter().map(JwkBody::from).collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(JwksBody { keys }))
}

pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(StatusBody { status: "ok" })
}

pub(crate) async fn readyz(request: HttpRequest, state: web::Data<AppState>) -> Answer {
    state.service.ready().await.map_err(auth_fail(&request))?;
    Ok(HttpResponse::Ok().json(StatusBody { status: "ready" }))
}

pub(crate) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}

pub(crate) async fn openapi(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(state.api.json())
}
