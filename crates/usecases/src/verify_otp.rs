//! POST /auth/verify-otp: a right code logs the person in; a wrong one costs a try.

use auth_domain::ids::{OtpId, UserId};
use auth_domain::otp::OtpCode;
use auth_domain::{AuditKind, TenantSlug};
use auth_ports::{NewLogin, VerifyOtp, VerifyOtpOutcome};

use crate::limits::{DAY, HOUR};
use crate::{AppCredentials, AuthError, AuthService, Caller, TokenGrant};

/// A presented code.
#[derive(Debug, Clone)]
pub struct VerifyOtpRequest {
    pub credentials: AppCredentials,
    pub otp_request_id: OtpId,
    pub code: OtpCode,
    pub tenant: Option<TenantSlug>,
    pub caller: Caller,
}

impl AuthService {
    /// Verifies a code and, when it is right, creates the user if new, a session and tokens.
    ///
    /// # Errors
    /// `otp_invalid` (with tries left), `otp_expired`, `otp_max_attempts`, `otp_not_found`,
    /// credential and limit errors, store failures.
    pub async fn verify_otp(&self, request: VerifyOtpRequest) -> Result<TokenGrant, AuthError> {
        let VerifyOtpRequest {
            credentials,
            otp_request_id,
            code,
            tenant,
            caller,
        } = request;
        // When the code was presented: one presented after its login took effect is a retry of
        // it, one presented before raced it.
        let now = self.now();
        let app = self.authenticate(&credentials, &caller).await?;
        let limits = self.settings.limits;
        self.enforce(
            Some(&app.id),
            &caller,
            &format!("verify-ip:{}:{}", app.id, caller.limit_ip()),
            limits.verifies_per_ip_per_hour,
            HOUR,
        )
        .await?;
        // Before the code is consumed: nothing that can fail runs after the login commits.
        let key = self.signing_key(&app).await?;

        let (session_id, refresh_token) = self.first_login(&otp_request_id, &code);
        let command = VerifyOtp {
            app_id: app.id.clone(),
            presented_hash: self.code_hash(&otp_request_id, &code),
            otp_id: otp_request_id.clone(),
            now,
            max_attempts: self.settings.otp.max_attempts,
            login: NewLogin {
                new_user_id: self.random_id(UserId::from_random),
                session_id: session_id.clone(),
                refresh_hash: self.refresh_hash(&refresh_token),
                session_expires_at: now + self.settings.tokens.session_ttl,
            },
            tenant: tenant.clone(),
            retry_grace: self.retry_grace(&app),
        };
        let event = self
            .event(Some(&app.id), AuditKind::Login, &caller, now)
            .subject(otp_request_id.as_str());
        match self.ports.otps.verify_otp(command, event).await? {
            VerifyOtpOutcome::LoggedIn {
                user,
                is_new_user,
                session,
                tenants,
            } => {
                let claims = Self::tenant_claims(&tenants, tenant.as_ref())?;
                let access_token =
                    self.access_token(&app, &key, &user, &session.id, now, claims)?;
                Ok(TokenGrant {
                    access_token,
                    expires_in: self.token_policy(&app).access_ttl,
                    refresh_token,
                    refresh_expires_in: session.expires_at - now,
                    session_id: session.id,
                    is_new_user: Some(is_new_user),
                    user,
                })
            }
            VerifyOtpOutcome::WrongCode {
                attempts_remaining,
                identifier,
            } => {
                let person = self.person_key(&app.id, &identifier);
                // Counted only: past either limit, send-otp refuses new codes for this person
                // from this address, or (the ceiling) from anywhere.
                let counters = [
                    (
                        format!("fail-id-ip:{person}:{}", caller.limit_ip()),
                        limits.failures_per_identifier_per_ip_per_day,
                    ),
                    (
                        format!("fail-id:{person}"),
                        limits.failures_per_identifier_per_day,
                    ),
                ];
                for (key, limit) in counters {
                    self.ports.limiter.hit(&key, limit, DAY, now).await?;
                }
                Err(AuthError::OtpInvalid { attempts_remaining })
            }
            VerifyOtpOutcome::Locked => Err(AuthError::OtpMaxAttempts),
            VerifyOtpOutcome::TenantNotFound => Err(AuthError::TenantNotFound),
            VerifyOtpOutcome::Expired => Err(AuthError::OtpExpired),
            VerifyOtpOutcome::NotFound => Err(AuthError::OtpNotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::VerifyOtpRequest;
    use crate::AuthError;
    use crate::test_kit::{Kit, NOW, app, caller, credentials, fake_mac};
    use auth_domain::ids::{OtpId, RANDOM_ID_BYTES, SessionId, UserId};
    use auth_domain::otp::OtpCode;
    use auth_domain::session::Session;
    use auth_domain::{AuditKind, Identifier, Phone, User};
    use auth_ports::{MacPurpose, RateDecision, VerifyOtpOutcome};
    use time::Duration;

    fn otp_id() -> OtpId {
        OtpId::from_random(&[9; RANDOM_ID_BYTES])
    }

    fn request() -> VerifyOtpRequest {
        VerifyOtpRequest {
            credentials: credentials(),
            otp_request_id: otp_id(),
            code: OtpCode::parse("123456").unwrap(),
            tenant: None,
            caller: caller(),
        }
    }

    fn phone() -> Identifier {
        Identifier::Phone(Phone::parse("+919876543210").unwrap())
    }

    fn logged_in() -> VerifyOtpOutcome {
        let user = User {
            id: UserId::from_random(&[5; RANDOM_ID_BYTES]),
            app_id: app().id,
            phone: Some(Phone::parse("+919876543210").unwrap()),
            email: None,
            created_at: NOW,
        };
        let session = Session {
            id: SessionId::from_random(&[6; RANDOM_ID_BYTES]),
            app_id: app().id,
            user_id: user.id.clone(),
            created_at: NOW,
            expires_at: NOW + Duration::days(30),
            revoked_at: None,
        };
        VerifyOtpOutcome::LoggedIn {
            user,
            is_new_user: true,
            session,
            tenants: auth_domain::claims::TenantRoles::new(),
        }
    }

    fn kit_with(outcome: VerifyOtpOutcome) -> Kit {
        let mut kit = Kit::new();
        kit.allow_all_limits();
        kit.sign_tokens();
        kit.otps
            .expect_verify_otp()
            .times(1)
            .returning(move |command, event| {
                assert_eq!(
                    command.presented_hash,
                    fake_mac(
                        MacPurpose::OtpCode,
                        format!("{}:123456", otp_id()).as_bytes()
                    )
                );
                assert_eq!(command.max_attempts, 5);
                assert_eq!(command.now, NOW);
                assert_eq!(command.login.session_expires_at, NOW + Duration::days(30));
                assert_eq!(event.kind, AuditKind::Login);
                Ok(outcome.clone())
            });
        kit
    }

    #[tokio::test]
    async fn a_right_code_returns_tokens_for_the_new_user() {
        // Arrange
        let service = kit_with(logged_in()).service();

        // Act
        let grant = service.verify_otp(request()).await.unwrap();

        // Assert
        let VerifyOtpOutcome::LoggedIn { user, session, .. } = logged_in() else {
            unreachable!()
        };
        assert_eq!(grant.access_token, format!("signed-{}", user.id));
        assert_eq!(grant.expires_in, Duration::seconds(900));
        assert_eq!(grant.refresh_expires_in, Duration::days(30));
        assert_eq!(grant.session_id, session.id);
        assert_eq!(grant.is_new_user, Some(true));
        assert_eq!(grant.user, user);
    }

    #[tokio::test]
    async fn a_wrong_code_counts_a_failure_for_the_person_at_this_address_and_everywhere() {
        // Arrange
        let mut kit = Kit::new();
        kit.sign_tokens();
        kit.otps.expect_verify_otp().returning(|_, _| {
            Ok(VerifyOtpOutcome::WrongCode {
                attempts_remaining: 3,
                identifier: phone(),
            })
        });
        kit.limiter
            .expect_hit()
            .withf(|key, _, _, _| key.starts_with("verify-ip:"))
            .returning(|_, _, _, _| Ok(RateDecision::Allowed));
        kit.limiter
            .expect_hit()
            .withf(|key, limit, window, _| {
                key.starts_with("fail-id-ip:")
                    && key.ends_with(":203.0.113.7")
                    && *limit == 15
                    && *window == Duration::days(1)
            })
            .times(1)
            .returning(|_, _, _, _| Ok(RateDecision::Allowed));
        kit.limiter
            .expect_hit()
            .withf(|key, limit, window, _| {
                key.starts_with("fail-id:") && *limit == 100 && *window == Duration::days(1)
            })
            .times(1)
            .returning(|_, _, _, _| Ok(RateDecision::Allowed));
        let service = kit.service();

        // Act
        let result = service.verify_otp(request()).await;

        // Assert
        assert_eq!(
            result.unwrap_err(),
            AuthError::OtpInvalid {
                attempts_remaining: 3
            }
        );
    }

    #[tokio::test]
    async fn each_dead_code_answers_with_its_own_error() {
        for (outcome, expected) in [
            (VerifyOtpOutcome::Locked, AuthError::OtpMaxAttempts),
            (VerifyOtpOutcome::Expired, AuthError::OtpExpired),
            (VerifyOtpOutcome::NotFound, AuthError::OtpNotFound),
        ] {
            // Arrange
            let service = kit_with(outcome).service();

            // Act
            let result = service.verify_otp(request()).await;

            // Assert
            assert_eq!(result.unwrap_err(), expected);
        }
    }

    #[tokio::test]
    async fn verifies_past_the_per_ip_limit_are_refused_before_the_code_is_tried() {
        // Arrange
        let mut kit = Kit::new();
        kit.limiter.expect_hit().returning(|_, _, _, _| {
            Ok(RateDecision::Limited {
                retry_after: Duration::seconds(30),
            })
        });
        kit.audit.expect_append().returning(|_| Ok(()));
        kit.otps.expect_verify_otp().times(0);
        let service = kit.service();

        // Act
        let result = service.verify_otp(request()).await;

        // Assert
        assert_eq!(
            result.unwrap_err(),
            AuthError::RateLimited {
                retry_after: Duration::seconds(30)
            }
        );
    }

    #[tokio::test]
    async fn the_same_code_makes_the_same_session_and_refresh_token_and_another_code_does_not() {
        // Arrange: record what each verification asks the store to create.
        let logins = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let mut kit = Kit::new();
        kit.allow_all_limits();
        kit.sign_tokens();
        let seen = std::sync::Arc::clone(&logins);
        kit.otps.expect_verify_otp().returning(move |command, _| {
            seen.lock().unwrap().push(command.login);
            Ok(logged_in())
        });
        let service = kit.service();
        let with_code = |digits: &str| VerifyOtpRequest {
            code: OtpCode::parse(digits).unwrap(),
            ..request()
        };

        // Act
        let first = service.verify_otp(with_code("123456")).await.unwrap();
        let retried = service.verify_otp(with_code("123456")).await.unwrap();
        service.verify_otp(with_code("654321")).await.unwrap();

        // Assert: a retry is answered with the very token the first answer carried.
        let logins = logins.lock().unwrap();
        assert_eq!(logins[0].session_id, logins[1].session_id);
        assert_eq!(logins[0].refresh_hash, logins[1].refresh_hash);
        assert_eq!(first.refresh_token.reveal(), retried.refresh_token.reveal());
        assert_ne!(logins[0].session_id, logins[2].session_id);
        assert_ne!(logins[0].refresh_hash, logins[2].refresh_hash);
    }
}
