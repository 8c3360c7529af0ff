//! Checking app credentials on every app call, with argon2 paid once per secret version.

use auth_domain::App;
use auth_domain::AuditKind;
use auth_domain::ct::constant_time_eq;
use auth_domain::ids::AppId;
use auth_ports::{Digest, MacPurpose};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};
use time::OffsetDateTime;

use crate::limits::HOUR;
use crate::{AuthError, AuthService, Caller};

/// The longest app secret accepted; longer input is refused before any hashing.
const MAX_SECRET_LEN: usize = 256;

/// `app_id` and `app_secret` as the caller sent them. `Debug` hides the secret.
#[derive(Clone, Default)]
pub struct AppCredentials {
    pub app_id: String,
    pub app_secret: String,
}

impl fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppCredentials")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

/// One verified secret, as its keyed digest: good for one secret version, and for a replaced
/// secret only until its overlap ends.
#[derive(Clone, Copy)]
struct Verified {
    version: i64,
    digest: Digest,
    until: Option<OffsetDateTime>,
}

/// Which of an app's two working secrets an entry is for.
#[derive(Clone, Copy)]
enum Slot {
    Current = 0,
    Previous = 1,
}

/// Verified secrets per app (the current one and, during a rotation's overlap, the replaced one):
/// a changed secret bumps the version, so an entry can never vouch for a secret the app no longer
/// has.
#[derive(Default)]
pub(crate) struct SecretCache {
    verified: Mutex<HashMap<AppId, [Option<Verified>; 2]>>,
    /// A real argon2 hash to verify against when the app is unknown, so that path costs the same.
    decoy: OnceLock<String>,
}

impl fmt::Debug for SecretCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretCache { .. }")
    }
}

impl SecretCache {
    fn vouches_for(&self, app: &App, digest: &Digest, now: OffsetDateTime) -> bool {
        let verified = self
            .verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        verified.get(&app.id).is_some_and(|slots| {
            slots.iter().flatten().any(|known| {
                known.version == app.secret_version
                    && known.until.is_none_or(|until| now < until)
                    && constant_time_eq(&known.digest, digest)
            })
        })
    }

    fn remember(&self, app: &App, slot: Slot, digest: Digest, until: Option<OffsetDateTime>) {
        let mut verified = self
            .verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let slots = verified.entry(app.id.clone()).or_default();
        slots[slot as usize] = Some(Verified {
            version: app.secret_version,
            digest,
            until,
        });
    }
}

impl AuthService {
    /// The app whose credentials these are.
    ///
    /// # Errors
    /// [`AuthError::InvalidAppCredentials`] for an unknown app or a wrong secret (the same answer, at
    /// the same cost), [`AuthError::AppDisabled`] for a disabled app with the right secret.
    pub async fn authenticate(
        &self,
        creds: &AppCredentials,
        caller: &Caller,
    ) -> Result<App, AuthError> {
        let app = match AppId::parse(&creds.app_id) {
            Ok(id) => self.ports.apps.find_app(&id).await?,
            Err(_) => None,
        };
        let secret = creds.app_secret.as_str();
        let now = self.now();
        if let Some(app) = app.as_ref().filter(|app| {
            self.secret_cache
                .vouches_for(app, &self.secret_digest(app, secret), now)
        }) {
            return Self::enabled(app.clone());
        }

        // The slow path costs an argon2 verification: bound how often one caller may fail it, so
        // wrong secrets cannot buy unbounded CPU (or audit records).
        let app_id = app.as_ref().map(|app| &app.id);
        // Keyed on the app and the address: wrong secrets from one address cannot lock the app
        // out for its own backend elsewhere.
        let failures = format!(
            "app-auth-fail:{}:{}",
            app_id.map_or("unknown-app", AppId::as_str),
            caller.peer_ip.as_deref().unwrap_or("unknown")
        );
        let limit = self.settings.limits.app_auth_failures_per_ip_per_hour;
        self.enforce_peek(app_id, caller, &failures, limit, HOUR)
            .await?;
        let verified = match &app {
            Some(app) if secret.len() <= MAX_SECRET_LEN => {
                if self.ports.secrets.verify(secret, &app.secret_hash).await {
                    Some((Slot::Current, None))
                } else if let Some(previous) = app.live_previous_secret(now) {
                    // During a rotation's overlap the replaced secret works too, until it ends.
                    self.ports
                        .secrets
                        .verify(secret, &previous.secret_hash)
                        .await
                        .then_some((Slot::Previous, Some(previous.valid_until)))
                } else {
                    None
                }
            }
            Some(_) => None,
            None => {
                self.spend_like_a_verification(secret).await;
                None
            }
        };
        match (app, verified) {
            (Some(app), Some((slot, until))) => {
                self.secret_cache
                    .remember(&app, slot, self.secret_digest(&app, secret), until);
                Self::enabled(app)
            }
            (app, _) => {
                let app_id = app.as_ref().map(|app| &app.id);
                self.ports.limiter.hit(&failures, limit, HOUR, now).await?;
                if let Some(app_id) = app_id {
                    let event = self
                        .event(Some(app_id), AuditKind::AppAuthFailed, caller, now)
                        .actor("app");
                    self.ports.audit.append(event).await?;
                }
                Err(AuthError::InvalidAppCredentials)
            }
        }
    }

