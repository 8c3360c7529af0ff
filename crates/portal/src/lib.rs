#![doc = include_str!("../README.md")]

mod access;
mod apps;
mod audit;
mod cookies;
mod csrf;
mod html;
mod keys;
mod licenses;
mod malformed;
mod pages;
mod responses;
mod sandbox;
mod session;
mod settings;
mod sign_in;
mod tenants;
#[cfg(test)]
mod tests;
mod users;

pub use pages::{PAGES, Page, Verb};

use actix_web::middleware::DefaultHeaders;
use actix_web::web;
use auth_ports::{KeyedHasher, RandomSource};
use auth_usecases::{AppCredentials, AuthService};
use std::sync::Arc;

/// What every portal page shares.
#[derive(Clone)]
pub struct PortalState {
    pub service: Arc<AuthService>,
    /// For anti-forgery tokens.
    pub keys: Arc<dyn KeyedHasher>,
    pub random: Arc<dyn RandomSource>,
    /// The portal app's own credentials ([`AuthService::portal_credentials`]).
    pub credentials: AppCredentials,
    /// Whether cookies get `Secure` (the engine is served over https).
    pub secure_cookies: bool,
}

impl std::fmt::Debug for PortalState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PortalState")
            .field("credentials", &self.credentials)
            .field("secure_cookies", &self.secure_cookies)
            .finish_non_exhaustive()
    }
}

/// Only our own script and stylesheet, no inline code, no framing, forms post only to us.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Registers the portal under `/portal`. `Referrer-Policy: same-origin` rather than `no-referrer`:
/// under `no-referrer` browsers send `Origin: null` with form posts, and the origin check needs it.
pub fn configure(config: &mut web::ServiceConfig) {
    config.service(
        web::scope("/portal")
            .app_data(malformed::form_config())
            .app_data(malformed::query_config())
            .wrap(actix_web::middleware::from_fn(
                malformed::refuse_control_characters,
            ))
            .wrap(
                DefaultHeaders::new()
                    .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
                    .add(("Referrer-Policy", "same-origin"))
                    .add(("X-Frame-Options", "DENY")),
            )
            .configure(pages::routes),
    );
}
