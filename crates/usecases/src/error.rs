//! The one error use cases return; each variant is one code of the API's error catalogue.

use auth_ports::StoreError;
use time::Duration;

/// A request field that was refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldProblem {
    pub name: String,
    pub problem: String,
}

impl FieldProblem {
    #[must_use]
    pub fn new(name: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            problem: problem.into(),
        }
    }
}

/// Everything a use case can refuse or fail with. Texts never contain a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("the request is invalid")]
    InvalidRequest(Vec<FieldProblem>),
    #[error("app_id or app_secret is wrong")]
    InvalidAppCredentials,
    #[error("this app is disabled")]
    AppDisabled,
    #[error(
        "this app is in the sandbox: it may send codes only to its owner and its test identifiers until the operator approves it"
    )]
    AppInSandbox,
    #[error("too many requests; retry later")]
    RateLimited { retry_after: Duration },
    #[error("the code is wrong")]
    OtpInvalid { attempts_remaining: u32 },
    #[error("the code has expired; request a new one")]
    OtpExpired,
    #[error("too many wrong codes; request a new one")]
    OtpMaxAttempts,
    #[error("no usable code for this otp_request_id; request a new one")]
    OtpNotFound,
    #[error("the Authorization header with a Bearer token is missing")]
    TokenMissing,
    #[error("the access token is not valid")]
    TokenInvalid,
    #[error("the access token has expired; refresh it")]
    TokenExpired,
    #[error("the refresh token is not valid")]
    RefreshTokenInvalid,
    #[error("the refresh token has expired; sign in again")]
    RefreshTokenExpired,
    #[error("this refresh token was already used; the session has been revoked")]
    RefreshTokenReused,
    #[error("the session has been revoked; sign in again")]
    SessionRevoked,
    #[error("no such tenant in this app, or the user holds no role in it")]
    TenantNotFound,
    #[error("a tenant with this slug exists in this app")]
    TenantExists,
    #[error("no such user in this app")]
    UserNotFound,
    #[error("no such license in this app")]
    LicenseNotFound,
    #[error("this license has been revoked")]
    LicenseRevoked,
    #[error("this license is suspended")]
    LicenseSuspended,
    #[error("this license has expired")]
    LicenseExpired,
    #[error("every seat of this license is taken; deactivate a device first")]
    ActivationLimitReached,
    #[error("this device holds no seat on this license")]
    DeviceNotActivated,
    #[error("the code could not be delivered; nothing was created")]
    DeliveryFailed,
    #[error("a dependency is unavailable; retry later")]
    ServiceUnavailable,
    #[error("internal error")]
    Internal,
}

impl AuthError {
    /// The error catalogue's code for this error (API.md).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::InvalidRequest(_) => "invalid_request",
            AuthError::InvalidAppCredentials => "invalid_app_credentials",
            AuthError::AppDisabled => "app_disabled",
            AuthError::AppInSandbox => "app_in_sandbox",
            AuthError::RateLimited { .. } => "rate_limited",
            AuthError::OtpInvalid { .. } => "otp_invalid",
            AuthError::OtpExpired => "otp_expired",
            AuthError::OtpMaxAttempts => "otp_max_attempts",
            AuthError::OtpNotFound => "otp_not_found",
            AuthError::TokenMissing => "token_missing",
            AuthError::TokenInvalid => "token_invalid",
            AuthError::TokenExpired => "token_expired",
            AuthError::RefreshTokenInvalid => "refresh_token_invalid",
            AuthError::RefreshTokenExpired => "refresh_token_expired",
            AuthError::RefreshTokenReused => "refresh_token_reused",
            AuthError::SessionRevoked => "session_revoked",
            AuthError::TenantNotFound => "tenant_not_found",
            AuthError::TenantExists => "tenant_exists",
            AuthError::UserNotFound => "user_not_found",
            AuthError::LicenseNotFound => "license_not_found",
            AuthError::LicenseRevoked => "license_revoked",
            AuthError::LicenseSuspended => "license_suspended",
            AuthError::LicenseExpired => "license_expired",
            AuthError::ActivationLimitReached => "activation_limit_reached",
            AuthError::DeviceNotActivated => "device_not_activated",
            AuthError::DeliveryFailed => "delivery_failed",
            AuthError::ServiceUnavailable => "service_unavailable",
            AuthError::Internal => "internal_error",
        }
    }

    #[must_use]
    pub fn invalid_field(name: &str, problem: impl Into<String>) -> Self {
        Self::InvalidRequest(vec![FieldProblem::new(name, problem)])
    }
}

impl From<StoreError> for AuthError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(detail) => {
                tracing::warn!(%detail, "store unavailable");
                Self::ServiceUnavailable
            }
            StoreError::Internal(detail) => {
                tracing::error!(%detail, "store failure");
                Self::Internal
            }
        }
    }
}
