//! Software license keys, their states and the rules for activating devices.

use crate::ParseError;
use crate::ids::{AppId, LicenseId, UserId};
use std::fmt;
use time::OffsetDateTime;

/// The 31 symbols of a key: digits and capitals without look-alikes (no 0/O, 1/I/L).
pub const KEY_ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Random symbols in a key; the 25th is the check symbol. 24 × log2(31) ≈ 118.9 bits.
pub const KEY_RANDOM_SYMBOLS: usize = 24;
const MODULUS: u32 = 31;

fn value_of(symbol: u8) -> Option<u32> {
    KEY_ALPHABET
        .iter()
        .position(|s| *s == symbol)
        .and_then(|v| u32::try_from(v).ok())
}

/// The check symbol's value for the 24 data values: weights 1..=25 modulo the prime 31 make every
/// single substitution and every adjacent transposition change the weighted sum.
fn check_value(data: &[u32]) -> u32 {
    let sum: u32 = data
        .iter()
        .zip(1..)
        .map(|(v, w)| v * w % MODULUS)
        .sum::<u32>()
        % MODULUS;
    // 25 · c ≡ −sum (mod 31); 25⁻¹ ≡ 5 (mod 31) because 25 · 5 = 125 = 4 · 31 + 1.
    (MODULUS - sum) % MODULUS * 5 % MODULUS
}

/// A license key, `XXXXX-XXXXX-XXXXX-XXXXX-XXXXX`. `Debug` hides it: keys never reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct LicenseKey(String);

impl LicenseKey {
    /// Makes a key from 24 random values; each is reduced to a symbol without bias by the caller
    /// drawing from `0..31` (see [`LicenseKey::symbol_from_random`]).
    #[must_use]
    pub fn from_values(values: &[u32; KEY_RANDOM_SYMBOLS]) -> Self {
        let mut symbols: Vec<u8> = values
            .iter()
            .map(|v| KEY_ALPHABET[(*v % MODULUS) as usize])
            .collect();
        let data: Vec<u32> = values.iter().map(|v| v % MODULUS).collect();
        symbols.push(KEY_ALPHABET[check_value(&data) as usize]);
        let groups: Vec<String> = symbols
            .chunks(5)
            .map(|g| String::from_utf8_lossy(g).into_owned())
            .collect();
        Self(groups.join("-"))
    }

    /// A symbol value in `0..31` from a random byte, or `None` (draw again) for the bytes that would
    /// bias the result (248 and above).
    #[must_use]
    pub fn symbol_from_random(byte: u8) -> Option<u32> {
        (byte < 248).then(|| u32::from(byte) % MODULUS)
    }

    /// Accepts a key as a person typed it: case and dashes or spaces between groups do not matter;
    /// a wrong check symbol is refused here, before any lookup.
    ///
    /// # Errors
    /// [`ParseError`] for a wrong length, a symbol outside the alphabet or a failed check.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if raw.len() > 64 {
            return Err(ParseError("is not a license key"));
        }
        let symbols: Vec<u8> = raw
            .bytes()
            .filter(|b| *b != b'-' && *b != b' ')
            .map(|b| b.to_ascii_uppercase())
            .collect();
        if symbols.len() != KEY_RANDOM_SYMBOLS + 1 {
            return Err(ParseError("must be 25 characters in five groups"));
        }
        let values: Option<Vec<u32>> = symbols.iter().map(|s| value_of(*s)).collect();
        let values = values.ok_or(ParseError("has a character that is not in license keys"))?;
        if check_value(&values[..KEY_RANDOM_SYMBOLS]) != values[KEY_RANDOM_SYMBOLS] {
            return Err(ParseError(
                "has a typo (its check character does not match)",
            ));
        }
        let groups: Vec<String> = symbols
            .chunks(5)
            .map(|g| String::from_utf8_lossy(g).into_owned())
            .collect();
        Ok(Self(groups.join("-")))
    }

    /// The key in its canonical form, for the keyed hash and the one response that shows it.
    #[must_use]
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for LicenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LicenseKey(*****)")
    }
}

/// Where a license stands. Revoked is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicenseStatus {
    Active,
    Suspended,
    Revoked,
}

impl LicenseStatus {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    /// # Errors
    /// [`ParseError`] for an unknown status.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "active" => Ok(Self::Active),
            "suspended" => Ok(Self::Suspended),
            "revoked" => Ok(Self::Revoked),
            _ => Err(ParseError("unknown license status")),
        }
    }
}

/// An operator's change of a license's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LicenseAction {
    Suspend,
    Reinstate,
    Revoke,
}

/// Why a state change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransitionError {
    /// Revoked is final.
    Revoked,
}

impl LicenseAction {
    /// The state after this action, or `None` when the license is already there (idempotent).
    ///
    /// # Errors
    /// [`TransitionError::Revoked`] when the license is revoked and the action is not a revoke.
    pub fn apply(self, from: LicenseStatus) -> Result<Option<LicenseStatus>, TransitionError> {
        use LicenseStatus::{Active, Revoked, Suspended};
        match (self, from) {
            (Self::Revoke, Revoked) => Ok(None),
            (_, Revoked) => Err(TransitionError::Revoked),
            (Self::Suspend, Suspended) | (Self::Reinstate, Active) => Ok(None),
            (Self::Suspend, Active) => Ok(Some(Suspended)),
            (Self::Reinstate, Suspended) => Ok(Some(Active)),
            (Self::Revoke, _) => Ok(Some(Revoked)),
        }
    }
}

