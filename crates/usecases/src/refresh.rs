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

#[cfg(test)]
mod tests {
    use super::RefreshRequest;
    use crate::AuthError;
    use crate::test_kit::{Kit, NOW, app, caller, credentials};
    use auth_domain::ids::{RANDOM_ID_BYTES, SessionId, UserId};
    use auth_domain::session::{REFRESH_TOKEN_BYTES, RefreshToken, Session};
    use auth_domain::{AuditKind, Email, User};
    use auth_ports::RotateOutcome;
    use time::Duration;

    fn presented() -> RefreshToken {
        RefreshToken::from_bytes(&[7; REFRESH_TOKEN_BYTES])
    }

    fn request() -> RefreshRequest {
        RefreshRequest {
            credentials: credentials(),
            refresh_token: presented(),
            tenant: None,
            caller: caller(),
        }
    }

    fn session_and_user() -> (Session, User) {
        let user = User {
            id: UserId::from_random(&[5; RANDOM_ID_BYTES]),
            app_id: app().id,
            phone: None,
            email: Some(Email::parse("ann@example.com").unwrap()),
            created_at: NOW,
        };
        let session = Session {
            id: SessionId::from_random(&[6; RANDOM_ID_BYTES]),
            app_id: app().id,
            user_id: user.id.clone(),
            created_at: NOW - Duration::days(1),
            expires_at: NOW + Duration::days(29),
            revoked_at: None,
        };
        (session, user)
    }

    fn kit_with(outcome: RotateOutcome) -> Kit {
        let mut kit = Kit::new();
        kit.sign_tokens();
        kit.sessions
            .expect_rotate_refresh()
            .returning(move |command, event| {
                assert_eq!(command.reuse_grace, Duration::seconds(10));
                assert_eq!(command.now, NOW);
                assert_ne!(command.presented_hash, command.successor_hash);
                assert_eq!(event.kind, AuditKind::Refresh);
                Ok(outcome.clone())
            });
        kit
    }

    #[tokio::test]
    async fn a_rotation_and_its_retry_hand_out_the_same_successor() {
        // Arrange
        let (session, user) = session_and_user();
        let rotated = kit_with(RotateOutcome::Rotated {
            session: session.clone(),
            user: user.clone(),
        })
        .service();
        let retried = kit_with(RotateOutcome::Retried {
            session: session.clone(),
            user: user.clone(),
        })
        .service();

        // Act
        let first = rotated.refresh(request()).await.unwrap();
        let retry = retried.refresh(request()).await.unwrap();

        // Assert
        assert_ne!(first.refresh_token, presented());
        assert_eq!(first.refresh_token, retry.refresh_token);
        assert_eq!(first.refresh_expires_in, Duration::days(29));
        assert_eq!(first.session_id, session.id);
        assert_eq!(first.is_new_user, None);
        assert_eq!(first.access_token, format!("signed-{}", user.id));
    }

    #[tokio::test]
    async fn refusals_map_to_their_catalogue_errors() {
        for (outcome, expected) in [
            (RotateOutcome::Reused, AuthError::RefreshTokenReused),
            (RotateOutcome::Revoked, AuthError::SessionRevoked),
            (RotateOutcome::Expired, AuthError::RefreshTokenExpired),
            (RotateOutcome::Invalid, AuthError::RefreshTokenInvalid),
        ] {
            // Arrange
            let service = kit_with(outcome).service();

            // Act
            let result = service.refresh(request()).await;

            // Assert
            assert_eq!(result.unwrap_err(), expected);
        }
    }

    #[tokio::test]
    async fn a_tenant_that_does_not_exist_is_refused_before_rotating() {
        // Arrange
        let mut kit = Kit::new();
        kit.sessions.expect_rotate_refresh().times(0);
        let service = kit.service();
        let scoped = RefreshRequest {
            tenant: Some("acme".into()),
            ..request()
        };

        // Act
        let result = service.refresh(scoped).await;

        // Assert
        assert_eq!(result.unwrap_err(), AuthError::TenantNotFound);
    }
}
