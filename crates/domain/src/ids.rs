//! Opaque identifiers with a type prefix (`usr_…`, `ses_…`): the prefix tells a reader what an id names.

use std::fmt;

/// The random part of every id: 20 bytes (160 bits), base32-lowercase, 32 characters.
pub const RANDOM_ID_BYTES: usize = 20;

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Encodes bytes as unpadded lowercase base32 (RFC 4648 alphabet).
#[must_use]
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// Makes a new id from fresh random bytes.
            #[must_use]
            pub fn from_random(bytes: &[u8; RANDOM_ID_BYTES]) -> Self {
                Self(format!("{}{}", $prefix, base32(bytes)))
            }

            /// Accepts an id as a caller sent it: the right prefix, then 1–64 base32 characters.
            ///
            /// # Errors
            /// [`crate::ParseError`] when the prefix or the characters are wrong.
            pub fn parse(raw: &str) -> Result<Self, crate::ParseError> {
                let rest = raw
                    .strip_prefix($prefix)
                    .ok_or(crate::ParseError(concat!("must start with ", $prefix)))?;
                let well_formed = !rest.is_empty()
                    && rest.len() <= 64
                    && rest.bytes().all(|b| ALPHABET.contains(&b));
                if well_formed {
                    Ok(Self(raw.to_owned()))
                } else {
                    Err(crate::ParseError("is not a valid id"))
                }
            }

            /// Wraps an id read back from storage, which only ever holds ids this type made.
            #[must_use]
            pub fn from_trusted(raw: String) -> Self {
                Self(raw)
            }

            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(/// An app: one integrating product.
    AppId, "app_");
id_type!(/// An end user of one app.
    UserId, "usr_");
id_type!(/// One send-otp request and the code it delivered.
    OtpId, "otp_");
id_type!(/// A login session: one family of rotating refresh tokens.
    SessionId, "ses_");
id_type!(/// One audit record.
    EventId, "evt_");
id_type!(/// A tenant: one organisation within an app.
    TenantId, "ten_");
id_type!(/// A software license.
    LicenseId, "lic_");
id_type!(/// One device's activation of a license.
    ActivationId, "act_");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648_vectors() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "my");
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
    }

    #[test]
    fn ids_round_trip_and_refuse_other_prefixes() {
        let id = UserId::from_random(&[7; RANDOM_ID_BYTES]);
        assert!(id.as_str().starts_with("usr_"));
        assert_eq!(id.as_str().len(), 4 + 32);
        assert_eq!(UserId::parse(id.as_str()), Ok(id.clone()));
        assert!(SessionId::parse(id.as_str()).is_err());
        assert!(OtpId::parse("otp_").is_err());
        assert!(OtpId::parse("otp_ABC").is_err());
    }
}
