//! GET /auth/me: who an access token speaks for, checked against the live session.

use auth_domain::claims::{ACCESS_TOKEN_TYP, TenantRoles};
use auth_domain::ids::SessionId;
use auth_domain::{AccessClaims, User};
use time::OffsetDateTime;

use crate::{AuthError, AuthService};

/// The answer to /auth/me.
#[derive(Debug, Clone)]
pub struct MeView {
    pub user: User,
    pub session_id: SessionId,
    pub app_slug: String,
    pub tenants: TenantRoles,
    pub expires_at: OffsetDateTime,
}

impl AuthService {
    /// Verifies an access token (signature, `typ`, `iss`, `aud`, `exp`, `nbf`) and its session.
    ///
    /// # Errors
    /// `token_invalid`, `token_expired`, `session_revoked`, store failures.
    pub async fn me(&self, token: &str) -> Result<MeView, AuthError> {
        let claims = self.verified_claims(token).await?;
        let session_id = SessionId::parse(&claims.sid).map_err(|_| AuthError::TokenInvalid)?;
        let (session, user) = self
            .ports
            .sessions
            .find_session(&session_id)
            .await?
            .ok_or(AuthError::TokenInvalid)?;
        if session.user_id.as_str() != claims.sub || session.app_id.as_str() != claims.app_id {
            return Err(AuthError::TokenInvalid);
        }
        if !session.is_active(self.now()) {
            return Err(AuthError::SessionRevoked);
        }
        Ok(MeView {
            user,
            session_id: session.id,
            app_slug: claims.aud,
            tenants: claims.tenants,
            expires_at: OffsetDateTime::from_unix_timestamp(claims.exp)
                .map_err(|_| AuthError::TokenInvalid)?,
        })
    }

    async fn verified_claims(&self, token: &str) -> Result<AccessClaims, AuthError> {
        let kid = self
            .ports
            .tokens
            .peek_kid(token)
            .ok_or(AuthError::TokenInvalid)?;
        let key = self
            .ports
            .apps
            .find_key(&kid)
            .await?
            .ok_or(AuthError::TokenInvalid)?;
        let claims = self
            .ports
            .tokens
            .verify_access(token, &key)
            .map_err(|_| AuthError::TokenInvalid)?;
        let app = self
            .ports
            .apps
            .find_app(&key.app_id)
            .await?
            .ok_or(AuthError::TokenInvalid)?;
        let issued_for_this_app =
            claims.app_id == app.id.as_str() && claims.aud == app.slug.as_str();
        if !issued_for_this_app || claims.iss != self.settings.issuer {
            return Err(AuthError::TokenInvalid);
        }
        let now = self.now().unix_timestamp();
        if claims.nbf > now {
            return Err(AuthError::TokenInvalid);
        }
        if claims.exp <= now {
            return Err(AuthError::TokenExpired);
        }
        debug_assert_eq!(ACCESS_TOKEN_TYP, "at+jwt");
        Ok(claims)
    }
}