/// A license as stored (without its key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    pub id: LicenseId,
    pub app_id: AppId,
    pub user_id: Option<UserId>,
    pub tenant: Option<String>,
    pub product: Option<String>,
    pub max_activations: u32,
    pub active_seats: u32,
    pub status: LicenseStatus,
    pub expires_at: Option<OffsetDateTime>,
    /// A JSON object of at most 4 KiB.
    pub metadata: serde_json::Value,
    pub created_at: OffsetDateTime,
}

/// The typed answer of a license check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifyCode {
    Valid,
    NotFound,
    Revoked,
    Suspended,
    Expired,
    NotActivated,
    DeviceMismatch,
}

impl VerifyCode {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "VALID",
            Self::NotFound => "NOT_FOUND",
            Self::Revoked => "REVOKED",
            Self::Suspended => "SUSPENDED",
            Self::Expired => "EXPIRED",
            Self::NotActivated => "NOT_ACTIVATED",
            Self::DeviceMismatch => "DEVICE_MISMATCH",
        }
    }
}

impl License {
    /// Whether the license can be used at `now`, as a check code: `Valid` or why not.
    #[must_use]
    pub fn standing(&self, now: OffsetDateTime) -> VerifyCode {
        match self.status {
            LicenseStatus::Revoked => VerifyCode::Revoked,
            LicenseStatus::Suspended => VerifyCode::Suspended,
            LicenseStatus::Active if self.expires_at.is_some_and(|at| at <= now) => {
                VerifyCode::Expired
            }
            LicenseStatus::Active => VerifyCode::Valid,
        }
    }
}

/// The most metadata a license may carry.
pub const MAX_METADATA_BYTES: usize = 4096;
/// The most seats a license may have.
pub const MAX_ACTIVATIONS: u32 = 10_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u32) -> LicenseKey {
        let mut values = [0u32; KEY_RANDOM_SYMBOLS];
        for (i, v) in values.iter_mut().enumerate() {
            *v = (seed
                .wrapping_mul(2_654_435_761)
                .wrapping_add(u32::try_from(i).unwrap() * 7919))
                % 31;
        }
        LicenseKey::from_values(&values)
    }

    #[test]
    fn keys_have_five_groups_of_five_and_round_trip_in_any_case() {
        for seed in 0..50 {
            let key = key(seed);
            let text = key.reveal();
            assert_eq!(text.len(), 29);
            assert!(text.split('-').all(|g| g.len() == 5));
            assert!(text.bytes().all(|b| b == b'-' || KEY_ALPHABET.contains(&b)));
            assert_eq!(LicenseKey::parse(text), Ok(key.clone()));
            assert_eq!(
                LicenseKey::parse(&text.to_lowercase().replace('-', " ")),
                Ok(key.clone())
            );
        }
    }

    #[test]
    fn every_single_character_typo_is_caught() {
        for seed in 0..20 {
            let key = key(seed);
            let symbols: Vec<u8> = key.reveal().bytes().filter(|b| *b != b'-').collect();
            for position in 0..symbols.len() {
                for replacement in KEY_ALPHABET.iter().filter(|s| **s != symbols[position]) {
                    let mut typo = symbols.clone();
                    typo[position] = *replacement;
                    assert!(LicenseKey::parse(std::str::from_utf8(&typo).unwrap()).is_err());
                }
            }
        }
    }

    #[test]
    fn every_adjacent_transposition_is_caught() {
        for seed in 0..200 {
            let symbols: Vec<u8> = key(seed).reveal().bytes().filter(|b| *b != b'-').collect();
            for position in 0..symbols.len() - 1 {
                if symbols[position] == symbols[position + 1] {
                    continue;
                }
                let mut swapped = symbols.clone();
                swapped.swap(position, position + 1);
                assert!(LicenseKey::parse(std::str::from_utf8(&swapped).unwrap()).is_err());
            }
        }
    }

    #[test]
    fn look_alikes_and_wrong_lengths_are_refused_and_debug_hides_the_key() {
        let text = key(1).reveal().to_owned();
        assert!(
            LicenseKey::parse(&text.replacen(|c: char| c.is_ascii_alphanumeric(), "0", 1)).is_err()
        );
        assert!(LicenseKey::parse(&text[..28]).is_err());
        assert!(!format!("{:?}", key(1)).contains(&text));
        assert_eq!(LicenseKey::symbol_from_random(247), Some(247 % 31));
        assert_eq!(LicenseKey::symbol_from_random(248), None);
    }

    #[test]
    fn revoked_is_final_and_repeats_are_idempotent() {
        use LicenseAction::{Reinstate, Revoke, Suspend};
        use LicenseStatus::{Active, Revoked, Suspended};
        assert_eq!(Suspend.apply(Active), Ok(Some(Suspended)));
        assert_eq!(Suspend.apply(Suspended), Ok(None));
        assert_eq!(Reinstate.apply(Suspended), Ok(Some(Active)));
        assert_eq!(Reinstate.apply(Active), Ok(None));
        assert_eq!(Revoke.apply(Suspended), Ok(Some(Revoked)));
        assert_eq!(Revoke.apply(Revoked), Ok(None));
        assert_eq!(Reinstate.apply(Revoked), Err(TransitionError::Revoked));
        assert_eq!(Suspend.apply(Revoked), Err(TransitionError::Revoked));
    }
}
