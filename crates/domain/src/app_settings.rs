//! What a developer may tune per app: token lifetimes within bounds, and the sign-in channels.

use time::Duration;

use crate::Channel;
use crate::ParseError;
use crate::session::TokenPolicy;

/// The shortest and longest access-token lifetime an app may choose: the engine's own bounds.
pub const ACCESS_TTL_RANGE: (Duration, Duration) = (Duration::minutes(1), Duration::hours(1));
/// The longest refresh reuse grace window an app may choose (API.md: 0 to 60 s).
pub const MAX_REUSE_GRACE: Duration = Duration::seconds(60);

/// The shortest and longest time a refresh token may go unused that an app may choose: a minute
/// to a year.
pub const REFRESH_IDLE_RANGE: (Duration, Duration) =
    (Duration::seconds(60), Duration::seconds(31_536_000));

/// An app's own token lifetimes; `None` uses the engine's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenOverrides {
    pub access_ttl: Option<Duration>,
    pub reuse_grace: Option<Duration>,
    pub refresh_idle: Option<Duration>,
}

impl TokenOverrides {
    /// # Errors
    /// [`ParseError`] for an access-token lifetime outside 1 minute to 1 hour, or a grace window
    /// outside 0 to 60 seconds.
    pub fn new(
        access_ttl: Option<Duration>,
        reuse_grace: Option<Duration>,
    ) -> Result<Self, ParseError> {
        if access_ttl.is_some_and(|ttl| ttl < ACCESS_TTL_RANGE.0 || ttl > ACCESS_TTL_RANGE.1) {
            return Err(ParseError(
                "access-token lifetime must be 60 to 3600 seconds",
            ));
        }
        if reuse_grace.is_some_and(|grace| grace.is_negative() || grace > MAX_REUSE_GRACE) {
            return Err(ParseError("refresh grace window must be 0 to 60 seconds"));
        }
        Ok(Self {
            access_ttl,
            reuse_grace,
            refresh_idle: None,
        })
    }

    /// These lifetimes with `refresh_idle` as the app's idle timeout.
    ///
    /// # Errors
    /// [`ParseError`] for a timeout outside 60 to 31536000 seconds.
    pub fn with_refresh_idle(self, refresh_idle: Option<Duration>) -> Result<Self, ParseError> {
        let (shortest, longest) = REFRESH_IDLE_RANGE;
        if refresh_idle.is_some_and(|idle| idle < shortest || idle > longest) {
            return Err(ParseError(
                "refresh idle timeout must be 60 to 31536000 seconds",
            ));
        }
        Ok(Self {
            refresh_idle,
            ..self
        })
    }

    /// The engine's policy with this app's choices in it.
    #[must_use]
    pub fn apply(&self, engine: &TokenPolicy) -> TokenPolicy {
        TokenPolicy {
            access_ttl: self.access_ttl.unwrap_or(engine.access_ttl),
            reuse_grace: self.reuse_grace.unwrap_or(engine.reuse_grace),
            session_ttl: engine.session_ttl,
            refresh_idle: self.refresh_idle.unwrap_or(engine.refresh_idle),
        }
    }
}

/// Every per-app setting the portal's settings page sets, replaced together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppSettings {
    pub tokens: TokenOverrides,
    pub channels: Channels,
    pub delivery: crate::delivery::DeliveryPolicy,
}

impl AppSettings {
    /// The settings `app` has now.
    #[must_use]
    pub fn of(app: &crate::App) -> Self {
        Self {
            tokens: app.tokens,
            channels: app.channels,
            delivery: app.delivery.clone(),
        }
    }
}

/// The channels an app lets people sign in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channels {
    pub sms: bool,
    pub email: bool,
}

impl Default for Channels {
    fn default() -> Self {
        Self {
            sms: true,
            email: true,
        }
    }
}

impl Channels {
    #[must_use]
    pub fn allows(&self, channel: Channel) -> bool {
        match channel {
            Channel::Sms => self.sms,
            Channel::Email => self.email,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idle_timeout_is_a_minute_to_a_year_and_fourteen_days_by_default() {
        let engine = TokenPolicy::default();
        assert_eq!(engine.refresh_idle, Duration::days(14));
        let none = TokenOverrides::default();
        for (seconds, ok) in [
            (59, false),
            (60, true),
            (31_536_000, true),
            (31_536_001, false),
        ] {
            let chosen = none.with_refresh_idle(Some(Duration::seconds(seconds)));
            assert_eq!(chosen.is_ok(), ok, "{seconds}");
            if let Ok(chosen) = chosen {
                assert_eq!(
                    chosen.apply(&engine).refresh_idle,
                    Duration::seconds(seconds)
                );
            }
        }
    }

    #[test]
    fn an_app_tunes_lifetimes_only_within_bounds() {
        let minute = Duration::minutes(1);
        let ok = TokenOverrides::new(Some(minute * 5), Some(Duration::ZERO)).unwrap();
        let engine = TokenPolicy::default();

        assert_eq!(ok.apply(&engine).access_ttl, minute * 5);
        assert_eq!(ok.apply(&engine).reuse_grace, Duration::ZERO);
        assert_eq!(ok.apply(&engine).session_ttl, engine.session_ttl);
        assert_eq!(TokenOverrides::default().apply(&engine), engine);
        for (ttl, grace) in [
            (Some(Duration::seconds(59)), None),
            (Some(Duration::hours(1) + Duration::SECOND), None),
            (None, Some(Duration::seconds(61))),
            (None, Some(Duration::seconds(-1))),
        ] {
            assert!(
                TokenOverrides::new(ttl, grace).is_err(),
                "{ttl:?} {grace:?}"
            );
        }
    }

    #[test]
    fn channels_allow_what_is_on() {
        let email_only = Channels {
            sms: false,
            email: true,
        };

        assert!(email_only.allows(Channel::Email));
        assert!(!email_only.allows(Channel::Sms));
        assert!(Channels::default().allows(Channel::Sms));
    }
}
