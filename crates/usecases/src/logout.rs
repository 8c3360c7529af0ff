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

#[cfg(test)]
mod tests {
    use super::LogoutRequest;
    use crate::AuthError;
    use crate::test_kit::{Kit, caller, credentials};
    use auth_domain::AuditKind;
    use auth_domain::session::{REFRESH_TOKEN_BYTES, RefreshToken};
    use auth_ports::LogoutOutcome;

    fn request(all_sessions: bool) -> LogoutRequest {
        LogoutRequest {
            credentials: credentials(),
            refresh_token: RefreshToken::from_bytes(&[7; REFRESH_TOKEN_BYTES]),
            all_sessions,
            caller: caller(),
        }
    }

    #[tokio::test]
    async fn logout_reports_how_many_sessions_it_revoked() {
        // Arrange
        let mut kit = Kit::new();
        kit.sessions
            .expect_logout()
            .withf(|_, _, all, _, event| *all && event.kind == AuditKind::Logout)
            .returning(|_, _, _, _, _| Ok(LogoutOutcome::Revoked(2)));
        let service = kit.service();

        // Act
        let revoked = service.logout(request(true)).await;

        // Assert
        assert_eq!(revoked, Ok(2));
    }

    #[tokio::test]
    async fn logout_with_a_token_the_app_never_issued_is_refused() {
        // Arrange
        let mut kit = Kit::new();
        kit.sessions
            .expect_logout()
            .returning(|_, _, _, _, _| Ok(LogoutOutcome::Invalid));
        let service = kit.service();

        // Act
        let result = service.logout(request(false)).await;

        // Assert
        assert_eq!(result, Err(AuthError::RefreshTokenInvalid));
    }
}
