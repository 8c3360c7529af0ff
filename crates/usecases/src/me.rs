//! GET /auth/me: who an access token speaks for, checked against the live session.

use auth_domain::claims::TenantRoles;
use auth_domain::ids::{AppId, SessionId};
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
    /// Verifies an access token (signature and `typ` by the codec; `iss`, `aud`, `exp`, `nbf` here)
    /// and its session.
    ///
    /// # Errors
    /// `token_invalid`, `token_expired`, `session_revoked`, store failures.
    pub async fn me(&self, token: &str) -> Result<MeView, AuthError> {
        let claims = self.verified_claims(token).await?;
        let session_id = SessionId::parse(&claims.sid).map_err(|_| AuthError::TokenInvalid)?;
        let (session, user, tenants) = self
            .ports
            .sessions
            .find_session(&AppId::from_trusted(claims.app_id.clone()), &session_id)
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
            // As they are now, not as the token was issued.
            tenants,
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
            // A withdrawn key, or one retired so long that no token it signed can be live.
            .filter(|key| key.is_published(self.now(), self.longest_token_lifetime()))
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
            // A disabled app's tokens speak for nobody until it is enabled again.
            .filter(|app| !app.disabled)
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
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use crate::AuthError;
    use crate::test_kit::{ISSUER, Kit, NOW, app, key};
    use auth_domain::claims::TenantRoles;
    use auth_domain::ids::{RANDOM_ID_BYTES, SessionId, UserId};
    use auth_domain::session::Session;
    use auth_domain::{AccessClaims, Phone, User};
    use auth_ports::TokenError;
    use time::Duration;

    fn user() -> User {
        User {
            id: UserId::from_random(&[5; RANDOM_ID_BYTES]),
            app_id: app().id,
            phone: Some(Phone::parse("+919876543210").unwrap()),
            email: None,
            created_at: NOW,
        }
    }

    fn session(revoked: bool) -> Session {
        Session {
            id: SessionId::from_random(&[6; RANDOM_ID_BYTES]),
            app_id: app().id,
            user_id: user().id,
            created_at: NOW,
            expires_at: NOW + Duration::days(30),
            revoked_at: revoked.then_some(NOW),
        }
    }

    fn claims() -> AccessClaims {
        let now = NOW.unix_timestamp();
        AccessClaims {
            iss: ISSUER.into(),
            aud: app().slug.as_str().into(),
            sub: user().id.as_str().into(),
            exp: now + 600,
            iat: now - 300,
            nbf: now - 300,
            jti: "jti".into(),
            sid: session(false).id.as_str().into(),
            app_id: app().id.as_str().into(),
            phone: Some("+919876543210".into()),
            email: None,
            tenants: TenantRoles::new(),
            tenant: None,
            roles: None,
            tenants_truncated: None,
        }
    }

    /// A kit whose token decodes to `claims` and whose session is `revoked` or live.
    fn kit(claims: AccessClaims, revoked: bool) -> Kit {
        kit_holding(claims, revoked, TenantRoles::new())
    }

    /// A kit whose session's user holds `roles` now.
    fn kit_holding(claims: AccessClaims, revoked: bool, roles: TenantRoles) -> Kit {
        let mut kit = Kit::new();
        kit.tokens
            .expect_peek_kid()
            .returning(|_| Some("kid-1".into()));
        kit.apps
            .expect_find_key()
            .returning(|kid| Ok((kid == "kid-1").then(key)));
        kit.tokens
            .expect_verify_access()
            .returning(move |_, _| Ok(claims.clone()));
        kit.sessions
            .expect_find_session()
            .returning(move |_, _| Ok(Some((session(revoked), user(), roles.clone()))));
        kit
    }

    #[tokio::test]
    async fn a_valid_token_of_a_live_session_describes_its_user() {
        // Arrange: the token says no tenants, but a role was assigned since it was issued.
        let now_held: TenantRoles = [("springfield".to_owned(), vec!["teacher".to_owned()])].into();
        let service = kit_holding(claims(), false, now_held.clone()).service();

        // Act
        let view = service.me("token").await.unwrap();

        // Assert
        assert_eq!(view.tenants, now_held);
        assert_eq!(view.user, user());
        assert_eq!(view.session_id, session(false).id);
        assert_eq!(view.app_slug, "demo-app");
        assert_eq!(view.expires_at, NOW + Duration::seconds(600));
    }

    #[tokio::test]
    async fn a_revoked_session_makes_its_tokens_useless_at_once() {
        let service = kit(claims(), true).service();
        assert_eq!(
            service.me("token").await.unwrap_err(),
            AuthError::SessionRevoked
        );
    }

    #[tokio::test]
    async fn time_issuer_and_audience_are_checked() {
        let cases = [
            (
                AccessClaims {
                    exp: NOW.unix_timestamp(),
                    ..claims()
                },
                AuthError::TokenExpired,
            ),
            (
                AccessClaims {
                    nbf: NOW.unix_timestamp() + 5,
                    ..claims()
                },
                AuthError::TokenInvalid,
            ),
            (
                AccessClaims {
                    iss: "https://evil.test".into(),
                    ..claims()
                },
                AuthError::TokenInvalid,
            ),
            (
                AccessClaims {
                    aud: "other-app".into(),
                    ..claims()
                },
                AuthError::TokenInvalid,
            ),
            (
                AccessClaims {
                    sub: "usr_someoneelse".into(),
                    ..claims()
                },
                AuthError::TokenInvalid,
            ),
        ];
        for (claims, expected) in cases {
            let service = kit(claims, false).service();
            assert_eq!(service.me("token").await.unwrap_err(), expected);
        }
    }

    #[tokio::test]
    async fn a_bad_signature_or_unknown_key_is_invalid() {
        // Arrange
        let mut bad_signature = Kit::new();
        bad_signature
            .tokens
            .expect_peek_kid()
            .returning(|_| Some("kid-1".into()));
        bad_signature
            .apps
            .expect_find_key()
            .returning(|_| Ok(Some(key())));
        bad_signature
            .tokens
            .expect_verify_access()
            .returning(|_, _| Err(TokenError::Invalid));
        let mut unknown_key = Kit::new();
        unknown_key
            .tokens
            .expect_peek_kid()
            .returning(|_| Some("kid-9".into()));
        unknown_key.apps.expect_find_key().returning(|_| Ok(None));

        // Act + Assert
        assert_eq!(
            bad_signature.service().me("token").await.unwrap_err(),
            AuthError::TokenInvalid
        );
        assert_eq!(
            unknown_key.service().me("token").await.unwrap_err(),
            AuthError::TokenInvalid
        );
    }

    #[tokio::test]
    async fn a_token_of_a_withdrawn_or_long_retired_key_is_invalid() {
        for changed in [
            auth_domain::SigningKey {
                withdrawn_at: Some(NOW - Duration::seconds(1)),
                ..key()
            },
            auth_domain::SigningKey {
                retired_at: Some(NOW - Duration::days(400)),
                ..key()
            },
        ] {
            let mut kit = Kit::new();
            kit.tokens
                .expect_peek_kid()
                .returning(|_| Some("kid-1".into()));
            kit.apps
                .expect_find_key()
                .returning(move |_| Ok(Some(changed.clone())));
            kit.tokens
                .expect_verify_access()
                .returning(|_, _| Ok(claims()));
            assert_eq!(
                kit.service().me("token").await.unwrap_err(),
                AuthError::TokenInvalid
            );
        }
    }

    #[tokio::test]
    async fn a_disabled_apps_tokens_are_invalid() {
        let mut kit = kit(claims(), false);
        // Forget the live app `Kit::new` serves, and serve it disabled.
        kit.apps.checkpoint();
        kit.apps
            .expect_find_key()
            .returning(|kid| Ok((kid == "kid-1").then(key)));
        kit.apps.expect_find_app().returning(|_| {
            Ok(Some(auth_domain::App {
                disabled: true,
                ..app()
            }))
        });

        assert_eq!(
            kit.service().me("token").await.unwrap_err(),
            AuthError::TokenInvalid
        );
    }
}
