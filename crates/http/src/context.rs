//! Per-request context: the request id on every response, a tracing span, and safe defaults for
//! headers.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, HttpRequest, web};
use auth_domain::ids::base32;
use std::time::Instant;
use tracing::Instrument as _;

use crate::AppState;
use crate::client_addr::ClientAddr;

pub use auth_usecases::RequestId;

/// The request id of `request` (set by [`request_context`] before any handler runs).
#[must_use]
pub fn request_id(request: &HttpRequest) -> String {
    request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default()
}

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Middleware: assigns the request id, logs the request without its body, and sets headers.
///
/// # Errors
/// Whatever the inner service returns.
pub async fn request_context(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut bytes = [0u8; 10];
    let state = request.app_data::<web::Data<AppState>>().cloned();
    if let Some(state) = &state {
        state.random.fill(&mut bytes);
    }
    let id = format!("req_{}", base32(&bytes));
    request.extensions_mut().insert(RequestId(id.clone()));
    if let (Some(state), Some(peer)) = (&state, request.peer_addr()) {
        let client = state
            .trusted_proxies
            .client_of(peer.ip(), request.headers());
        request.extensions_mut().insert(ClientAddr(client));
    }
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.path());
    let started = Instant::now();
    let mut response = next.call(request).instrument(span.clone()).await?;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            "served"
        );
    });
    if let Some(state) = &state {
        // The route pattern, not the path: slugs in paths would make the label set unbounded.
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        state.metrics.record_request(&route, status, elapsed);
    }
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&id) {
        headers.insert(X_REQUEST_ID.clone(), value);
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        // Responses carry tokens and personal data: no cache may keep them.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if state.as_ref().is_some_and(|state| state.hsts) {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    Ok(response)
}