    fn enabled(app: App) -> Result<App, AuthError> {
        if app.disabled {
            Err(AuthError::AppDisabled)
        } else {
            Ok(app)
        }
    }

    /// The keyed digest a verified secret is remembered as.
    fn secret_digest(&self, app: &App, secret: &str) -> Digest {
        let mut input = Vec::with_capacity(app.id.as_str().len() + 1 + secret.len());
        input.extend_from_slice(app.id.as_str().as_bytes());
        input.push(0);
        input.extend_from_slice(secret.as_bytes());
        self.ports.mac.mac(MacPurpose::AppSecret, &input)
    }

    async fn spend_like_a_verification(&self, secret: &str) {
        let decoy = match self.secret_cache.decoy.get() {
            Some(decoy) => decoy.clone(),
            None => {
                let decoy = self
                    .ports
                    .secrets
                    .hash("decoy secret for unknown apps")
                    .await;
                self.secret_cache.decoy.get_or_init(|| decoy).clone()
            }
        };
        let bounded = if secret.len() <= MAX_SECRET_LEN {
            secret
        } else {
            ""
        };
        let _ = self.ports.secrets.verify(bounded, &decoy).await;
    }
}

#[cfg(test)]
mod tests {
    use crate::test_kit::{Kit, SECRET, app, caller, credentials};
    use crate::{AppCredentials, AuthError};
    use auth_domain::AuditKind;
    use auth_ports::{MockAppStore, RateDecision};
    use time::Duration;

