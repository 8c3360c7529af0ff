//! Apps (integrating products) and their signing keys.

use crate::ParseError;
use crate::ids::{AppId, UserId};
use time::OffsetDateTime;

/// The app's public name in tokens (`aud`): `^[a-z0-9][a-z0-9-]{1,62}$`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AppSlug(String);

impl AppSlug {
    /// The developer portal's own app, created by the engine at first start.
    pub const PORTAL: &'static str = "portal";

    /// Whether the engine keeps this slug for itself.
    #[must_use]
    pub fn is_reserved(&self) -> bool {
        self.0 == Self::PORTAL
    }

    /// # Errors
    /// [`ParseError`] unless `raw` is 2–63 lowercase letters, digits or dashes, not starting with a dash.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bytes = raw.as_bytes();
        let well_formed = (2..=63).contains(&bytes.len())
            && bytes[0] != b'-'
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        if well_formed {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError(
                "must be 2 to 63 lowercase letters, digits or dashes, not starting with a dash",
            ))
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One integrating product and how its credentials are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    pub id: AppId,
    pub slug: AppSlug,
    pub name: String,
    /// argon2id PHC string of the app secret; the secret itself is never stored.
    pub secret_hash: String,
    /// Bumped whenever the secret changes, so a cached verification can never outlive it.
    pub secret_version: i64,
    /// The secret a rotation replaced, while it keeps working for the overlap the developer chose.
    pub previous_secret: Option<PreviousSecret>,
    pub disabled: bool,
    /// Whether revoking a role also revokes every session of that user in the app, for apps that
    /// cannot wait for access tokens to expire.
    pub revoke_sessions_on_role_change: bool,
    /// Where and how much the app may send.
    pub delivery: crate::delivery::DeliveryPolicy,
    /// The app's own token lifetimes, within the engine's bounds.
    pub tokens: crate::app_settings::TokenOverrides,
    /// The channels people may sign in with.
    pub channels: crate::app_settings::Channels,
    /// The developer (a user of the portal app) who created it in the portal; `None` for apps an
    /// operator created with the CLI, and for the portal itself.
    pub owner: Option<UserId>,
    /// Whether the app may send codes only to its owner's own sign-in identifier and its test
    /// identifiers. Apps made in the portal start here, until the operator approves them.
    pub sandboxed: bool,
    pub created_at: OffsetDateTime,
}

/// A replaced app secret that still works until `valid_until`, so deployed backends can switch over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    /// argon2id PHC string, like [`App::secret_hash`].
    pub secret_hash: String,
    pub valid_until: OffsetDateTime,
}

/// The longest overlap a rotated secret may keep working for.
pub const MAX_SECRET_OVERLAP: time::Duration = time::Duration::days(7);

impl App {
    /// The replaced secret's hash if it still works at `now`.
    #[must_use]
    pub fn live_previous_secret(&self, now: OffsetDateTime) -> Option<&PreviousSecret> {
        self.previous_secret
            .as_ref()
            .filter(|previous| now < previous.valid_until)
    }

    /// Checks an app name. The name is shown to people in every code the app sends, so it must
    /// read as what it is: 1–[`MAX_APP_NAME_CHARS`] characters, with no control characters and
    /// none that reorder or hide text (bidi overrides and isolates, zero-width characters), which
    /// could make a message say something other than what it seems to.
    ///
    /// # Errors
    /// [`ParseError`] when the name is empty, too long or has such characters.
    pub fn parse_name(raw: &str) -> Result<String, ParseError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.chars().count() > MAX_APP_NAME_CHARS {
            return Err(ParseError("must be 1 to 60 characters"));
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() || is_hidden_format(c))
        {
            return Err(ParseError(
                "must not contain control, bidi-override or zero-width characters",
            ));
        }
        Ok(trimmed.to_owned())
    }
}

/// The most test identifiers a sandboxed app may send codes to, besides its owner's own.
pub const MAX_TEST_IDENTIFIERS: usize = 10;

/// The longest app name: it goes into every text message, where space is short.
pub const MAX_APP_NAME_CHARS: usize = 60;

