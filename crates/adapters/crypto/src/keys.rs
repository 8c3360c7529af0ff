//! The master key and the purpose keys derived from it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hkdf;
use std::fmt;

use crate::KeyVault;
use crate::vault::Unsealable;

/// The purpose key that wraps data keys, and the label each wrapped key is bound to.
const WRAP_PURPOSE: &str = "aead/data-key";
const WRAP_LABEL: &str = "auth-engine data key v1";

/// A 32-byte root key from which every purpose key is derived with HKDF. The operator's master
/// key is one; the data key it wraps (which keys every stored hash and seals private keys at rest)
/// is another, so the master key can be rotated without touching what the data key protects.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

/// Why a master key was refused; never contains key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the master key must be the base64 encoding of exactly 32 bytes")]
pub struct BadMasterKey;

impl MasterKey {
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// # Errors
    /// [`BadMasterKey`] unless `encoded` is base64 of exactly 32 bytes.
    pub fn from_base64(encoded: &str) -> Result<Self, BadMasterKey> {
        let bytes = STANDARD.decode(encoded.trim()).map_err(|_| BadMasterKey)?;
        bytes.try_into().map(Self).map_err(|_| BadMasterKey)
    }

    /// A fresh key from the OS CSPRNG.
    #[must_use]
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        crate::OsRandom.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// A fresh key from the OS CSPRNG, base64-encoded, for development setups.
    #[must_use]
    pub fn generate_base64() -> String {
        STANDARD.encode(Self::generate().0)
    }

    /// `data_key` sealed under this key (AES-256-GCM), for storing beside the data it protects.
    #[must_use]
    pub fn wrap(&self, data_key: &Self) -> Vec<u8> {
        KeyVault::for_purpose(self, WRAP_PURPOSE).seal(WRAP_LABEL, &data_key.0)
    }

    /// The data key that [`MasterKey::wrap`] sealed under this key.
    ///
    /// # Errors
    /// [`Unsealable`] when `wrapped` was sealed under another key or altered.
    pub fn unwrap(&self, wrapped: &[u8]) -> Result<Self, Unsealable> {
        let bytes = KeyVault::for_purpose(self, WRAP_PURPOSE).open(WRAP_LABEL, wrapped)?;
        bytes.try_into().map(Self).map_err(|_| Unsealable)
    }

    /// Whether both are the same key, compared in constant time.
    #[must_use]
    pub fn same_as(&self, other: &Self) -> bool {
        auth_domain::ct::constant_time_eq(&self.0, &other.0)
    }

    /// A 32-byte key for one purpose, independent of every other purpose's key.
    pub(crate) fn derive(&self, purpose: &str) -> [u8; 32] {
        struct Len32;
        impl hkdf::KeyType for Len32 {
            fn len(&self) -> usize {
                32
            }
        }
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"auth-engine/v1").extract(&self.0);
        let info = [purpose.as_bytes()];
        let mut out = [0u8; 32];
        // Both can only fail for an output longer than 255 hash lengths; 32 bytes never is.
        if let Ok(okm) = prk.expand(&info, Len32) {
            let _ = okm.fill(&mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrapped_key_unwraps_only_under_its_own_master_key() {
        let (master, other, data) = (
            MasterKey::from_bytes([1; 32]),
            MasterKey::from_bytes([2; 32]),
            MasterKey::generate(),
        );
        let wrapped = master.wrap(&data);
        assert!(master.unwrap(&wrapped).unwrap().same_as(&data));
        assert_eq!(other.unwrap(&wrapped).err(), Some(Unsealable));
        let mut altered = wrapped.clone();
        altered[20] ^= 1;
        assert_eq!(master.unwrap(&altered).err(), Some(Unsealable));
        assert!(!data.same_as(&master));
    }
}
