//! Cutting an app off: rotating its signing keys on a schedule or withdrawing the earlier ones at
//! once after a leak (and which of them the JWKS publishes), its sessions' idle timeout, and
//! disabling the app altogether.

use auth_domain::app_settings::TokenOverrides;
use auth_domain::ids::UserId;
use auth_domain::{App, AuditKind, SigningKey};

use crate::apps::no_such_app;
use crate::{AuthError, AuthService, Caller};

/// A rotation: the new key's kid, and the kids it withdrew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotatedKey {
    pub kid: String,
    pub withdrawn: Vec<String>,
}

impl AuthService {
    /// Gives `developer`'s app a new signing key; otherwise as
    /// [`AuthService::rotate_app_signing_key`].
    ///
    /// # Errors
    /// `invalid_request` for an app that is not theirs; store failures.
    pub async fn rotate_developer_signing_key(
        &self,
        developer: &UserId,
        slug: &str,
        withdraw_previous: bool,
        caller: &Caller,
    ) -> Result<RotatedKey, AuthError> {
        let app = self.owned_app(developer, slug).await?;
        self.rotate_key_of(&app, "developer", withdraw_previous, caller)
            .await
    }

    /// Gives the app `slug` a new RS256 signing key (operator CLI); new tokens carry its `kid`.
    /// The replaced key stays in the app's JWKS until every token it signed has expired, unless
    /// `withdraw_previous`: then every earlier key still published is withdrawn in the same
    /// transaction (out of the JWKS at once, and no token it signed is accepted), each recorded
    /// as `app_key_revoked`.
    ///
    /// # Errors
    /// `invalid_request` for an unknown slug; store failures.
    pub async fn rotate_app_signing_key(
        &self,
        slug: &str,
        withdraw_previous: bool,
        caller: &Caller,
    ) -> Result<RotatedKey, AuthError> {
        let app = self.app_named(slug).await?;
        self.rotate_key_of(&app, "operator", withdraw_previous, caller)
            .await
    }

    async fn rotate_key_of(
        &self,
        app: &App,
        actor: &str,
        withdraw_previous: bool,
        caller: &Caller,
    ) -> Result<RotatedKey, AuthError> {
        let material = self.ports.tokens.generate_key().await;
        let now = self.now();
        let key = SigningKey {
            kid: material.kid,
            app_id: app.id.clone(),
            encrypted_private_key: material.encrypted_private_key,
            public_key_der: material.public_key_der,
            created_at: now,
            retired_at: None,
            withdrawn_at: None,
        };
        let kid = key.kid.clone();
        let withdrawn: Vec<String> = if withdraw_previous {
            self.app_keys(app)
                .await?
                .into_iter()
                .filter(|(_, published)| *published)
                .map(|(key, _)| key.kid)
                .collect()
        } else {
            Vec::new()
        };
        let event = |kind, details| {
            self.event(Some(&app.id), kind, caller, now)
                .actor(actor)
                .subject(app.id.as_str())
                .details(details)
        };
        let mut events = vec![event(
            AuditKind::AppKeyRotated,
            serde_json::json!({ "kid": kid }),
        )];
        events.extend(withdrawn.iter().map(|old| {
            event(
                AuditKind::AppKeyRevoked,
                serde_json::json!({ "kid": old, "replaced_by": kid }),
            )
        }));
        self.ports
            .apps
            .rotate_signing_key(key, withdrawn.clone(), events)
            .await?;
        Ok(RotatedKey { kid, withdrawn })
    }

    /// Disables the app `slug` (every call answers `403 app_disabled`, its access tokens fail
    /// `/auth/me`) or enables it again, recorded as `app_disabled` or `app_enabled` each time; an
    /// operator's command. Takes effect on the next request of every engine process.
    ///
    /// # Errors
    /// `invalid_request` for an unknown slug or the portal's own app (disabling it would lock every
    /// developer out); store failures.
    pub async fn set_app_disabled(
        &self,
        slug: &str,
        disabled: bool,
        caller: &Caller,
    ) -> Result<(), AuthError> {
        let app = self.app_named(slug).await?;
        if disabled && app.slug.is_reserved() {
            return Err(AuthError::invalid_field(
                "slug",
                "is the developer portal's own app, which cannot be disabled",
            ));
        }
        let kind = if disabled {
            AuditKind::AppDisabled
        } else {
            AuditKind::AppEnabled
        };
        let event = self
            .event(Some(&app.id), kind, caller, self.now())
            .actor("operator")
            .subject(app.id.as_str());
        if self
            .ports
            .apps
            .set_disabled(&app.id, disabled, event)
            .await?
        {
            Ok(())
        } else {
            Err(no_such_app())
        }
    }

