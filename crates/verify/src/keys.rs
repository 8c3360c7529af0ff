//! The app's public keys: fetched from its JWKS, cached by `kid`, refreshed when they are old or
//! when a token names a `kid` the cache does not hold.

use async_trait::async_trait;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, RwLock};

use crate::VerifyError;

/// The most bytes of JWKS read from the engine.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Where the keys come from. [`HttpJwks`] fetches the engine's; tests and unusual deployments
/// can supply their own.
#[async_trait]
pub trait KeySource: Send + Sync + fmt::Debug {
    /// The app's current key set.
    async fn fetch(&self) -> Result<JwkSet, VerifyError>;
}

/// The app's JWKS over HTTP(S), e.g. `https://auth.example.com/apps/school-app/jwks.json`.
#[derive(Debug, Clone)]
pub struct HttpJwks {
    client: reqwest::Client,
    url: String,
}

impl HttpJwks {
    /// Fetches from `url`, giving up after 5 seconds.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        // https needs a rustls provider; install ring's unless the program installed one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self {
            client,
            url: url.into(),
        }
    }
}

#[async_trait]
impl KeySource for HttpJwks {
    async fn fetch(&self) -> Result<JwkSet, VerifyError> {
        let unavailable = |error: reqwest::Error| VerifyError::KeysUnavailable(error.to_string());
        let response = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(unavailable)?
            .error_for_status()
            .map_err(unavailable)?;
        if response
            .content_length()
            .is_some_and(|len| len > MAX_JWKS_BYTES as u64)
        {
            return Err(VerifyError::KeysUnavailable("the JWKS is too large".into()));
        }
        let body = response.bytes().await.map_err(unavailable)?;
        if body.len() > MAX_JWKS_BYTES {
            return Err(VerifyError::KeysUnavailable("the JWKS is too large".into()));
        }
        serde_json::from_slice(&body).map_err(|error| {
            VerifyError::KeysUnavailable(format!("the JWKS does not parse: {error}"))
        })
    }
}

/// How long keys are trusted without a refresh, and how often an unknown `kid` may cause one.
#[derive(Debug, Clone, Copy)]
pub struct CachePolicy {
    /// Keys older than this are refreshed before use (a failed refresh keeps the old ones).
    pub max_age: Duration,
    /// The shortest time between two refreshes caused by unknown `kid`s.
    pub min_refresh: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            max_age: Duration::from_secs(300),
            min_refresh: Duration::from_secs(10),
        }
    }
}

#[derive(Default)]
struct Cached {
    by_kid: HashMap<String, DecodingKey>,
    /// The last fetch that succeeded.
    fetched_at: Option<Instant>,
    /// The last fetch, whether it succeeded or not.
    tried_at: Option<Instant>,
}

impl Cached {
    /// `kid`'s key, or why there is none.
    fn lookup(&self, kid: &str) -> Result<DecodingKey, VerifyError> {
        match (self.by_kid.get(kid), self.fetched_at) {
            (Some(key), _) => Ok(key.clone()),
            (None, Some(_)) => Err(VerifyError::invalid("no key of the app has this kid")),
            (None, None) => Err(VerifyError::KeysUnavailable(
                "the app's keys have not been fetched yet".into(),
            )),
        }
    }
}

/// The keys, one refresh at a time.
pub(crate) struct KeyCache {
    source: Box<dyn KeySource>,
    policy: CachePolicy,
    cached: RwLock<Cached>,
    refreshing: Mutex<()>,
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCache")
            .field("source", &self.source)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// The RSA keys of a set, by `kid`; keys of other types, or without a `kid`, are skipped.
fn rsa_keys(set: &JwkSet) -> HashMap<String, DecodingKey> {
    set.keys
        .iter()
        .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_)))
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            DecodingKey::from_jwk(jwk).ok().map(|key| (kid, key))
        })
        .collect()
}

impl KeyCache {
    pub(crate) fn new(source: Box<dyn KeySource>, policy: CachePolicy) -> Self {
        Self {
            source,
            policy,
            cached: RwLock::new(Cached::default()),
            refreshing: Mutex::new(()),
        }
    }

    /// The key `kid` names. A known key is answered at once: when the set is older than
    /// `max_age`, one caller refreshes it while the others go on with the keys they have, and a
    /// failed refresh keeps them (the engine keeps a replaced key published for as long as its
    /// tokens live). An unknown `kid` may be a key rotated in since the last fetch: the set is
    /// fetched again, one fetch at a time and at most one per `min_refresh` (a caller waits out
    /// the rest of that interval), so made-up `kid`s cannot make this hammer the engine.
    pub(crate) async fn key(&self, kid: &str) -> Result<DecodingKey, VerifyError> {
        let (known, fresh, tried) = {
            let cached = self.cached.read().await;
            let fresh = cached
                .fetched_at
                .is_some_and(|at| at.elapsed() < self.policy.max_age);
            (cached.by_kid.get(kid).cloned(), fresh, cached.tried_at)
        };
        if let Some(key) = known {
            if fresh {
                return Ok(key);
            }
            let Ok(_refreshing) = self.refreshing.try_lock() else {
                return Ok(key);
            };
            let tried_recently = self
                .cached
                .read()
                .await
                .tried_at
                .is_some_and(|at| at.elapsed() < self.policy.min_refresh);
            if tried_recently || self.fetch().await.is_err() {
                return Ok(key);
            }
            return self.cached.read().await.lookup(kid);
        }
        let _refreshing = self.refreshing.lock().await;
        let last = self.cached.read().await.tried_at;
        if last != tried {
            // Another caller fetched while this one waited: its set is the newest there is.
            return self.cached.read().await.lookup(kid);
        }
        if let Some(wait) = last.and_then(|at| self.policy.min_refresh.checked_sub(at.elapsed())) {
            tokio::time::sleep(wait).await;
        }
        match self.fetch().await {
            Ok(()) => self.cached.read().await.lookup(kid),
            Err(error) => Err(error),
        }
    }

    /// Fetches the set and, when that works, replaces the cached one. `tried_at` marks the end
    /// of every attempt: a caller that arrived before it knows the attempt covered it.
    async fn fetch(&self) -> Result<(), VerifyError> {
        let fetched = self.source.fetch().await;
        let mut cached = self.cached.write().await;
        let now = Instant::now();
        cached.tried_at = Some(now);
        let set = fetched?;
        cached.by_kid = rsa_keys(&set);
        cached.fetched_at = Some(now);
        Ok(())
    }
}
