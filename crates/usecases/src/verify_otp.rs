//! POST /auth/verify-otp: a right code logs the person in; a wrong one costs a try.

use auth_domain::AuditKind;
use auth_domain::ids::{OtpId, SessionId, UserId};
use auth_domain::otp::OtpCode;
use auth_ports::{NewLogin, VerifyOtp, VerifyOtpOutcome};

use crate::send_otp::{DAY, HOUR};
use crate::{AppCredentials, AuthError, AuthService, Caller, TokenGrant};

/// A presented code.
#[derive(Debug, Clone)]
pub struct VerifyOtpRequest {
    pub credentials: AppCredentials,
    pub otp_request_id: OtpId,
    pub code: OtpCode,
    pub tenant: Option<String>,
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
        let app = self.authenticate(&credentials, &caller).await?;
        let limits = self.settings.limits;
        self.enforce(
            &app.id,
            &caller,
            &format!("verify-ip:{}:{}", app.id, caller.limit_ip()),
            limits.verifies_per_ip_per_hour,
            HOUR,
        )
        .await?;
        Self::check_tenant(tenant.as_deref())?;

        let now = self.now();
        let refresh_token = self.fresh_refresh_token();
        let session_id = self.random_id(SessionId::from_random);
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
        };
        let event = self
            .event(Some(&app.id), AuditKind::Login, &caller, now)
            .subject(otp_request_id.as_str());
        match self.ports.otps.verify_otp(command, event).await? {
            VerifyOtpOutcome::LoggedIn {
                user,
                is_new_user,
                session,
            } => {
                let access_token = self.access_token(&app, &user, &session.id, now).await?;
                Ok(TokenGrant {
                    access_token,
                    expires_in: self.settings.tokens.access_ttl,
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
                // Counted only; the limit refuses the next send-otp for this person.
                self.ports
                    .limiter
                    .hit(
                        &format!("fail-id:{person}"),
                        limits.failures_per_identifier_per_day,
                        DAY,
                        now,
                    )
                    .await?;
                Err(AuthError::OtpInvalid { attempts_remaining })
            }
            VerifyOtpOutcome::Locked => Err(AuthError::OtpMaxAttempts),
            VerifyOtpOutcome::Expired => Err(AuthError::OtpExpired),
            VerifyOtpOutcome::NotFound => Err(AuthError::OtpNotFound),
        }
    }
}
