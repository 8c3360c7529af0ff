//! What every app call shares: reading its JSON body with the credentials and end-user context
//! every call carries, and turning a refusal into the answer that names its request.

use actix_web::{HttpRequest, HttpResponse, web};
use auth_usecases::{AppCredentials, AuthError, Caller};
use std::net::IpAddr;

use crate::body::{Fields, JsonBody};
use crate::client_addr::client_addr;
use crate::{ApiError, Failure, request_id};

pub(crate) type Answer = Result<HttpResponse, Failure>;

pub(crate) const MAX_ID_CHARS: usize = 100;
const MAX_SECRET_CHARS: usize = 256;
const MAX_USER_AGENT_CHARS: usize = 512;

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
        peer_ip: client_addr(request).map(|ip| ip.to_string()),
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
