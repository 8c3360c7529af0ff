//! Sessions and their rotating refresh tokens.

use crate::ParseError;
use crate::ids::{AppId, SessionId, UserId, base32};
use std::fmt;
use time::{Duration, OffsetDateTime};

/// How long a refresh token may go unused unless its app chooses otherwise: 14 days.
pub const DEFAULT_REFRESH_IDLE: Duration = Duration::days(14);

/// Lifetimes and the reuse rule for tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPolicy {
    pub access_ttl: Duration,
    /// Absolute lifetime of a session; its refresh tokens die with it.
    pub session_ttl: Duration,
    /// How long a just-rotated refresh token may be presented again as an idempotent retry.
    pub reuse_grace: Duration,
    /// How long a refresh token may go unused: one older than this is expired, whatever the
    /// session's own lifetime.
    pub refresh_idle: Duration,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            access_ttl: Duration::seconds(900),
            session_ttl: Duration::days(30),
            reuse_grace: Duration::seconds(10),
            refresh_idle: DEFAULT_REFRESH_IDLE,
        }
    }
}

/// A login session: one family of refresh tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: SessionId,
    pub app_id: AppId,
    pub user_id: UserId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
}

impl Session {
    #[must_use]
    pub fn is_active(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// Bytes of randomness (or of HMAC output) in a refresh token.
pub const REFRESH_TOKEN_BYTES: usize = 32;
const REFRESH_PREFIX: &str = "rt_";

/// An opaque refresh token. `Debug` hides it: it must never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    #[must_use]
    pub fn from_bytes(bytes: &[u8; REFRESH_TOKEN_BYTES]) -> Self {
        Self(format!("{REFRESH_PREFIX}{}", base32(bytes)))
    }

    /// Accepts what a caller presents, bounded so nothing unbounded is hashed or stored.
    ///
    /// # Errors
    /// [`ParseError`] when it cannot be a token this engine issued.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let rest = raw
            .strip_prefix(REFRESH_PREFIX)
            .ok_or(ParseError("is not a refresh token"))?;
        let well_formed = rest.len() == 52
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
        if well_formed {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError("is not a refresh token"))
        }
    }

    #[must_use]
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_tokens_round_trip_and_hide_in_debug() {
        let token = RefreshToken::from_bytes(&[9; REFRESH_TOKEN_BYTES]);
        assert_eq!(RefreshToken::parse(token.reveal()), Ok(token.clone()));
        assert!(!format!("{token:?}").contains(token.reveal()));
        assert!(RefreshToken::parse("rt_short").is_err());
        assert!(RefreshToken::parse(&token.reveal().to_uppercase()).is_err());
    }

    #[test]
    fn a_session_is_active_until_revoked_or_expired() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(1);
        let mut session = Session {
            id: SessionId::from_trusted("ses_a".into()),
            app_id: AppId::from_trusted("app_a".into()),
            user_id: UserId::from_trusted("usr_a".into()),
            created_at: now,
            expires_at: now + Duration::seconds(10),
            revoked_at: None,
        };
        assert!(session.is_active(now));
        assert!(!session.is_active(now + Duration::seconds(10)));
        session.revoked_at = Some(now);
        assert!(!session.is_active(now));
    }
}
