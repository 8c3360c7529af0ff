//! The end user's verified identifier: an E.164 phone number or an email address.

use crate::ParseError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A phone number in E.164 form: `+` then 8–15 digits, the first not zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// # Errors
    /// [`ParseError`] unless `raw` is `+` followed by 8–15 digits with a non-zero first digit.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let digits = raw
            .strip_prefix('+')
            .ok_or(ParseError("must be in E.164 form, starting with +"))?;
        let well_formed = (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0');
        if well_formed {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError("must be + followed by 8 to 15 digits"))
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `+91******3210`: the country prefix and the last four digits.
    #[must_use]
    pub fn hint(&self) -> String {
        let digits = &self.0[1..];
        let hidden = digits.len() - 6;
        format!(
            "+{}{}{}",
            &digits[..2],
            "*".repeat(hidden),
            &digits[digits.len() - 4..]
        )
    }
}

/// An email address, lower-cased so one person has one identity per app.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// # Errors
    /// [`ParseError`] unless `raw` is `local@domain` within RFC 5321's lengths, with a dotted domain.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.len() > 254 {
            return Err(ParseError("must be at most 254 characters"));
        }
        let (local, domain) = raw.rsplit_once('@').ok_or(ParseError("must contain @"))?;
        if local.is_empty() || local.len() > 64 {
            return Err(ParseError("local part must be 1 to 64 characters"));
        }
        let local_ok = local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        if !local_ok {
            return Err(ParseError("local part has characters that are not allowed"));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !domain_ok {
            return Err(ParseError("domain is not a valid host name"));
        }
        Ok(Self(raw.to_ascii_lowercase()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `j***@example.com`: the first character of the local part and the domain.
    #[must_use]
    pub fn hint(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or(("", &self.0));
        let first = local.chars().next().map(String::from).unwrap_or_default();
        format!("{first}***@{domain}")
    }
}

/// How a code reaches the end user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
        }
    }
}

/// The one identifier an end user signs in with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identifier {
    Phone(Phone),
    Email(Email),
}

impl Identifier {
    #[must_use]
    pub fn channel(&self) -> Channel {
        match self {
            Self::Phone(_) => Channel::Sms,
            Self::Email(_) => Channel::Email,
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Phone(phone) => phone.as_str(),
            Self::Email(email) => email.as_str(),
        }
    }

    /// `phone` or `email`: how storage tells the two apart.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Phone(_) => "phone",
            Self::Email(_) => "email",
        }
    }

    #[must_use]
    pub fn hint(&self) -> String {
        match self {
            Self::Phone(phone) => phone.hint(),
            Self::Email(email) => email.hint(),
        }
    }

    /// Rebuilds an identifier from its stored kind and value.
    ///
    /// # Errors
    /// [`ParseError`] when the kind is unknown or the value does not parse.
    pub fn from_parts(kind: &str, value: &str) -> Result<Self, ParseError> {
        match kind {
            "phone" => Phone::parse(value).map(Self::Phone),
            "email" => Email::parse(value).map(Self::Email),
            _ => Err(ParseError("unknown identifier kind")),
        }
    }
}

impl fmt::Display for Identifier {
    /// Only the hint: an identifier is personal data and is not written to logs in full.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_accepts_e164_only() {
        assert!(Phone::parse("+919876543210").is_ok());
        assert!(Phone::parse("+12345678").is_ok());
        for bad in [
            "919876543210",
            "+1234567",
            "+1234567890123456",
            "+0123456789",
            "+12 3456789",
            "",
        ] {
            assert!(Phone::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn phone_hint_keeps_prefix_and_last_four() {
        assert_eq!(
            Phone::parse("+919876543210").unwrap().hint(),
            "+91******3210"
        );
    }

    #[test]
    fn email_is_lower_cased_and_checked() {
        assert_eq!(
            Email::parse("Ann.Lee@Example.COM").unwrap().as_str(),
            "ann.lee@example.com"
        );
        for bad in [
            "no-at",
            "@example.com",
            "a@localhost",
            "a..b@example.com",
            "a@-x.com",
            "a b@x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(Email::parse(&long_local).is_err());
        assert_eq!(
            Email::parse("ann@example.com").unwrap().hint(),
            "a***@example.com"
        );
    }
}
