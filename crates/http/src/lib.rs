#![doc = include_str!("../README.md")]

mod app_call;
mod audit_routes;
mod body;
mod body_shape;
mod client_addr;
mod context;
mod dto;
mod endpoints;
mod error;
mod license_routes;
mod metrics;
mod openapi;
mod routes;
mod strict_json;
mod tenant_routes;

pub use body::MAX_BODY_BYTES;
pub use client_addr::TrustedProxies;
pub use context::{RequestId, request_context, request_id};
pub use dto::{AuditJwkBody, AuditKeysBody};
pub use endpoints::Verb;
pub use error::{ApiError, CATALOGUE, Failure};
pub use metrics::Metrics;
pub use openapi::{ApiDocument, HtmlPage};

use actix_web::web;
use auth_ports::RandomSource;
use auth_usecases::AuthService;
use std::sync::Arc;

/// What every handler shares: the use cases, the randomness for request ids, the metrics.
#[derive(Clone)]
pub struct AppState {
    pub service: Arc<AuthService>,
    pub random: Arc<dyn RandomSource>,
    pub metrics: Arc<Metrics>,
    /// What `/openapi.json` answers.
    pub api: ApiDocument,
    /// Whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// Whether every answer carries `Strict-Transport-Security` (the engine is served over https).
    pub hsts: bool,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppState { .. }")
    }
}

/// Registers every route, the JSON 404 for unknown paths and the JSON 405 for wrong methods.
pub fn configure(config: &mut web::ServiceConfig) {
    endpoints::configure(config);
}
