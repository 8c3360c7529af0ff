//! Hashing, signing and key handling, as the use cases need them.

use async_trait::async_trait;
use auth_domain::chain::{CheckpointClaims, ExportClaims};
use auth_domain::claims::LicenseClaims;
use auth_domain::{AccessClaims, SigningKey};

/// A 32-byte keyed digest (HMAC-SHA256).
pub type Digest = [u8; 32];

/// Each keyed hash has its own key, so a digest of one kind can never stand for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MacPurpose {
    /// An OTP code, bound to its request id.
    OtpCode,
    /// The lookup hash of a refresh token.
    RefreshToken,
    /// The successor of a refresh token, derived so a retry can get the same one back.
    RefreshSuccessor,
    /// The session id and first refresh token of a login, derived from the code so a retried
    /// verification can get the same ones back.
    FirstLogin,
    /// A presented app secret, for the in-memory verification cache.
    AppSecret,
    /// A person's identifier in rate-limit counter names, so counters hold no personal data.
    RateLimitKey,
    /// The lookup hash of a license key.
    LicenseKey,
    /// A device fingerprint at rest.
    DeviceFingerprint,
    /// The developer portal's own app secret, derived so every engine process knows it and none
    /// stores it.
    PortalSecret,
    /// A portal form's anti-forgery token, bound to the browser's CSRF cookie.
    PortalCsrf,
    /// The master key's check value: stored once, so a different key is noticed at start.
    MasterKeyCheck,
    /// The seal of an audit chain link: what someone holding the database alone cannot forge.
    AuditSeal,
}

/// Keyed hashing under keys derived from the master key.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait KeyedHasher: Send + Sync {
    fn mac(&self, purpose: MacPurpose, data: &[u8]) -> Digest;
    /// Plain SHA-256, for values a client must be able to recompute (a device fingerprint in a
    /// license token).
    fn sha256(&self, data: &[u8]) -> Digest;
}

/// Slow one-way hashing of app secrets (argon2id).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SecretHasher: Send + Sync {
    /// A PHC string to store.
    async fn hash(&self, secret: &str) -> String;
    /// Whether `secret` matches `phc`; false for a malformed `phc`.
    async fn verify(&self, secret: &str, phc: &str) -> bool;
}

/// A fresh key pair for an app.
#[derive(Debug, Clone)]
pub struct KeyMaterial {
    pub kid: String,
    pub encrypted_private_key: Vec<u8>,
    pub public_key_der: Vec<u8>,
    pub public_key_pem: String,
}

/// Why a presented access token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed or its signature does not verify")]
    Invalid,
}

/// Makes and reads signed tokens (RS256 JWTs).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait TokenCodec: Send + Sync {
    /// A new RSA-2048 key pair, the private half sealed under the master key.
    async fn generate_key(&self) -> KeyMaterial;
    /// Signs access-token claims with the app's key (`typ: at+jwt`, `kid`).
    ///
    /// MUST fail with [`TokenError::Invalid`] if the sealed key cannot be opened.
    fn sign_access(&self, key: &SigningKey, claims: &AccessClaims) -> Result<String, TokenError>;
    /// The `kid` in a token's header, without verifying anything.
    fn peek_kid(&self, token: &str) -> Option<String>;
    /// Verifies the signature, `alg` and `typ` with `key` and returns the claims; time and
    /// audience are the caller's policy.
    fn verify_access(&self, token: &str, key: &SigningKey) -> Result<AccessClaims, TokenError>;
    /// The key's public half as JWK members.
    ///
    /// MUST fail with [`TokenError::Invalid`] if the stored public key does not parse.
    fn public_jwk(&self, key: &SigningKey) -> Result<PublicJwk, TokenError>;
    /// Signs license-token claims with the app's key (`typ: license+jwt`, `kid`).
    fn sign_license(&self, key: &SigningKey, claims: &LicenseClaims) -> Result<String, TokenError>;
    /// Verifies the signature, `alg` and `typ` of a checkpoint signed with an app's key (as
    /// checkpoints were before the audit key) with `key`, and returns its claims.
    fn verify_checkpoint(
        &self,
        token: &str,
        key: &SigningKey,
    ) -> Result<CheckpointClaims, TokenError>;
}

/// The public half of the engine's audit key: an Ed25519 JWK (RFC 8037), base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPublicKey {
    pub kid: String,
    pub x: String,
}

/// Signs what the audit log vouches for (checkpoints, the end of an export) with the engine's audit
/// key: derived from the data key, never stored, its public half published so that anyone can
/// check an archive or an export without the database (JWS, `alg: EdDSA`).
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait AuditSigner: Send + Sync {
    fn public_key(&self) -> AuditPublicKey;
    /// Signs a checkpoint (`typ: audit-checkpoint+jwt`, `kid`).
    fn sign_checkpoint(&self, claims: &CheckpointClaims) -> Result<String, TokenError>;
    /// Verifies a checkpoint's signature, `alg`, `typ` and `kid` and returns its claims.
    fn verify_checkpoint(&self, token: &str) -> Result<CheckpointClaims, TokenError>;
    /// Signs the last line of an export (`typ: audit-export+jwt`, `kid`).
    fn sign_export(&self, claims: &ExportClaims) -> Result<String, TokenError>;
}

/// The public members of an RSA signing key (RFC 7517/7518), base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    pub kid: String,
    pub n: String,
    pub e: String,
}
