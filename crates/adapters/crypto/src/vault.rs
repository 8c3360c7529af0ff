//! Private keys at rest: AES-256-GCM under a key derived from the master key.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use crate::{MasterKey, OsRandom};

/// Seals and opens private keys. A sealed key is `nonce ‖ ciphertext ‖ tag`, bound to its `kid`.
#[derive(Debug)]
pub struct KeyVault {
    key: LessSafeKey,
}

/// The sealed data was altered, or sealed under another master key or `kid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sealed key cannot be opened with this master key")]
pub struct Unsealable;

impl KeyVault {
    #[must_use]
    pub fn new(master: &MasterKey) -> Self {
        Self::for_purpose(master, "aead/private-keys")
    }

    /// A vault for one purpose's sealed data, under its own key derived from `master`.
    pub(crate) fn for_purpose(master: &MasterKey, purpose: &str) -> Self {
        let bytes = master.derive(purpose);
        #[expect(
            clippy::expect_used,
            reason = "a 32-byte key is always a valid AES-256 key"
        )]
        let key = UnboundKey::new(&AES_256_GCM, &bytes).expect("32 bytes is an AES-256 key");
        Self {
            key: LessSafeKey::new(key),
        }
    }

    #[must_use]
    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRandom.fill_bytes(&mut nonce);
        let mut sealed = plaintext.to_vec();
        #[expect(
            clippy::expect_used,
            reason = "sealing only fails for inputs over 64 GiB"
        )]
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut sealed,
            )
            .expect("a private key is far below AES-GCM's size limit");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// # Errors
    /// [`Unsealable`] when the data was altered or sealed under another key or `kid`.
    pub fn open(&self, kid: &str, sealed: &[u8]) -> Result<Vec<u8>, Unsealable> {
        if sealed.len() < NONCE_LEN {
            return Err(Unsealable);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Unsealable)?;
        let mut buffer = ciphertext.to_vec();
        let plaintext = self
            .key
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buffer)
            .map_err(|_| Unsealable)?;
        Ok(plaintext.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_keys_open_only_with_the_same_master_key_and_kid() {
        let vault = KeyVault::new(&MasterKey::from_bytes([3; 32]));
        let sealed = vault.seal("kid-1", b"private");
        assert_eq!(vault.open("kid-1", &sealed).unwrap(), b"private");
        assert_eq!(vault.open("kid-2", &sealed), Err(Unsealable));
        assert_eq!(
            KeyVault::new(&MasterKey::from_bytes([4; 32])).open("kid-1", &sealed),
            Err(Unsealable)
        );
        let mut tampered = sealed.clone();
        tampered[NONCE_LEN] ^= 1;
        assert_eq!(vault.open("kid-1", &tampered), Err(Unsealable));
    }
}
