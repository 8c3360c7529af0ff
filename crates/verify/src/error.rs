//! Why a token was refused, as the engine's error catalogue names it.

/// Why a token was refused. [`VerifyError::code`] is the engine's catalogue code for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// No bearer token was presented.
    #[error("no bearer token was presented")]
    Missing,
    /// The token is malformed, not signed by the app's key, or not for this app; `reason` says
    /// which check failed (for logs; never show it to the caller).
    #[error("the token is not valid: {reason}")]
    Invalid { reason: &'static str },
    /// The token was valid but has expired.
    #[error("the token has expired")]
    Expired,
    /// The app's keys could not be fetched and none is cached for this token's `kid`.
    #[error("the engine's keys could not be fetched: {0}")]
    KeysUnavailable(String),
}

impl VerifyError {
    pub(crate) fn invalid(reason: &'static str) -> Self {
        Self::Invalid { reason }
    }

    /// The engine's catalogue code: `token_missing`, `token_invalid`, `token_expired` or
    /// `service_unavailable`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "token_missing",
            Self::Invalid { .. } => "token_invalid",
            Self::Expired => "token_expired",
            Self::KeysUnavailable(_) => "service_unavailable",
        }
    }

    /// The HTTP status the catalogue gives the code: 401, or 503 when the keys are unavailable.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Self::KeysUnavailable(_) => 503,
            _ => 401,
        }
    }

    /// What a caller may be told: the catalogue's message, without the internal reason.
    #[must_use]
    pub fn public_message(&self) -> &'static str {
        match self {
            Self::Missing => "the Authorization header with a Bearer token is missing",
            Self::Invalid { .. } => "the access token is not valid",
            Self::Expired => "the access token has expired; refresh it",
            Self::KeysUnavailable(_) => "a dependency is unavailable; retry later",
        }
    }
}