    /// Sets how long the app `slug`'s refresh tokens may go unused (operator CLI): one older
    /// answers `401 refresh_token_expired`. Recorded as `app_settings_changed`; takes effect on the
    /// next refresh in every engine process.
    ///
    /// # Errors
    /// `invalid_request` naming `refresh-idle-secs` outside 60 to 31536000, or for an unknown slug;
    /// store failures.
    pub async fn configure_refresh_idle(
        &self,
        slug: &str,
        seconds: i64,
        caller: &Caller,
    ) -> Result<(), AuthError> {
        let idle = Some(time::Duration::seconds(seconds));
        TokenOverrides::default()
            .with_refresh_idle(idle)
            .map_err(|e| AuthError::invalid_field("refresh-idle-secs", e.0))?;
        let app = self.app_named(slug).await?;
        // One column, in one statement: a developer saving the other settings meanwhile keeps them.
        let event = self
            .event(
                Some(&app.id),
                AuditKind::AppSettingsChanged,
                caller,
                self.now(),
            )
            .actor("operator")
            .subject(app.id.as_str())
            .details(serde_json::json!({ "refresh_idle_secs": seconds }));
        if self
            .ports
            .apps
            .set_refresh_idle(&app.id, idle, event)
            .await?
        {
            Ok(())
        } else {
            Err(no_such_app())
        }
    }

    /// The app's signing keys, newest first, each with whether it is still published in the JWKS
    /// (and tokens it signed accepted).
    ///
    /// # Errors
    /// Store failures.
    pub async fn app_keys(&self, app: &App) -> Result<Vec<(SigningKey, bool)>, AuthError> {
        let (now, longest) = (self.now(), self.longest_token_lifetime());
        let keys = self.ports.apps.verification_keys(&app.id).await?;
        Ok(keys
            .into_iter()
            .map(|key| {
                let published = key.is_published(now, longest);
                (key, published)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use crate::test_kit::{Kit, NOW, app, caller, key};
    use auth_domain::{AuditKind, SigningKey};
    use time::Duration;

    fn kit_with_keys(keys: Vec<SigningKey>) -> Kit {
        let mut kit = Kit::new().making_secrets_and_keys();
        kit.apps
            .expect_find_app_by_slug()
            .returning(|slug| Ok((slug == "demo-app").then(app)));
        kit.apps
            .expect_verification_keys()
            .returning(move |_| Ok(keys.clone()));
        kit
    }

    #[tokio::test]
    async fn withdrawing_takes_every_published_earlier_key_out_and_records_each() {
        // Arrange: the current key, one replaced yesterday, one long unpublished.
        let current = key();
        let replaced = SigningKey {
            kid: "kid-replaced".into(),
            retired_at: Some(NOW - Duration::days(1)),
            ..key()
        };
        let stale = SigningKey {
            kid: "kid-stale".into(),
            retired_at: Some(NOW - Duration::days(400)),
            ..key()
        };
        let mut kit = kit_with_keys(vec![current.clone(), replaced, stale]);
        kit.apps
            .expect_rotate_signing_key()
            .withf(move |new, withdraw, events| {
                let kinds: Vec<AuditKind> = events.iter().map(|e| e.kind).collect();
                new.kid == "kid-new"
                    && *withdraw == [current.kid.clone(), "kid-replaced".to_owned()]
                    && kinds
                        == [
                            AuditKind::AppKeyRotated,
                            AuditKind::AppKeyRevoked,
                            AuditKind::AppKeyRevoked,
                        ]
                    && events[1].details["replaced_by"] == "kid-new"
            })
            .times(1)
            .returning(|_, _, _| Ok(Vec::new()));

        // Act
        let rotated = kit
            .service()
            .rotate_app_signing_key("demo-app", true, &caller())
            .await
            .unwrap();

        // Assert
        assert_eq!(rotated.kid, "kid-new");
        assert_eq!(rotated.withdrawn, [key().kid, "kid-replaced".to_owned()]);
    }

    #[tokio::test]
    async fn disabling_and_enabling_are_recorded_each_time_and_spare_the_portal() {
        // Arrange
        let mut kit = kit_with_keys(vec![]);
        kit.apps
            .expect_set_disabled()
            .withf(|_, disabled, event| {
                event.kind
                    == if *disabled {
                        AuditKind::AppDisabled
                    } else {
                        AuditKind::AppEnabled
                    }
                    && event.actor.as_deref() == Some("operator")
            })
            .times(2)
            .returning(|_, _, _| Ok(true));
        let service = kit.service();

        // Act
        let disabled = service.set_app_disabled("demo-app", true, &caller()).await;
        let enabled = service.set_app_disabled("demo-app", false, &caller()).await;
        let unknown = service.set_app_disabled("nope", true, &caller()).await;

        // Assert
        assert_eq!((disabled, enabled), (Ok(()), Ok(())));
        assert!(matches!(unknown, Err(crate::AuthError::InvalidRequest(_))));
    }

    #[tokio::test]
    async fn a_plain_rotation_withdraws_nothing() {
        let mut kit = kit_with_keys(vec![key()]);
        kit.apps
            .expect_rotate_signing_key()
            .withf(|_, withdraw, events| withdraw.is_empty() && events.len() == 1)
            .times(1)
            .returning(|_, _, _| Ok(Vec::new()));

        let rotated = kit
            .service()
            .rotate_app_signing_key("demo-app", false, &caller())
            .await
            .unwrap();

        assert!(rotated.withdrawn.is_empty());
    }
}
