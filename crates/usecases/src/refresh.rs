//! POST /auth/refresh: rotate a refresh token, exactly once, with an idempotent grace window.

use auth_domain::AuditKind;
use auth_domain::session::RefreshToken;
use auth_ports::{RotateOutcome, RotateRefresh};

use crate::{AppCredentials, AuthError, AuthService, Caller, TokenGrant};

/// A presented refresh token.
#[derive(Debug, Clone)]
pub struct RefreshRequest {
    pub credentials: AppCredentials,
    pub refresh_token: RefreshToken,
    pub tenant: Option<String>,
    pub caller: Caller,
}

impl AuthService {
    /// Rotates the token and issues a fresh access token.
    ///
    /// Presenting a just-rotated token again inside the grace window answers with the same
    /// successor; after it, the whole session is revoked.
    ///
    /// # Errors
    /// `refresh_token_invalid`, `refresh_token_expired`, `refresh_token_reused`, `session_revoked`,
    /// credential errors, store failures.
    pub async fn refresh(&self, request: RefreshRequest) -> Result<TokenGrant, AuthError> {
        let RefreshRequest {
            credentials,
            refresh_token,
            tenant,
            caller,
        } = request;
        let app = self.authenticate(&credentials, &caller).await?;
        Self::check_tenant(tenant.as_deref())?;

        let now = self.now();
        let successor = self.successor_of(&refresh_token);
        let command = RotateRefresh {
            app_id: app.id.clone(),
            presented_hash: self.refresh_hash(&refresh_token),
            successor_hash: self.refresh_hash(&successor),
            now,
            reuse_grace: self.settings.tokens.reuse_grace,
        };
        let event = self.event(Some(&app.id), AuditKind::Refresh, &caller, now);
        let (session, user) = match self.ports.sessions.rotate_refresh(command, event).await? {
            RotateOutcome::Rotated { session, user } | RotateOutcome::Retried { session, user } => {
                (session, user)
            }
            RotateOutcome::Reused => return Err(AuthError::RefreshTokenReused),
            RotateOutcome::Revoked => return Err(AuthError::SessionRevoked),
            RotateOutcome::Expired => return Err(AuthError::RefreshTokenExpired),
            RotateOutcome::Invalid => return Err(AuthError::RefreshTokenInvalid),
        };
        let access_token = self.access_token(&app, &user, &session.id, now).await?;
        Ok(TokenGrant {
            access_token,
            expires_in: self.settings.tokens.access_ttl,
            refresh_token: successor,
            refresh_expires_in: session.expires_at - now,
            session_id: session.id,
            is_new_user: None,
            user,
        })
    }
}
