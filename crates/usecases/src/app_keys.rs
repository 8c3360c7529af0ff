//! An app's signing keys: rotating them on a schedule, withdrawing the earlier ones at once after a
//! leak, and which of them the JWKS publishes.

use auth_domain::ids::UserId;
use auth_domain::{App, AuditKind, SigningKey};

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
