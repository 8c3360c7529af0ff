//! The master key and the purpose keys derived from it.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hkdf;
use std::fmt;

/// The operator's 32-byte master key. Every other server key is derived from it with HKDF, so
/// one secret protects private keys at rest and keys every stored hash.
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

    /// A fresh key from the OS CSPRNG, base64-encoded, for development setups.
    #[must_use]
    pub fn generate_base64() -> String {
        let mut bytes = [0u8; 32];
        crate::OsRandom.fill_bytes(&mut bytes);
        STANDARD.encode(bytes)
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