    #[tokio::test]
    async fn a_verified_secret_is_cached_so_argon2_runs_once() {
        // Arrange
        let mut kit = Kit::new();
        kit.secrets.checkpoint();
        kit.secrets
            .expect_verify()
            .times(1)
            .returning(|secret, _| secret == SECRET);
        let service = kit.service();

        // Act
        for _ in 0..3 {
            service
                .authenticate(&credentials(), &caller())
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn a_changed_secret_version_is_verified_again() {
        // Arrange
        let mut kit = Kit::new();
        kit.apps = MockAppStore::new();
        let mut seq = mockall::Sequence::new();
        kit.apps
            .expect_find_app()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| Ok(Some(app())));
        kit.apps
            .expect_find_app()
            .times(1)
            .in_sequence(&mut seq)
            .returning(|_| {
                let mut rotated = app();
                rotated.secret_version = 2;
                Ok(Some(rotated))
            });
        kit.secrets.checkpoint();
        kit.secrets.expect_verify().times(1).returning(|_, _| true);
        kit.secrets.expect_verify().times(1).returning(|_, _| false);
        kit.audit.expect_append().times(1).returning(|_| Ok(()));
        let service = kit.service();

        // Act
        let before = service.authenticate(&credentials(), &caller()).await;
        let after = service.authenticate(&credentials(), &caller()).await;

        // Assert
        assert!(before.is_ok());
        assert_eq!(after.unwrap_err(), AuthError::InvalidAppCredentials);
    }

    #[tokio::test]
    async fn a_wrong_secret_is_refused_and_audited() {
        // Arrange
        let mut kit = Kit::new();
        kit.audit
            .expect_append()
            .withf(|event| event.kind == AuditKind::AppAuthFailed && event.app_id == Some(app().id))
            .times(1)
            .returning(|_| Ok(()));
        let service = kit.service();
        let wrong = AppCredentials {
            app_secret: "sk_wrong".into(),
            ..credentials()
        };

        // Act
        let result = service.authenticate(&wrong, &caller()).await;

        // Assert
        assert_eq!(result.unwrap_err(), AuthError::InvalidAppCredentials);
    }

    #[tokio::test]
    async fn an_unknown_app_costs_a_verification_and_gets_the_same_answer() {
        // Arrange
        let mut kit = Kit::new();
        kit.secrets.checkpoint();
        kit.secrets
            .expect_hash()
            .times(1)
            .returning(|_| "$argon2id$decoy".into());
        kit.secrets.expect_verify().times(1).returning(|_, _| false);
        let service = kit.service();
        let unknown = AppCredentials {
            app_id: "app_unknown".into(),
            ..credentials()
        };

        // Act
        let result = service.authenticate(&unknown, &caller()).await;

        // Assert
        assert_eq!(result.unwrap_err(), AuthError::InvalidAppCredentials);
    }

    #[tokio::test]
    async fn a_caller_that_keeps_failing_is_refused_before_argon2_runs() {
        // Arrange
        let mut kit = Kit::new();
        kit.limiter.checkpoint();
        kit.limiter
            .expect_peek()
            .withf(|key, limit, _, _| {
                *key == format!("app-auth-fail:{}:10.0.0.1", app().id) && *limit == 60
            })
            .returning(|_, _, _, _| {
                Ok(RateDecision::Limited {
                    retry_after: Duration::minutes(20),
                })
            });
        kit.secrets.checkpoint();
        kit.secrets.expect_verify().times(0);
        kit.audit
            .expect_append()
            .withf(|event| event.kind == AuditKind::RateLimited)
            .times(1)
            .returning(|_| Ok(()));
        let service = kit.service();

        // Act
        let result = service.authenticate(&credentials(), &caller()).await;

        // Assert
        assert_eq!(
            result.unwrap_err(),
            AuthError::RateLimited {
                retry_after: Duration::minutes(20)
            }
        );
    }

    #[tokio::test]
    async fn a_failure_counts_against_the_app_and_the_callers_address() {
        // Arrange
        let mut kit = Kit::new();
        kit.limiter.checkpoint();
        kit.limiter
            .expect_peek()
            .returning(|_, _, _, _| Ok(RateDecision::Allowed));
        kit.limiter
            .expect_hit()
            .withf(|key, _, _, _| *key == format!("app-auth-fail:{}:10.0.0.1", app().id))
            .times(1)
            .returning(|_, _, _, _| Ok(RateDecision::Allowed));
        kit.audit.expect_append().returning(|_| Ok(()));
        let service = kit.service();
        let wrong = AppCredentials {
            app_secret: "sk_wrong".into(),
            ..credentials()
        };

        // Act
        let result = service.authenticate(&wrong, &caller()).await;

        // Assert
        assert_eq!(result.unwrap_err(), AuthError::InvalidAppCredentials);
    }

    #[tokio::test]
    async fn a_disabled_app_is_refused_after_its_secret_is_checked() {
        // Arrange
        let mut kit = Kit::new();
        kit.apps = MockAppStore::new();
        kit.apps.expect_find_app().returning(|_| {
            let mut disabled = app();
            disabled.disabled = true;
            Ok(Some(disabled))
        });
        let service = kit.service();

        // Act
        let result = service.authenticate(&credentials(), &caller()).await;

        // Assert
        assert_eq!(result.unwrap_err(), AuthError::AppDisabled);
    }

    /// An app rotated to a new secret whose old one, `"sk_old"`, works until `until`.
    fn rotated_until(until: time::OffsetDateTime) -> auth_domain::App {
        auth_domain::App {
            secret_hash: "$argon2id$new".into(),
            secret_version: 2,
            previous_secret: Some(auth_domain::PreviousSecret {
                secret_hash: "$argon2id$old".into(),
                valid_until: until,
            }),
            ..app()
        }
    }

    #[tokio::test]
    async fn during_the_overlap_the_replaced_secret_works_and_is_cached_like_the_new_one() {
        // Arrange: the old secret works for another minute.
        let mut kit = Kit::new();
        kit.apps = MockAppStore::new();
        kit.apps.expect_find_app().returning(|_| {
            Ok(Some(rotated_until(
                crate::test_kit::NOW + Duration::minutes(1),
            )))
        });
        kit.secrets.checkpoint();
        kit.secrets
            .expect_verify()
            .times(3)
            .returning(|secret, hash| match hash {
                "$argon2id$new" => secret == "sk_new",
                "$argon2id$old" => secret == "sk_old",
                _ => false,
            });
        let service = kit.service();
        let with = |secret: &str| AppCredentials {
            app_secret: secret.into(),
            ..credentials()
        };

        // Act: old, new, then both again from the cache.
        let results = [
            service.authenticate(&with("sk_old"), &caller()).await,
            service.authenticate(&with("sk_new"), &caller()).await,
            service.authenticate(&with("sk_old"), &caller()).await,
            service.authenticate(&with("sk_new"), &caller()).await,
        ];

        // Assert: three argon2 runs (old is tried against the new hash first), then none.
        assert!(results.iter().all(Result::is_ok), "{results:?}");
    }

    #[tokio::test]
    async fn once_the_overlap_ends_the_replaced_secret_is_refused_even_from_the_cache() {
        // Arrange: the old secret was verified while it worked; then the overlap ends.
        let mut kit = Kit::new();
        kit.apps = MockAppStore::new();
        kit.apps.expect_find_app().returning(|_| {
            Ok(Some(rotated_until(
                crate::test_kit::NOW + Duration::seconds(1),
            )))
        });
        kit.clock.checkpoint();
        let mut seq = mockall::Sequence::new();
        kit.clock
            .expect_now()
            .times(1)
            .in_sequence(&mut seq)
            .return_const(crate::test_kit::NOW);
        kit.clock
            .expect_now()
            .return_const(crate::test_kit::NOW + Duration::seconds(1));
        kit.secrets.checkpoint();
        kit.secrets
            .expect_verify()
            .returning(|secret, hash| hash == "$argon2id$old" && secret == "sk_old");
        kit.audit.expect_append().returning(|_| Ok(()));
        let service = kit.service();
        let old = AppCredentials {
            app_secret: "sk_old".into(),
            ..credentials()
        };

        // Act
        let during = service.authenticate(&old, &caller()).await;
        let after = service.authenticate(&old, &caller()).await;

        // Assert
        assert!(during.is_ok());
        assert_eq!(after.unwrap_err(), AuthError::InvalidAppCredentials);
    }
}
