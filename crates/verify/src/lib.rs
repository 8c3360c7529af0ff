#![doc = include_str!("../README.md")]

#[cfg(feature = "actix")]
mod actix;
// The Rust examples of the guides compile against this crate (`cargo test --doc`).
#[cfg(all(doctest, feature = "actix"))]
#[doc = include_str!("../../../docs/01-getting-started.md")]
mod getting_started {}
#[cfg(all(doctest, feature = "actix"))]
#[doc = include_str!("../../../docs/03-token-management.md")]
mod token_management {}
mod error;
mod keys;
#[cfg(test)]
mod tests;

#[cfg(feature = "actix")]
pub use actix::{Authenticated, Rejection};
pub use auth_domain::claims::{
    ACCESS_TOKEN_TYP, AccessClaims, LICENSE_TOKEN_TYP, LicenseClaims, TenantRoles,
};
pub use error::VerifyError;
pub use keys::{CachePolicy, HttpJwks, KeySource};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

use crate::keys::KeyCache;

/// The longest token read; anything longer is refused before it is parsed.
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The clock difference tolerated on `exp` and `nbf` by default.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The most leeway [`Options`] may set: more would keep expired tokens alive.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

/// How a [`Verifier`] treats clocks and keys.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The clock difference tolerated on `exp` and `nbf` (at most [`MAX_LEEWAY`]).
    pub leeway: Duration,
    pub keys: CachePolicy,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            leeway: DEFAULT_LEEWAY,
            keys: CachePolicy::default(),
        }
    }
}

/// Verifies one app's tokens. Cheap to clone: clones share the key cache.
#[derive(Debug, Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    issuer: String,
    audience: String,
    leeway: Duration,
    keys: KeyCache,
}

impl Verifier {
    /// A verifier for the tokens the engine at `issuer` (its `AUTH_PUBLIC_URL`, e.g.
    /// `https://auth.example.com`) issues for the app `app_slug`, with keys from
    /// `{issuer}/apps/{app_slug}/jwks.json`.
    #[must_use]
    pub fn new(issuer: &str, app_slug: &str) -> Self {
        let issuer = issuer.trim_end_matches('/');
        let jwks = HttpJwks::new(format!("{issuer}/apps/{app_slug}/jwks.json"));
        Self::with_source(issuer, app_slug, jwks, Options::default())
    }

    /// A verifier with its own key source and options.
    #[must_use]
    pub fn with_source(
        issuer: &str,
        app_slug: &str,
        source: impl KeySource + 'static,
        options: Options,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                issuer: issuer.trim_end_matches('/').to_owned(),
                audience: app_slug.to_owned(),
                leeway: options.leeway.min(MAX_LEEWAY),
                keys: KeyCache::new(Box::new(source), options.keys),
            }),
        }
    }

    /// The claims of an access token (`typ: at+jwt`) the engine issued for this app.
    ///
    /// # Errors
    /// [`VerifyError::Invalid`] for anything but an unexpired RS256 access token of this app
    /// signed by one of its keys; [`VerifyError::Expired`]; [`VerifyError::KeysUnavailable`].
    pub async fn verify_access(&self, token: &str) -> Result<AccessClaims, VerifyError> {
        self.verify_access_at(token, unix_now()).await
    }

    /// [`Verifier::verify_access`] at the Unix time `now`.
    ///
    /// # Errors
    /// As [`Verifier::verify_access`].
    pub async fn verify_access_at(
        &self,
        token: &str,
        now: i64,
    ) -> Result<AccessClaims, VerifyError> {
        let claims: AccessClaims = self.verify(token, ACCESS_TOKEN_TYP).await?;
        self.check_times(claims.nbf, claims.exp, now)?;
        Ok(claims)
    }

    /// The claims of a license token (`typ: license+jwt`) the engine signed for this app: the
    /// offline proof that a device holds a seat.
    ///
    /// # Errors
    /// As [`Verifier::verify_access`].
    pub async fn verify_license(&self, token: &str) -> Result<LicenseClaims, VerifyError> {
        self.verify_license_at(token, unix_now()).await
    }

    /// [`Verifier::verify_license`] at the Unix time `now`.
    ///
    /// # Errors
    /// As [`Verifier::verify_access`].
    pub async fn verify_license_at(
        &self,
        token: &str,
        now: i64,
    ) -> Result<LicenseClaims, VerifyError> {
        let claims: LicenseClaims = self.verify(token, LICENSE_TOKEN_TYP).await?;
        self.check_times(claims.nbf, claims.exp, now)?;
        Ok(claims)
    }

    /// The signature, `alg`, `typ`, `iss` and `aud` of `token`; times are checked by the caller
    /// against its `now`.
    async fn verify<T: DeserializeOwned>(&self, token: &str, typ: &str) -> Result<T, VerifyError> {
        if token.is_empty() {
            return Err(VerifyError::Missing);
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(VerifyError::invalid("the token is too long"));
        }
        // `alg: none` and unknown algorithms do not parse; HMAC and every other family is refused
        // here, before a key is chosen, so a public key can never be used as an HMAC secret.
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| VerifyError::invalid("the header does not parse"))?;
        if header.alg != Algorithm::RS256 {
            return Err(VerifyError::invalid("the algorithm is not RS256"));
        }
        if header.typ.as_deref() != Some(typ) {
            return Err(VerifyError::invalid("the token is of another type"));
        }
        let kid = header
            .kid
            .ok_or(VerifyError::invalid("the header names no kid"))?;
        let key = self.inner.keys.key(&kid).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.set_issuer(&[&self.inner.issuer]);
        validation.set_audience(&[&self.inner.audience]);
        // Times are checked against the caller's clock in `check_times`.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        jsonwebtoken::decode::<T>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|error| {
                VerifyError::invalid(match error.kind() {
                    ErrorKind::InvalidSignature => "the signature does not verify",
                    ErrorKind::InvalidIssuer => "the issuer is another",
                    ErrorKind::InvalidAudience => "the token is for another app",
                    ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
                    _ => "the token does not parse",
                })
            })
    }

    fn check_times(&self, nbf: i64, exp: i64, now: i64) -> Result<(), VerifyError> {
        let leeway = i64::try_from(self.inner.leeway.as_secs()).unwrap_or(0);
        if now.saturating_add(leeway) < nbf {
            return Err(VerifyError::invalid("the token is not valid yet"));
        }
        if now.saturating_sub(leeway) >= exp {
            return Err(VerifyError::Expired);
        }
        Ok(())
    }
}

/// The wall clock as Unix seconds: a backend has no clock port, so the library reads it here.
#[allow(
    clippy::disallowed_methods,
    reason = "the one reading of the wall clock; tests pass `now` to the *_at methods"
)]
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| {
            i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
        })
}
