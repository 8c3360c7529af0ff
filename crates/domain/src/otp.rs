//! One-time codes: six digits, short-lived, a few tries.

use crate::ParseError;
use std::fmt;
use time::Duration;

/// How codes behave; every number is an operator setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OtpPolicy {
    /// How long a code can be used after it is sent.
    pub ttl: Duration,
    /// Wrong tries that kill a code.
    pub max_attempts: u32,
    /// How long an app must wait before sending another code to the same identifier.
    pub resend_cooldown: Duration,
}

impl Default for OtpPolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::seconds(300),
            max_attempts: 5,
            resend_cooldown: Duration::seconds(60),
        }
    }
}

/// A six-digit code. Its `Debug` hides the digits so it cannot reach a log by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpCode(String);

/// The largest multiple of one million below 2^32: values at or above it would bias the digits.
const UNBIASED_LIMIT: u32 = 4_294_000_000;

impl OtpCode {
    /// Turns a uniformly random `u32` into a uniformly random code, or `None` (draw again)
    /// for the few values that would favour low codes.
    #[must_use]
    pub fn from_random(value: u32) -> Option<Self> {
        (value < UNBIASED_LIMIT).then(|| Self(format!("{:06}", value % 1_000_000)))
    }

    /// # Errors
    /// [`ParseError`] unless `raw` is exactly six ASCII digits.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.len() == 6 && raw.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError("must be exactly 6 digits"))
        }
    }

    /// The digits, for the notifier and the keyed hash only.
    #[must_use]
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OtpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpCode(******)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_values_become_six_digits_without_bias() {
        assert_eq!(OtpCode::from_random(42).unwrap().reveal(), "000042");
        assert_eq!(
            OtpCode::from_random(UNBIASED_LIMIT - 1).unwrap().reveal(),
            "999999"
        );
        assert!(OtpCode::from_random(UNBIASED_LIMIT).is_none());
        assert!(OtpCode::from_random(u32::MAX).is_none());
    }

    #[test]
    fn codes_parse_only_six_digits_and_hide_in_debug() {
        assert!(OtpCode::parse("123456").is_ok());
        for bad in ["12345", "1234567", "12345a", "١٢٣٤٥٦"] {
            assert!(OtpCode::parse(bad).is_err());
        }
        assert!(!format!("{:?}", OtpCode::parse("123456").unwrap()).contains("123456"));
    }
}
