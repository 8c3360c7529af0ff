//! Who is signed in: the access-token cookie, checked against the live session, or else a rotation
//! of the refresh-token cookie, exactly as an integrating backend would do it.

use actix_web::http::header;
use actix_web::{HttpMessage as _, HttpRequest};
use auth_domain::session::RefreshToken;
use auth_domain::{AppSlug, User};
use auth_usecases::{AuthError, Caller, ClientAddr, RefreshRequest, RequestId, TokenGrant};

use crate::{PortalState, cookies};

/// A signed-in developer, with the cookies a rotation just renewed.
#[derive(Debug)]
pub struct Developer {
    pub user: User,
    pub set_cookies: Vec<String>,
}

impl Developer {
    /// How the page header names them.
    pub fn label(&self) -> &str {
        self.user
            .email
            .as_ref()
            .map(auth_domain::Email::as_str)
            .or(self.user.phone.as_ref().map(auth_domain::Phone::as_str))
            .unwrap_or("developer")
    }
}

/// The longest `User-Agent` kept for the audit log.
const MAX_USER_AGENT: usize = 256;

/// The request as the use cases see it: the browser is the end user.
pub fn caller(request: &HttpRequest) -> Caller {
    let ip = request
        .extensions()
        .get::<ClientAddr>()
        .map(|addr| addr.0)
        .or_else(|| request.peer_addr().map(|address| address.ip()))
        .map(|ip| ip.to_string());
    Caller {
        request_id: request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.0.clone())
            .unwrap_or_default(),
        client_ip: ip.clone(),
        peer_ip: ip,
        user_agent: request
            .headers()
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| agent.chars().take(MAX_USER_AGENT).collect()),
    }
}

/// The cookies that hold a fresh grant.
pub fn grant_cookies(grant: &TokenGrant, secure: bool) -> Vec<String> {
    vec![
        cookies::set(
            cookies::ACCESS,
            &grant.access_token,
            grant.expires_in.whole_seconds(),
            secure,
        ),
        cookies::set(
            cookies::REFRESH,
            grant.refresh_token.reveal(),
            grant.refresh_expires_in.whole_seconds(),
            secure,
        ),
    ]
}

/// The developer this browser is signed in as, or `None` (sign in again).
///
/// # Errors
/// Only failures of the engine itself (`service_unavailable`, `internal_error`).
pub async fn developer(
    request: &HttpRequest,
    state: &PortalState,
) -> Result<Option<Developer>, AuthError> {
    if let Some(token) = cookies::read(request, cookies::ACCESS) {
        match state.service.me(&token).await {
            Ok(view) if view.app_slug == AppSlug::PORTAL => {
                return Ok(Some(Developer {
                    user: view.user,
                    set_cookies: Vec::new(),
                }));
            }
            Ok(_) | Err(AuthError::TokenExpired | AuthError::TokenInvalid) => {}
            Err(AuthError::SessionRevoked) => return Ok(None),
            Err(error) => return Err(error),
        }
    }
    let Some(refresh_token) =
        cookies::read(request, cookies::REFRESH).and_then(|raw| RefreshToken::parse(&raw).ok())
    else {
        return Ok(None);
    };
    let rotated = state
        .service
        .refresh(RefreshRequest {
            credentials: state.credentials.clone(),
            refresh_token,
            tenant: None,
            caller: caller(request),
        })
        .await;
    match rotated {
        Ok(grant) => Ok(Some(Developer {
            set_cookies: grant_cookies(&grant, state.secure_cookies),
            user: grant.user,
        })),
        Err(AuthError::ServiceUnavailable) => Err(AuthError::ServiceUnavailable),
        Err(AuthError::Internal) => Err(AuthError::Internal),
        Err(_) => Ok(None),
    }
}
