//! POST /auth/refresh: rotate a refresh token, exactly once, with an idempotent grace window.

use auth_domain::session::RefreshToken;
use auth_domain::{AuditKind, TenantSlug};
use auth_ports::{RotateOutcome, RotateRefresh};

use crate::{AppCredentials, AuthError, AuthService, Caller, TokenGrant};

/// A presented refresh token.
#[derive(Debug, Clone)]
pub struct RefreshRequest {
    pub credentials: AppCredentials,
    pub refresh_token: RefreshToken,
    pub tenant: Option<TenantSlug>,
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
        let key = self.signing_key(&app).await?;

        let now = self.now();
        let successor = self.successor_of(&refresh_token);
        let command = RotateRefresh {
            app_id: app.id.clone(),
            presented_hash: self.refresh_hash(&refresh_token),
            successor_hash: self.refresh_hash(&successor),
            now,
            reuse_grace: self.retry_grace(&app),
            idle_since: now - self.token_policy(&app).refresh_idle,
            tenant: tenant.clone(),
        };
        let event = self.event(Some(&app.id), AuditKind::Refresh, &caller, now);
        let (session, user, tenants) =
            match self.ports.sessions.rotate_refresh(command, event).await? {
                RotateOutcome::Rotated {
                    session,
                    user,
                    tenants,
                }
                | RotateOutcome::Retried {
                    session,
                    user,
                    tenants,
                } => (session, user, tenants),
                RotateOutcome::TenantNotFound => return Err(AuthError::TenantNotFound),
                RotateOutcome::Reused => return Err(AuthError::RefreshTokenReused),
                RotateOutcome::Revoked => return Err(AuthError::SessionRevoked),
                RotateOutcome::Expired => return Err(AuthError::RefreshTokenExpired),
                RotateOutcome::Invalid => return Err(AuthError::RefreshTokenInvalid),
            };
        let claims = Self::tenant_claims(&tenants, tenant.as_ref())?;
        let access_token = self.access_token(&app, &key, &user, &session.id, now, claims)?;
        Ok(TokenGrant {
            access_token,
            expires_in: self.token_policy(&app).access_ttl,
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
    use crate::test_kit::{Kit, NOW, app, caller, credentials, key};
    use auth_domain::TenantSlug;
    use auth_domain::claims::TenantRoles;
    use auth_domain::ids::{RANDOM_ID_BYTES, SessionId, UserId};
    use auth_domain::session::{REFRESH_TOKEN_BYTES, RefreshToken, Session};
    use auth_domain::{AuditKind, Email, User};
    use auth_ports::RotateOutcome;
    use std::sync::{Arc, Mutex};
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
            tenants: TenantRoles::new(),
        })
        .service();
        let retried = kit_with(RotateOutcome::Retried {
            session: session.clone(),
            user: user.clone(),
            tenants: TenantRoles::new(),
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
    async fn a_database_outage_lengthens_the_retry_window_by_its_length_up_to_a_minute() {
        for (unreachable, expected) in [
            (std::time::Duration::from_secs(7), Duration::seconds(17)),
            (std::time::Duration::from_secs(600), Duration::seconds(70)),
        ] {
            // Arrange: the store saw its database unreachable for a while lately.
            let mut kit = Kit::new();
            kit.sign_tokens();
            kit.health.checkpoint();
            kit.health
                .expect_unavailable_within()
                .withf(|window| *window == std::time::Duration::from_secs(70))
                .return_const(unreachable);
            kit.sessions
                .expect_rotate_refresh()
                .withf(move |command, _| command.reuse_grace == expected)
                .returning(|_, _| Ok(RotateOutcome::Invalid));

            // Act
            let result = kit.service().refresh(request()).await;

            // Assert: the store was asked with the longer window.
            assert_eq!(result.unwrap_err(), AuthError::RefreshTokenInvalid);
        }
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
    async fn a_scoped_refresh_carries_the_tenant_and_its_roles() {
        // Arrange
        let (session, user) = session_and_user();
        let tenants: TenantRoles = [
            (
                "springfield".to_owned(),
                vec!["grader".to_owned(), "teacher".to_owned()],
            ),
            ("shelbyville".to_owned(), vec!["parent".to_owned()]),
        ]
        .into();
        let mut kit = Kit::new();
        let held = tenants.clone();
        kit.sessions
            .expect_rotate_refresh()
            .withf(|command, _| {
                command.tenant.as_ref().map(TenantSlug::as_str) == Some("springfield")
            })
            .returning(move |_, _| {
                Ok(RotateOutcome::Rotated {
                    session: session.clone(),
                    user: user.clone(),
                    tenants: held.clone(),
                })
            });
        kit.apps.expect_current_key().returning(|_| Ok(Some(key())));
        let signed = Arc::new(Mutex::new(None));
        let seen = Arc::clone(&signed);
        kit.tokens.expect_sign_access().returning(move |_, claims| {
            *seen.lock().unwrap() = Some(claims.clone());
            Ok("signed".into())
        });
        let scoped = RefreshRequest {
            tenant: Some(TenantSlug::parse("springfield").unwrap()),
            ..request()
        };

        // Act
        kit.service().refresh(scoped).await.unwrap();

        // Assert
        let claims = signed.lock().unwrap().clone().unwrap();
        assert_eq!(claims.tenants, tenants);
        assert_eq!(claims.tenant.as_deref(), Some("springfield"));
        assert_eq!(
            claims.roles,
            Some(vec!["grader".to_owned(), "teacher".to_owned()])
        );
        assert_eq!(claims.tenants_truncated, None);
    }

    #[tokio::test]
    async fn a_failure_before_the_rotation_leaves_the_token_unrotated_and_retryable() {
        // Arrange: the signing key cannot be read (a database that stopped answering).
        let mut kit = Kit::new();
        kit.apps
            .expect_current_key()
            .returning(|_| Err(auth_ports::StoreError::Unavailable("timed out".into())));
        kit.sessions.expect_rotate_refresh().times(0);

        // Act
        let result = kit.service().refresh(request()).await;

        // Assert: nothing that can fail runs after a rotation commits, so this failure comes first.
        assert_eq!(result.unwrap_err(), AuthError::ServiceUnavailable);
    }

    #[tokio::test]
    async fn a_tenant_without_membership_is_refused() {
        let mut kit = Kit::new();
        kit.sign_tokens();
        kit.sessions
            .expect_rotate_refresh()
            .returning(|_, _| Ok(RotateOutcome::TenantNotFound));
        let scoped = RefreshRequest {
            tenant: Some(TenantSlug::parse("acme").unwrap()),
            ..request()
        };
        assert_eq!(
            kit.service().refresh(scoped).await.unwrap_err(),
            AuthError::TenantNotFound
        );
    }
}
