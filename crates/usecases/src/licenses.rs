//! The /licenses endpoints: keys that customers activate on a bounded number of devices.

use auth_domain::claims::LicenseClaims;
use auth_domain::ids::{ActivationId, AppId, LicenseId, UserId, base32};
use auth_domain::license::{
    KEY_RANDOM_SYMBOLS, License, LicenseAction, LicenseKey, LicenseStatus, VerifyCode,
};
use auth_domain::{App, AuditKind, SigningKey, TenantSlug};
use auth_ports::{
    Activate, ActivateOutcome, Activation, CreateLicenseError, DeactivateOutcome, Digest,
    LicenseRef, MacPurpose, NewLicense, StatusOutcome,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::{Duration, OffsetDateTime};

use crate::limits::HOUR;
use crate::tenants::Page;
use crate::{AppCredentials, AuthError, AuthService, Caller};

/// License tokens live at most this long, so clients check back online.
pub const MAX_LICENSE_TOKEN_LIFETIME: Duration = Duration::days(30);

/// What a new license should be.
#[derive(Debug, Clone, Default)]
pub struct LicenseTerms {
    pub user_id: Option<UserId>,
    pub tenant: Option<TenantSlug>,
    pub product: Option<String>,
    pub max_activations: u32,
    pub expires_at: Option<OffsetDateTime>,
    pub metadata: serde_json::Value,
}

/// A device's seat and the token that proves it offline.
#[derive(Debug, Clone)]
pub struct Activated {
    pub activation: Activation,
    pub license: License,
    pub license_token: String,
}

/// How an operator names a license: by its key (as typed) or its id.
#[derive(Debug, Clone)]
pub enum LicenseName {
    Key(String),
    Id(LicenseId),
}

impl AuthService {
    /// Creates a license and returns its key, the only time the key is ever shown.
    ///
    /// # Errors
    /// `user_not_found`, `tenant_not_found`, `invalid_request` for a past expiry, credential
    /// errors, store failures.
    pub async fn generate_license(
        &self,
        credentials: &AppCredentials,
        terms: LicenseTerms,
        caller: &Caller,
    ) -> Result<(License, LicenseKey), AuthError> {
        let app = self.authenticate(credentials, caller).await?;
        self.generate_license_in(&app, terms, None, caller).await
    }

    /// [`AuthService::generate_license`] for `app`, recorded as done by `actor` when it is not the
    /// app itself.
    pub(crate) async fn generate_license_in(
        &self,
        app: &App,
        terms: LicenseTerms,
        actor: Option<&str>,
        caller: &Caller,
    ) -> Result<(License, LicenseKey), AuthError> {
        let now = self.now();
        if terms.expires_at.is_some_and(|at| at <= now) {
            return Err(AuthError::invalid_field(
                "expires_at",
                "must be in the future",
            ));
        }
        let key = self.fresh_license_key();
        let license = License {
            id: self.random_id(LicenseId::from_random),
            app_id: app.id.clone(),
            user_id: terms.user_id,
            tenant: terms.tenant.map(|slug| slug.as_str().to_owned()),
            product: terms.product,
            max_activations: terms.max_activations,
            active_seats: 0,
            status: LicenseStatus::Active,
            expires_at: terms.expires_at,
            metadata: terms.metadata,
            created_at: now,
        };
        let mut event = self.event(Some(&app.id), AuditKind::LicenseGenerated, caller, now);
        if let Some(actor) = actor {
            event = event.actor(actor);
        }
        let new = NewLicense {
            license: license.clone(),
            key_hash: self.license_key_hash(&key),
        };
        match self.ports.licenses.create_license(new, event).await {
            Ok(()) => Ok((license, key)),
            Err(CreateLicenseError::UserNotFound) => Err(AuthError::UserNotFound),
            Err(CreateLicenseError::TenantNotFound) => Err(AuthError::TenantNotFound),
            Err(CreateLicenseError::Store(error)) => Err(error.into()),
        }
    }

    /// Gives a device a seat (idempotent per device) and signs a license token for it.
    ///
    /// # Errors
    /// `license_not_found` (also for a mistyped key), `license_revoked`, `license_suspended`,
    /// `license_expired`, `activation_limit_reached`, `rate_limited`, credential errors.
    pub async fn activate_license(
        &self,
        credentials: &AppCredentials,
        key: &str,
        device_fingerprint: &str,
        device_name: Option<String>,
        caller: &Caller,
    ) -> Result<Activated, AuthError> {
        let app = self.authenticate(credentials, caller).await?;
        let key = LicenseKey::parse(key).map_err(|_| AuthError::LicenseNotFound)?;
        let key_hash = self.license_key_hash(&key);
        self.limit_license_checks(&app.id, &key_hash, caller)
            .await?;
        // Before the seat is taken: nothing that can fail runs after it commits, and a retry
        // of the same device gets the same seat.
        let signing_key = self.signing_key(&app).await?;
        let now = self.now();
        let command = Activate {
            app_id: app.id.clone(),
            key_hash,
            device_hash: self
                .ports
                .mac
                .mac(MacPurpose::DeviceFingerprint, device_fingerprint.as_bytes()),
            device_name,
            activation_id: self.random_id(ActivationId::from_random),
            now,
        };
        let event = self
            .event(Some(&app.id), AuditKind::LicenseActivated, caller, now)
            .actor("app");
        let (license, activation) = match self.ports.licenses.activate(command, event).await? {
            ActivateOutcome::Activated {
                license,
                activation,
                ..
            } => (license, activation),
            ActivateOutcome::NotFound => return Err(AuthError::LicenseNotFound),
            ActivateOutcome::LimitReached => return Err(AuthError::ActivationLimitReached),
            ActivateOutcome::Refused(code) => return Err(refusal(code)),
        };
        let license_token = self.license_token(
            &app,
            &signing_key,
            &license,
            &activation,
            device_fingerprint,
            now,
        )?;
        Ok(Activated {
            activation,
            license,
            license_token,
        })
    }

    /// Checks a key, and a device if given. Never an error for the license's own state: the code
    /// says it. A mistyped key is `NOT_FOUND` without a lookup.
    ///
    /// # Errors
    /// `rate_limited`, credential errors, store failures.
    pub async fn verify_license(
        &self,
        credentials: &AppCredentials,
        key: &str,
        device_fingerprint: Option<&str>,
        caller: &Caller,
    ) -> Result<(VerifyCode, Option<License>), AuthError> {
        let app = self.authenticate(credentials, caller).await?;
        let Ok(key) = LicenseKey::parse(key) else {
            return Ok((VerifyCode::NotFound, None));
        };
        let key_hash = self.license_key_hash(&key);
        self.limit_license_checks(&app.id, &key_hash, caller)
            .await?;
        let now = self.now();
        let device = device_fingerprint.map(|fp| {
            self.ports
                .mac
                .mac(MacPurpose::DeviceFingerprint, fp.as_bytes())
        });
        let event = self
            .event(Some(&app.id), AuditKind::LicenseVerifyFailed, caller, now)
            .actor("app");
        let (license, code) = self
            .ports
            .licenses
            .check(&app.id, key_hash, device, now, event)
            .await?;
        Ok((code, license))
    }

    /// Frees a device's seat.
    ///
    /// # Errors
    /// `license_not_found`, `device_not_activated`, credential errors, store failures.
    pub async fn deactivate_license(
        &self,
        credentials: &AppCredentials,
        key: &str,
        device_fingerprint: &str,
        caller: &Caller,
    ) -> Result<License, AuthError> {
        let app = self.authenticate(credentials, caller).await?;
        let key = LicenseKey::parse(key).map_err(|_| AuthError::LicenseNotFound)?;
        let now = self.now();
        let device = self
            .ports
            .mac
            .mac(MacPurpose::DeviceFingerprint, device_fingerprint.as_bytes());
        let event = self.event(Some(&app.id), AuditKind::LicenseDeactivated, caller, now);
        match self
            .ports
            .licenses
            .deactivate(&app.id, self.license_key_hash(&key), device, now, event)
            .await?
        {
            DeactivateOutcome::Deactivated(license) => Ok(license),
            DeactivateOutcome::NotFound => Err(AuthError::LicenseNotFound),
            DeactivateOutcome::NotActivated => Err(AuthError::DeviceNotActivated),
        }
    }

    /// Suspends, reinstates or revokes a license (idempotent; revoked is final).
    ///
    /// # Errors
    /// `license_not_found`, `license_revoked`, credential errors, store failures.
    pub async fn change_license_status(
        &self,
        credentials: &AppCredentials,
        license: LicenseName,
        action: LicenseAction,
        reason: Option<String>,
        caller: &Caller,
    ) -> Result<License, AuthError> {
        let app = self.authenticate(credentials, caller).await?;
        self.change_license_status_in(&app, license, action, reason, None, caller)
            .await
    }

    /// [`AuthService::change_license_status`] for `app`, recorded as done by `actor` when it is not
    /// the app itself.
    pub(crate) async fn change_license_status_in(
        &self,
        app: &App,
        license: LicenseName,
        action: LicenseAction,
        reason: Option<String>,
        actor: Option<&str>,
        caller: &Caller,
    ) -> Result<License, AuthError> {
        let license = match license {
            LicenseName::Key(key) => LicenseRef::Key(self.license_key_hash(
                &LicenseKey::parse(&key).map_err(|_| AuthError::LicenseNotFound)?,
            )),
            LicenseName::Id(id) => LicenseRef::Id(id),
        };
        let now = self.now();
        let mut event = self
            .event(Some(&app.id), AuditKind::LicenseSuspended, caller, now)
            .details(serde_json::json!({ "reason": reason }));
        if let Some(actor) = actor {
            event = event.actor(actor);
        }
        match self
            .ports
            .licenses
            .change_status(&app.id, license, action, now, event)
            .await?
        {
            StatusOutcome::Done(license) => Ok(license),
            StatusOutcome::NotFound => Err(AuthError::LicenseNotFound),
            StatusOutcome::Revoked => Err(AuthError::LicenseRevoked),
        }
    }

    /// A page of the app's licenses, optionally one user's or one tenant's.
    ///
    /// # Errors
    /// Credential errors, store failures.
    pub async fn list_licenses(
        &self,
        credentials: &AppCredentials,
        user_id: Option<UserId>,
        tenant: Option<TenantSlug>,
        cursor: Option<LicenseId>,
        limit: u32,
        caller: &Caller,
    ) -> Result<Page<License>, AuthError> {
        let app = self.authenticate(credentials, caller).await?;
        self.licenses_of(&app, user_id, tenant, cursor, limit).await
    }

    /// A page of `app`'s licenses, as [`AuthService::list_licenses`] lists them.
    pub(crate) async fn licenses_of(
        &self,
        app: &App,
        user_id: Option<UserId>,
        tenant: Option<TenantSlug>,
        cursor: Option<LicenseId>,
        limit: u32,
    ) -> Result<Page<License>, AuthError> {
        let licenses = self
            .ports
            .licenses
            .list_licenses(&app.id, user_id, tenant, cursor, limit + 1)
            .await?;
        Ok(Page::from_overfetch(licenses, limit, |license| {
            license.id.as_str().to_owned()
        }))
    }

    fn license_key_hash(&self, key: &LicenseKey) -> Digest {
        self.ports
            .mac
            .mac(MacPurpose::LicenseKey, key.reveal().as_bytes())
    }

    /// A key of 24 uniformly random symbols and its check symbol.
    fn fresh_license_key(&self) -> LicenseKey {
        let mut values = [0u32; KEY_RANDOM_SYMBOLS];
        let mut filled = 0;
        while filled < KEY_RANDOM_SYMBOLS {
            for byte in self.random_bytes::<32>() {
                if let (Some(value), true) = (
                    LicenseKey::symbol_from_random(byte),
                    filled < KEY_RANDOM_SYMBOLS,
                ) {
                    values[filled] = value;
                    filled += 1;
                }
            }
        }
        LicenseKey::from_values(&values)
    }

    /// Per key and per end-user IP, so keys cannot be brute-forced or probed.
    async fn limit_license_checks(
        &self,
        app_id: &AppId,
        key_hash: &Digest,
        caller: &Caller,
    ) -> Result<(), AuthError> {
        let limits = self.settings.limits;
        let per_key = format!("lic-key:{app_id}:{}", base32(&key_hash[..16]));
        self.enforce(
            Some(app_id),
            caller,
            &per_key,
            limits.license_checks_per_key_per_hour,
            HOUR,
        )
        .await?;
        let per_ip = format!("lic-ip:{app_id}:{}", caller.limit_ip());
        self.enforce(
            Some(app_id),
            caller,
            &per_ip,
            limits.license_checks_per_ip_per_hour,
            HOUR,
        )
        .await
    }

    fn license_token(
        &self,
        app: &App,
        key: &SigningKey,
        license: &License,
        activation: &Activation,
        device_fingerprint: &str,
        now: OffsetDateTime,
    ) -> Result<String, AuthError> {
        let latest = now + MAX_LICENSE_TOKEN_LIFETIME;
        let expires = license.expires_at.map_or(latest, |at| at.min(latest));
        let issued = now.unix_timestamp();
        let claims = LicenseClaims {
            iss: self.settings.issuer.clone(),
            aud: app.slug.as_str().to_owned(),
            sub: license.id.as_str().to_owned(),
            exp: expires.unix_timestamp(),
            iat: issued,
            nbf: issued,
            jti: base32(&self.random_bytes::<16>()),
            app_id: app.id.as_str().to_owned(),
            act: activation.id.as_str().to_owned(),
            product: license.product.clone(),
            device: URL_SAFE_NO_PAD.encode(self.ports.mac.sha256(device_fingerprint.as_bytes())),
            entitlements: license.metadata.get("entitlements").cloned(),
        };
        self.ports
            .tokens
            .sign_license(key, &claims)
            .map_err(|error| {
                tracing::error!(%error, kid = %key.kid, "signing a license token failed");
                AuthError::Internal
            })
    }
}

fn refusal(code: VerifyCode) -> AuthError {
    match code {
        VerifyCode::Revoked => AuthError::LicenseRevoked,
        VerifyCode::Suspended => AuthError::LicenseSuspended,
        VerifyCode::Expired => AuthError::LicenseExpired,
        _ => AuthError::LicenseNotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::LicenseTerms;
    use crate::AuthError;
    use crate::test_kit::{Kit, NOW, app, caller, credentials, fake_mac, key};
    use auth_domain::ids::{LicenseId, RANDOM_ID_BYTES};
    use auth_domain::license::{License, LicenseKey, LicenseStatus, VerifyCode};
    use auth_ports::{ActivateOutcome, Activation, MacPurpose};
    use std::sync::{Arc, Mutex};
    use time::Duration;

    fn license(expires_at: Option<time::OffsetDateTime>) -> License {
        License {
            id: LicenseId::from_random(&[8; RANDOM_ID_BYTES]),
            app_id: app().id,
            user_id: None,
            tenant: None,
            product: Some("pro".into()),
            max_activations: 1,
            active_seats: 1,
            status: LicenseStatus::Active,
            expires_at,
            metadata: serde_json::json!({ "entitlements": { "seats": 3 } }),
            created_at: NOW,
        }
    }

    fn a_key() -> LicenseKey {
        LicenseKey::from_values(&[5; 24])
    }

    #[tokio::test]
    async fn a_generated_key_is_shown_once_and_stored_only_as_its_keyed_hash() {
        // Arrange
        let mut kit = Kit::new();
        let stored = Arc::new(Mutex::new(None));
        let keep = Arc::clone(&stored);
        kit.licenses
            .expect_create_license()
            .times(1)
            .returning(move |new, _| {
                *keep.lock().unwrap() = Some(new);
                Ok(())
            });
        let terms = LicenseTerms {
            max_activations: 3,
            metadata: serde_json::json!({}),
            ..LicenseTerms::default()
        };

        // Act
        let (license, key) = kit
            .service()
            .generate_license(&credentials(), terms, &caller())
            .await
            .unwrap();

        // Assert
        let new = stored.lock().unwrap().clone().unwrap();
        assert_eq!(LicenseKey::parse(key.reveal()), Ok(key.clone()));
        assert_eq!(
            new.key_hash,
            fake_mac(MacPurpose::LicenseKey, key.reveal().as_bytes())
        );
        assert_eq!(new.license, license);
        assert_eq!(
            (
                license.status,
                license.max_activations,
                license.active_seats
            ),
            (LicenseStatus::Active, 3, 0)
        );
    }

    #[tokio::test]
    async fn a_license_that_would_expire_before_it_exists_is_refused() {
        let mut kit = Kit::new();
        kit.licenses.expect_create_license().times(0);
        let terms = LicenseTerms {
            expires_at: Some(NOW),
            max_activations: 1,
            ..LicenseTerms::default()
        };
        let result = kit
            .service()
            .generate_license(&credentials(), terms, &caller())
            .await;
        assert!(matches!(result, Err(AuthError::InvalidRequest(p)) if p[0].name == "expires_at"));
    }

    #[tokio::test]
    async fn mistyped_keys_are_answered_without_a_lookup() {
        // Arrange
        let mut kit = Kit::new();
        kit.licenses.expect_check().times(0);
        kit.licenses.expect_activate().times(0);
        let service = kit.service();
        let typo = a_key().reveal().replacen('7', "8", 1);

        // Act
        let verified = service
            .verify_license(&credentials(), &typo, None, &caller())
            .await;
        let activated = service
            .activate_license(&credentials(), &typo, "device", None, &caller())
            .await;

        // Assert
        assert_eq!(verified.unwrap(), (VerifyCode::NotFound, None));
        assert_eq!(activated.unwrap_err(), AuthError::LicenseNotFound);
    }

    #[tokio::test]
    async fn the_license_token_expires_with_the_license_but_never_beyond_thirty_days() {
        for (expires_at, expected) in [
            (Some(NOW + Duration::days(3)), NOW + Duration::days(3)),
            (Some(NOW + Duration::days(90)), NOW + Duration::days(30)),
            (None, NOW + Duration::days(30)),
        ] {
            // Arrange
            let mut kit = Kit::new();
            kit.allow_all_limits();
            kit.apps.expect_current_key().returning(|_| Ok(Some(key())));
            kit.mac.expect_sha256().returning(|_| [7; 32]);
            kit.licenses.expect_activate().returning(move |command, _| {
                Ok(ActivateOutcome::Activated {
                    license: license(expires_at),
                    activation: Activation {
                        id: command.activation_id,
                        license_id: license(None).id,
                        device_name: None,
                        created_at: NOW,
                    },
                    new: true,
                })
            });
            let signed = Arc::new(Mutex::new(None));
            let seen = Arc::clone(&signed);
            kit.tokens
                .expect_sign_license()
                .returning(move |_, claims| {
                    *seen.lock().unwrap() = Some(claims.clone());
                    Ok("signed".into())
                });

            // Act
            let activated = kit
                .service()
                .activate_license(
                    &credentials(),
                    a_key().reveal(),
                    "laptop-1",
                    None,
                    &caller(),
                )
                .await
                .unwrap();

            // Assert
            let claims = signed.lock().unwrap().clone().unwrap();
            assert_eq!(claims.exp, expected.unix_timestamp());
            assert_eq!(claims.sub, license(None).id.as_str());
            assert_eq!(claims.act, activated.activation.id.as_str());
            assert_eq!(claims.device, "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc");
            assert_eq!(claims.entitlements, Some(serde_json::json!({ "seats": 3 })));
            assert_eq!(activated.license_token, "signed");
        }
    }

    #[tokio::test]
    async fn refusals_map_to_their_catalogue_errors() {
        for (outcome, expected) in [
            (ActivateOutcome::NotFound, AuthError::LicenseNotFound),
            (
                ActivateOutcome::LimitReached,
                AuthError::ActivationLimitReached,
            ),
            (
                ActivateOutcome::Refused(VerifyCode::Revoked),
                AuthError::LicenseRevoked,
            ),
            (
                ActivateOutcome::Refused(VerifyCode::Suspended),
                AuthError::LicenseSuspended,
            ),
            (
                ActivateOutcome::Refused(VerifyCode::Expired),
                AuthError::LicenseExpired,
            ),
        ] {
            let mut kit = Kit::new();
            kit.allow_all_limits();
            kit.sign_tokens();
            kit.licenses
                .expect_activate()
                .returning(move |_, _| Ok(outcome.clone()));
            let result = kit
                .service()
                .activate_license(&credentials(), a_key().reveal(), "d", None, &caller())
                .await;
            assert_eq!(result.unwrap_err(), expected);
        }
    }
}
