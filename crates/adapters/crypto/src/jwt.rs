//! RS256 JWTs signed and verified with ring; keys generated with `rsa` (ring cannot generate RSA).

use async_trait::async_trait;
use auth_domain::chain::{CHECKPOINT_TYP, CheckpointClaims};
use auth_domain::claims::{ACCESS_TOKEN_TYP, LICENSE_TOKEN_TYP, LicenseClaims};
use auth_domain::{AccessClaims, SigningKey};
use auth_ports::{KeyMaterial, PublicJwk, TokenCodec, TokenError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::SystemRandom;
use ring::signature::{self, RsaKeyPair, RsaPublicKeyComponents};
use rsa::pkcs8::{DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use rsa::traits::PublicKeyParts;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::KeyVault;
use crate::jws::{self, Header};

const RSA_BITS: usize = 2048;

/// A public key as ring verifies it: big-endian modulus and exponent without leading zeros.
#[derive(Debug)]
struct PublicParts {
    n: Vec<u8>,
    e: Vec<u8>,
}

/// Signs and verifies RS256 tokens. Opened private keys and parsed public keys are cached by
/// `kid`: a `kid` names one key for ever, so a cached entry cannot go stale.
#[derive(Debug)]
pub struct RsaTokens {
    vault: Arc<KeyVault>,
    rng: SystemRandom,
    signers: Mutex<HashMap<String, Arc<RsaKeyPair>>>,
    verifiers: Mutex<HashMap<String, Arc<PublicParts>>>,
}

const ALG: &str = "RS256";

fn minimal(bytes: &[u8]) -> Vec<u8> {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[first..].to_vec()
}

impl RsaTokens {
    #[must_use]
    pub fn new(vault: KeyVault) -> Self {
        Self {
            vault: Arc::new(vault),
            rng: SystemRandom::new(),
            signers: Mutex::default(),
            verifiers: Mutex::default(),
        }
    }

    fn signer(&self, key: &SigningKey) -> Result<Arc<RsaKeyPair>, TokenError> {
        if let Some(found) = self
            .signers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key.kid)
        {
            return Ok(Arc::clone(found));
        }
        let pkcs8 = self
            .vault
            .open(&key.kid, &key.encrypted_private_key)
            .map_err(|_| TokenError::Invalid)?;
        let pair = Arc::new(RsaKeyPair::from_pkcs8(&pkcs8).map_err(|_| TokenError::Invalid)?);
        self.signers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.kid.clone(), Arc::clone(&pair));
        Ok(pair)
    }

    fn public_parts(&self, key: &SigningKey) -> Result<Arc<PublicParts>, TokenError> {
        if let Some(found) = self
            .verifiers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key.kid)
        {
            return Ok(Arc::clone(found));
        }
        let public = rsa::PublicKey::from_public_key_der(&key.public_key_der)
            .map_err(|_| TokenError::Invalid)?;
        let parts = Arc::new(PublicParts {
            n: minimal(&public.n().to_be_bytes()),
            e: minimal(&public.e().to_be_bytes()),
        });
        self.verifiers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.kid.clone(), Arc::clone(&parts));
        Ok(parts)
    }

    /// An RS256 JWS of `claims` with header `{alg, typ, kid}`.
    fn sign(
        &self,
        key: &SigningKey,
        typ: &str,
        claims: &impl serde::Serialize,
    ) -> Result<String, TokenError> {
        let pair = self.signer(key)?;
        let header = Header {
            alg: ALG,
            typ,
            kid: &key.kid,
        };
        jws::encode(&header, claims, |input| {
            let mut signature = vec![0u8; pair.public().modulus_len()];
            pair.sign(
                &signature::RSA_PKCS1_SHA256,
                &self.rng,
                input,
                &mut signature,
            )
            .map_err(|_| TokenError::Invalid)?;
            Ok(signature)
        })
    }

    /// The claims of an RS256 JWS signed by `key` with header `typ`, checked with the key's
    /// stored public half.
    fn verify<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        key: &SigningKey,
        typ: &str,
    ) -> Result<T, TokenError> {
        let header = Header {
            alg: ALG,
            typ,
            kid: &key.kid,
        };
        jws::decode(token, &header, |signed, signature| {
            let public = self.public_parts(key)?;
            RsaPublicKeyComponents {
                n: &public.n,
                e: &public.e,
            }
            .verify(&signature::RSA_PKCS1_2048_8192_SHA256, signed, signature)
            .map_err(|_| TokenError::Invalid)
        })
    }
}

