//! The HTTP endpoints: each reads and checks its input, calls one use case and shapes the answer.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use auth_domain::ids::OtpId;
use auth_domain::otp::OtpCode;
use auth_domain::session::RefreshToken;
use auth_domain::{Email, Identifier, Phone, TenantSlug};
use auth_usecases::{AuthError, LogoutRequest, RefreshRequest, SendOtp, VerifyOtpRequest};

use crate::app_call::{Answer, MAX_ID_CHARS, app_body, auth_fail, fail, read};
use crate::body::Fields;
use crate::dto::{JwkBody, JwksBody, LogoutBody, MeBody, OtpSentBody, StatusBody, TokenBody};
use crate::{ApiError, AppState};

const MAX_TOKEN_CHARS: usize = 100;
const MAX_TENANT_CHARS: usize = 63;

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
    crate::body::refuse_credentials_in_url(&request).map_err(fail(&request))?;
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
