//! App secrets at rest: argon2id, computed off the async executor.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use async_trait::async_trait;
use auth_ports::SecretHasher;

use crate::OsRandom;

/// argon2id with the crate's default (OWASP-recommended) parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Argon2Secrets;

fn hash_now(secret: &str) -> String {
    let mut salt = [0u8; 16];
    OsRandom.fill_bytes(&mut salt);
    #[expect(
        clippy::expect_used,
        reason = "16 random bytes always encode as a valid salt"
    )]
    let salt = SaltString::encode_b64(&salt).expect("a 16-byte salt is valid");
    #[expect(
        clippy::expect_used,
        reason = "default parameters and a bounded input cannot fail"
    )]
    let hash = Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .expect("argon2 with default parameters");
    hash.to_string()
}

fn verify_now(secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &parsed)
            .is_ok()
    })
}

#[async_trait]
impl SecretHasher for Argon2Secrets {
    async fn hash(&self, secret: &str) -> String {
        let secret = secret.to_owned();
        match tokio::task::spawn_blocking(move || hash_now(&secret)).await {
            Ok(hash) => hash,
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }

    async fn verify(&self, secret: &str, phc: &str) -> bool {
        let (secret, phc) = (secret.to_owned(), phc.to_owned());
        tokio::task::spawn_blocking(move || verify_now(&secret, &phc))
            .await
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_only_its_own_secret() {
        let phc = hash_now("sk_right");
        assert!(phc.starts_with("$argon2id$"));
        assert!(!phc.contains("sk_right"));
        assert!(verify_now("sk_right", &phc));
        assert!(!verify_now("sk_wrong", &phc));
        assert!(!verify_now("sk_right", "not a phc string"));
    }
}