fn generate_material(vault: &KeyVault) -> KeyMaterial {
    #[expect(
        clippy::expect_used,
        reason = "key generation only fails when the OS has no randomness"
    )]
    let private =
        rsa::PrivateKey::new(&mut getrandom::SysRng, RSA_BITS).expect("RSA key generation");
    let public = private.to_public_key();
    #[expect(
        clippy::expect_used,
        reason = "encoding a freshly generated key cannot fail"
    )]
    let (pkcs8, spki, pem) = (
        private.to_pkcs8_der().expect("PKCS#8 encoding"),
        public.to_public_key_der().expect("SPKI encoding"),
        public
            .to_public_key_pem(LineEnding::LF)
            .expect("PEM encoding"),
    );
    let digest = ring::digest::digest(&ring::digest::SHA256, spki.as_bytes());
    let kid = URL_SAFE_NO_PAD.encode(&digest.as_ref()[..12]);
    KeyMaterial {
        encrypted_private_key: vault.seal(&kid, pkcs8.as_bytes()),
        kid,
        public_key_der: spki.as_bytes().to_vec(),
        public_key_pem: pem,
    }
}

#[async_trait]
impl TokenCodec for RsaTokens {
    async fn generate_key(&self) -> KeyMaterial {
        // Generation takes tens of milliseconds of CPU: keep it off the async executor.
        let vault = Arc::clone(&self.vault);
        match tokio::task::spawn_blocking(move || generate_material(&vault)).await {
            Ok(material) => material,
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }

    fn sign_access(&self, key: &SigningKey, claims: &AccessClaims) -> Result<String, TokenError> {
        self.sign(key, ACCESS_TOKEN_TYP, claims)
    }

    fn sign_license(&self, key: &SigningKey, claims: &LicenseClaims) -> Result<String, TokenError> {
        self.sign(key, LICENSE_TOKEN_TYP, claims)
    }

    fn peek_kid(&self, token: &str) -> Option<String> {
        jws::kid(token)
    }

    fn verify_access(&self, token: &str, key: &SigningKey) -> Result<AccessClaims, TokenError> {
        self.verify(token, key, ACCESS_TOKEN_TYP)
    }

    fn verify_checkpoint(
        &self,
        token: &str,
        key: &SigningKey,
    ) -> Result<CheckpointClaims, TokenError> {
        // Checked with the public half of the sealed private key, not the stored public key:
        // whoever holds the database alone can add a key row, but not seal its private half.
        let pair = self.signer(key)?;
        let header = Header {
            alg: ALG,
            typ: CHECKPOINT_TYP,
            kid: &key.kid,
        };
        jws::decode(token, &header, |signed, signature| {
            signature::UnparsedPublicKey::new(
                &signature::RSA_PKCS1_2048_8192_SHA256,
                pair.public().as_ref(),
            )
            .verify(signed, signature)
            .map_err(|_| TokenError::Invalid)
        })
    }

    fn public_jwk(&self, key: &SigningKey) -> Result<PublicJwk, TokenError> {
        let public = self.public_parts(key)?;
        Ok(PublicJwk {
            kid: key.kid.clone(),
            n: URL_SAFE_NO_PAD.encode(&public.n),
            e: URL_SAFE_NO_PAD.encode(&public.e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MasterKey;
    use auth_domain::chain::{GENESIS, hex};
    use auth_domain::ids::AppId;
    use time::OffsetDateTime;

    async fn tokens_and_key() -> (RsaTokens, SigningKey) {
        let tokens = RsaTokens::new(KeyVault::new(&MasterKey::from_bytes([5; 32])));
        let material = tokens.generate_key().await;
        let key = SigningKey {
            kid: material.kid,
            app_id: AppId::from_trusted("app_a".into()),
            encrypted_private_key: material.encrypted_private_key,
            public_key_der: material.public_key_der,
            created_at: OffsetDateTime::UNIX_EPOCH,
            retired_at: None,
            withdrawn_at: None,
        };
        (tokens, key)
    }

    fn checkpoint() -> CheckpointClaims {
        CheckpointClaims {
            iss: "https://auth.example".into(),
            app_id: "app_a".into(),
            iat: 1,
            from_position: 1,
            prev_link: hex(&GENESIS),
            position: 9,
            link: hex(&[3; 32]),
            records: 9,
            before: 2,
        }
    }

    #[tokio::test]
    async fn a_signed_checkpoint_verifies_and_an_altered_one_does_not() {
        let (tokens, key) = tokens_and_key().await;
        let token = tokens.sign(&key, CHECKPOINT_TYP, &checkpoint()).unwrap();
        assert_eq!(tokens.verify_checkpoint(&token, &key), Ok(checkpoint()));

        let mut forged = checkpoint();
        forged.position = 10;
        let forged_claims = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
        let parts: Vec<&str> = token.split('.').collect();
        let spliced = format!("{}.{forged_claims}.{}", parts[0], parts[2]);
        assert_eq!(
            tokens.verify_checkpoint(&spliced, &key),
            Err(TokenError::Invalid)
        );
    }

    #[tokio::test]
    async fn a_checkpoint_counts_only_with_the_key_whose_private_half_the_engine_sealed() {
        // Arrange: someone with the database puts their own public key in an app's key row and
        // signs a checkpoint with its private half under that row's kid.
        let (tokens, key) = tokens_and_key().await;
        let theirs = tokens.generate_key().await;
        let their_pkcs8 = tokens
            .vault
            .open(&theirs.kid, &theirs.encrypted_private_key)
            .unwrap();
        let signer = SigningKey {
            encrypted_private_key: tokens.vault.seal(&key.kid, &their_pkcs8),
            public_key_der: theirs.public_key_der.clone(),
            ..key.clone()
        };
        let forged = RsaTokens::new(KeyVault::new(&MasterKey::from_bytes([5; 32])))
            .sign(&signer, CHECKPOINT_TYP, &checkpoint())
            .unwrap();
        let row = SigningKey {
            public_key_der: theirs.public_key_der,
            ..key.clone()
        };

        // Act
        let verified = RsaTokens::new(KeyVault::new(&MasterKey::from_bytes([5; 32])))
            .verify_checkpoint(&forged, &row);

        // Assert
        assert_eq!(verified, Err(TokenError::Invalid));
    }

    #[tokio::test]
    async fn a_checkpoint_is_not_an_access_token_nor_the_other_way_round() {
        let (tokens, key) = tokens_and_key().await;
        let token = tokens.sign(&key, CHECKPOINT_TYP, &checkpoint()).unwrap();
        assert_eq!(tokens.verify_access(&token, &key), Err(TokenError::Invalid));
        let license = LicenseClaims {
            iss: "https://auth.example".into(),
            aud: "app".into(),
            sub: "lic_a".into(),
            exp: 2,
            iat: 1,
            nbf: 1,
            jti: "j".into(),
            app_id: "app_a".into(),
            act: "act_a".into(),
            product: None,
            device: "d".into(),
            entitlements: None,
        };
        let license = tokens.sign_license(&key, &license).unwrap();
        assert_eq!(
            tokens.verify_checkpoint(&license, &key),
            Err(TokenError::Invalid)
        );
    }
}
