//! POST /auth/logout: revoke one session, or all of a user's sessions in the app.

use auth_domain::AuditKind;
use auth_domain::session::RefreshToken;
use auth_ports::LogoutOutcome;

use crate::{AppCredentials, AuthError, AuthService, Caller};

/// A logout request.
#[derive(Debug, Clone)]
pub struct LogoutRequest {
    pub credentials: AppCredentials,
    pub refresh_token: RefreshToken,
    pub all_sessions: bool,
    pub caller: Caller,
}

impl AuthService {
    /// How many sessions this call revoked: 0 when they already were (logout is idempotent).
    ///
    /// # Errors
    /// `refresh_token_invalid` for a token this app never issued; credential errors, store failures.
    pub async fn logout(&self, request: LogoutRequest) -> Result<u64, AuthError> {
        let LogoutRequest {
            credentials,
            refresh_token,
            all_sessions,
            caller,
        } = request;
        let app = self.authenticate(&credentials, &caller).await?;
        let now = self.now();
        let event = self
            .event(Some(&app.id), AuditKind::Logout, &caller, now)
            .details(serde_json::json!({ "all_sessions": all_sessions }));
        let hash = self.refresh_hash(&refresh_token);
        match self
            .ports
            .sessions
            .logout(&app.id, hash, all_sessions, now, event)
            .await?
        {
            LogoutOutcome::Revoked(count) => Ok(count),
            LogoutOutcome::Invalid => Err(AuthError::RefreshTokenInvalid),
        }
    }
}
