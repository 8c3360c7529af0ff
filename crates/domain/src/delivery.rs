//! Where and how much an app may send: the defences against SMS pumping and mail abuse.

use crate::{ParseError, Phone};

/// An app's delivery limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryPolicy {
    /// Country calling codes (`"91"`, `"1"`, `"44"`) SMS may go to; `None` means any country.
    pub sms_countries: Option<Vec<String>>,
    /// SMS the app may send per day.
    pub sms_per_day: u32,
    /// Emails the app may send per day.
    pub emails_per_day: u32,
}

/// The per-app daily SMS cap unless the operator sets another.
pub const DEFAULT_SMS_PER_DAY: u32 = 1_000;
/// The per-app daily email cap unless the operator sets another.
pub const DEFAULT_EMAILS_PER_DAY: u32 = 10_000;

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            sms_countries: None,
            sms_per_day: DEFAULT_SMS_PER_DAY,
            emails_per_day: DEFAULT_EMAILS_PER_DAY,
        }
    }
}

/// What an operator changes in a policy; `None` leaves that part as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryChanges {
    /// `Some(None)` allows any country again.
    pub sms_countries: Option<Option<Vec<String>>>,
    pub sms_per_day: Option<u32>,
    pub emails_per_day: Option<u32>,
}

impl DeliveryChanges {
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sms_countries.is_none() && self.sms_per_day.is_none() && self.emails_per_day.is_none()
    }
}

impl DeliveryPolicy {
    /// Whether SMS may go to `phone`. Country calling codes form a prefix code, so the number's
    /// digits start with exactly one of them.
    #[must_use]
    pub fn allows(&self, phone: &Phone) -> bool {
        let digits = phone.as_str().trim_start_matches('+');
        self.sms_countries.as_ref().is_none_or(|countries| {
            countries
                .iter()
                .any(|code| digits.starts_with(code.as_str()))
        })
    }

    /// A list of calling codes as an operator writes it: `"91, 1, +44"`, or `any`.
    ///
    /// # Errors
    /// [`ParseError`] unless every entry is 1 to 3 digits, not starting with 0.
    pub fn parse_countries(raw: &str) -> Result<Option<Vec<String>>, ParseError> {
        if raw.trim().eq_ignore_ascii_case("any") {
            return Ok(None);
        }
        let mut codes = Vec::new();
        for entry in raw.split(',') {
            let code = entry.trim().trim_start_matches('+');
            let valid = (1..=3).contains(&code.len())
                && code.bytes().all(|b| b.is_ascii_digit())
                && !code.starts_with('0');
            if !valid {
                return Err(ParseError(
                    "must be country calling codes like 91,1,44 (1 to 3 digits each), or any",
                ));
            }
            if !codes.iter().any(|c| c == code) {
                codes.push(code.to_owned());
            }
        }
        Ok(Some(codes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(raw: &str) -> Phone {
        Phone::parse(raw).unwrap()
    }

    #[test]
    fn any_country_is_the_default_and_an_allowlist_matches_by_calling_code() {
        let india_and_nanp = DeliveryPolicy {
            sms_countries: DeliveryPolicy::parse_countries("91, +1").unwrap(),
            ..DeliveryPolicy::default()
        };

        assert!(DeliveryPolicy::default().allows(&phone("+79161234567")));
        assert!(india_and_nanp.allows(&phone("+919876543210")));
        assert!(india_and_nanp.allows(&phone("+14155550100")));
        assert!(!india_and_nanp.allows(&phone("+447700900123")));
        assert!(!india_and_nanp.allows(&phone("+79161234567")));
    }

    #[test]
    fn calling_codes_are_one_to_three_digits_or_any() {
        assert_eq!(DeliveryPolicy::parse_countries("ANY"), Ok(None));
        assert_eq!(
            DeliveryPolicy::parse_countries("44,44,+353"),
            Ok(Some(vec!["44".into(), "353".into()]))
        );
        for bad in ["", "0", "4444", "91,", "x1", "91;1"] {
            assert!(DeliveryPolicy::parse_countries(bad).is_err(), "{bad:?}");
        }
    }
}
