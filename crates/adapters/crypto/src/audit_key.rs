//! The engine's audit key: an Ed25519 key derived from the data key, so every engine process of a
//! database has the same one and none stores it. It signs checkpoints and the end of exports; its
//! public half is published for anyone to check them.

use auth_domain::chain::{CHECKPOINT_TYP, CheckpointClaims, EXPORT_TYP, ExportClaims, hex};
use auth_ports::{AuditPublicKey, AuditSigner, TokenError};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};

use crate::MasterKey;
use crate::jws::{self, Header};

const ALG: &str = "EdDSA";

/// Signs and verifies with the audit key.
#[derive(Debug)]
pub struct Ed25519AuditKey {
    pair: Ed25519KeyPair,
    public: AuditPublicKey,
}

impl Ed25519AuditKey {
    /// The audit key of the database whose data key is `data_key`.
    ///
    /// # Errors
    /// Never for a 32-byte seed, which every derived key is.
    pub fn new(data_key: &MasterKey) -> Result<Self, ring::error::KeyRejected> {
        let pair = Ed25519KeyPair::from_seed_unchecked(&data_key.derive("ed25519/audit-key"))?;
        let public = pair.public_key().as_ref();
        let digest = ring::digest::digest(&ring::digest::SHA256, public);
        let public = AuditPublicKey {
            kid: format!("audit-{}", hex(&digest.as_ref()[..8])),
            x: URL_SAFE_NO_PAD.encode(public),
        };
        Ok(Self { pair, public })
    }

    fn header<'a>(&'a self, typ: &'a str) -> Header<'a> {
        Header {
            alg: ALG,
            typ,
            kid: &self.public.kid,
        }
    }

    /// A JWS of `claims` with header `{alg: EdDSA, typ, kid}`.
    fn sign(&self, typ: &str, claims: &impl serde::Serialize) -> Result<String, TokenError> {
        jws::encode(&self.header(typ), claims, |input| {
            Ok(self.pair.sign(input).as_ref().to_vec())
        })
    }

    /// The claims of a JWS this key signed with header `typ`.
    fn verify<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        typ: &str,
    ) -> Result<T, TokenError> {
        jws::decode(token, &self.header(typ), |signed, signature| {
            UnparsedPublicKey::new(&ED25519, self.pair.public_key().as_ref())
                .verify(signed, signature)
                .map_err(|_| TokenError::Invalid)
        })
    }
}

impl AuditSigner for Ed25519AuditKey {
    fn public_key(&self) -> AuditPublicKey {
        self.public.clone()
    }

    fn sign_checkpoint(&self, claims: &CheckpointClaims) -> Result<String, TokenError> {
        self.sign(CHECKPOINT_TYP, claims)
    }

    fn verify_checkpoint(&self, token: &str) -> Result<CheckpointClaims, TokenError> {
        self.verify(token, CHECKPOINT_TYP)
    }

    fn sign_export(&self, claims: &ExportClaims) -> Result<String, TokenError> {
        self.sign(EXPORT_TYP, claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_domain::chain::GENESIS;

    fn checkpoint() -> CheckpointClaims {
        CheckpointClaims {
            iss: "https://auth.example".into(),
            app_id: "app_a".into(),
            iat: 1,
            from_position: 1,
            prev_link: hex(&GENESIS),
            position: 3,
            link: hex(&[7; 32]),
            records: 3,
            before: 2,
        }
    }

    fn key(byte: u8) -> Ed25519AuditKey {
        Ed25519AuditKey::new(&MasterKey::from_bytes([byte; 32])).unwrap()
    }

    #[test]
    fn the_key_follows_the_data_key_and_only_it() {
        assert_eq!(key(1).public_key(), key(1).public_key());
        assert_ne!(key(1).public_key(), key(2).public_key());
        let x = URL_SAFE_NO_PAD.decode(key(1).public_key().x).unwrap();
        assert_eq!(x.len(), 32, "an Ed25519 public key");
    }

    #[test]
    fn a_signed_checkpoint_verifies_and_an_altered_or_foreign_one_does_not() {
        let token = key(1).sign_checkpoint(&checkpoint()).unwrap();
        assert_eq!(key(1).verify_checkpoint(&token).unwrap(), checkpoint());
        assert!(
            key(2).verify_checkpoint(&token).is_err(),
            "another database's key"
        );
        let parts: Vec<&str> = token.split('.').collect();
        let forged_claims = CheckpointClaims {
            position: 4,
            ..checkpoint()
        };
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged_claims).unwrap()),
            parts[2]
        );
        assert!(key(1).verify_checkpoint(&forged).is_err());
    }

    #[test]
    fn an_export_seal_is_not_a_checkpoint() {
        let claims = ExportClaims {
            iss: "i".into(),
            app_id: "app_a".into(),
            iat: 1,
            from_position: 1,
            prev_link: hex(&GENESIS),
            position: 1,
            link: hex(&[1; 32]),
            records: 1,
        };
        let token = key(1).sign_export(&claims).unwrap();
        assert!(key(1).verify_checkpoint(&token).is_err());
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "EdDSA");
        assert_eq!(header["typ"], EXPORT_TYP);
        assert_eq!(header["kid"], key(1).public_key().kid.as_str());
    }
}