/// Characters that change how text around them is shown without showing themselves: bidi
/// embeddings, overrides, isolates and marks, and zero-width characters.
fn is_hidden_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// One RS256 key of an app. The private half is only ever held encrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub app_id: AppId,
    /// PKCS#8 DER, sealed with AES-256-GCM under the master key.
    pub encrypted_private_key: Vec<u8>,
    /// SubjectPublicKeyInfo DER.
    pub public_key_der: Vec<u8>,
    pub created_at: OffsetDateTime,
    /// When a newer key replaced it; `None` while it is the key tokens are signed with.
    pub retired_at: Option<OffsetDateTime>,
    /// When an operator or the app's developer withdrew it (a leak): out of the JWKS at once, and
    /// no token it signed is accepted any more.
    pub withdrawn_at: Option<OffsetDateTime>,
}

impl SigningKey {
    /// Whether the key belongs in the JWKS at `now`, and tokens it signed are accepted: it was not
    /// withdrawn, and it signs, or tokens it signed may still be live, none living longer than
    /// `longest_token`.
    #[must_use]
    pub fn is_published(&self, now: OffsetDateTime, longest_token: time::Duration) -> bool {
        self.withdrawn_at.is_none()
            && self
                .retired_at
                .is_none_or(|retired| now < retired + longest_token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_follows_the_contract() {
        assert!(AppSlug::parse("attendance-app").is_ok());
        assert!(AppSlug::parse("a1").is_ok());
        for bad in ["a", "-ab", "Abc", "ab_c", &"a".repeat(64)] {
            assert!(AppSlug::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn a_replaced_secret_works_only_until_its_overlap_ends() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let app = |previous| App {
            id: AppId::from_trusted("app_x".into()),
            slug: AppSlug::parse("x1").unwrap(),
            name: "X".into(),
            secret_hash: "new".into(),
            secret_version: 2,
            previous_secret: previous,
            disabled: false,
            revoke_sessions_on_role_change: false,
            delivery: crate::delivery::DeliveryPolicy::default(),
            tokens: crate::app_settings::TokenOverrides::default(),
            channels: crate::app_settings::Channels::default(),
            owner: None,
            sandboxed: false,
            created_at: at,
        };
        let rotated = app(Some(PreviousSecret {
            secret_hash: "old".into(),
            valid_until: at + time::Duration::hours(1),
        }));

        assert!(rotated.live_previous_secret(at).is_some());
        assert!(
            rotated
                .live_previous_secret(at + time::Duration::minutes(59))
                .is_some()
        );
        assert!(
            rotated
                .live_previous_secret(at + time::Duration::hours(1))
                .is_none()
        );
        assert!(app(None).live_previous_secret(at).is_none());
    }

    #[test]
    fn a_replaced_key_is_published_until_its_longest_token_has_expired() {
        let at = OffsetDateTime::UNIX_EPOCH;
        let key = |retired_at| SigningKey {
            kid: "k".into(),
            app_id: AppId::from_trusted("app_x".into()),
            encrypted_private_key: Vec::new(),
            public_key_der: Vec::new(),
            created_at: at,
            retired_at,
            withdrawn_at: None,
        };
        let day = time::Duration::days(1);

        assert!(key(None).is_published(at + day * 365, day));
        assert!(key(Some(at)).is_published(at + day - time::Duration::SECOND, day));
        assert!(!key(Some(at)).is_published(at + day, day));
        let withdrawn = SigningKey {
            withdrawn_at: Some(at),
            ..key(Some(at))
        };
        assert!(!withdrawn.is_published(at, day), "withdrawn at once");
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(App::parse_name("  My App ").unwrap(), "My App");
        assert!(App::parse_name("   ").is_err());
        assert_eq!(App::parse_name(&"x".repeat(60)).unwrap().len(), 60);
        assert!(App::parse_name(&"x".repeat(61)).is_err());
        assert!(App::parse_name("a\u{7}b").is_err());
    }

    #[test]
    fn names_that_hide_or_reorder_text_are_refused() {
        for hidden in [
            '\u{0}', '\u{9b}', '\u{202E}', '\u{2067}', '\u{200B}', '\u{200D}', '\u{FEFF}',
        ] {
            let name = format!("ACME{hidden}Bank");
            assert!(
                App::parse_name(&name).is_err(),
                "{name:?} should be refused"
            );
        }
        assert_eq!(
            App::parse_name("Café Ünïcode 日本").unwrap(),
            "Café Ünïcode 日本"
        );
    }
}
