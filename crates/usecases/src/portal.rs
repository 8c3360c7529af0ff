//! What the developer portal does for a developer: its own app, and the apps a developer owns.
//! A developer is a user of the portal app; the portal signs them in like any backend would.

use auth_domain::app::MAX_SECRET_OVERLAP;
use auth_domain::app_settings::{AppSettings, Channels, TokenOverrides};
use auth_domain::chain::StoredEvent;
use auth_domain::delivery::DeliveryPolicy;
use auth_domain::ids::{LicenseId, UserId};
use auth_domain::license::{License, LicenseAction, LicenseKey};
use auth_domain::{App, AppSlug, AuditKind};
use auth_ports::{EventFilter, MacPurpose};
use time::{Duration, OffsetDateTime};

use crate::apps::no_such_app;
use crate::{
    AppCredentials, AuthError, AuthService, Caller, CreatedApp, LicenseName, LicenseTerms, Page,
};

/// The portal app's display name, in its emails and texts.
pub const PORTAL_APP_NAME: &str = "Auth Engine Developer Portal";

/// The portal's settings form, typed; every field is replaced.
#[derive(Debug, Clone, Copy)]
pub struct SettingsRequest<'a> {
    /// `None`: the engine's lifetime.
    pub access_ttl_secs: Option<i64>,
    /// How long refresh tokens may go unused; `None`: the engine's (14 days).
    pub refresh_idle_secs: Option<i64>,
    /// `None`: the engine's window.
    pub reuse_grace_secs: Option<i64>,
    pub sms: bool,
    pub email: bool,
    /// `"91,1"`, or `"any"`.
    pub sms_countries: &'a str,
    pub sms_per_day: u32,
    pub emails_per_day: u32,
}

/// An app's new secret, shown once.
#[derive(Clone)]
pub struct RotatedSecret {
    pub app_secret: String,
    /// Until when the replaced secret keeps working; `None` when it stopped at once.
    pub old_valid_until: Option<OffsetDateTime>,
}

impl std::fmt::Debug for RotatedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RotatedSecret")
            .field("old_valid_until", &self.old_valid_until)
            .finish_non_exhaustive()
    }
}

/// What every portal action answers for an app that is not the developer's.
fn not_theirs() -> AuthError {
    AuthError::invalid_field("slug", "you have no app with this slug")
}

fn check_overlap(overlap: Duration) -> Result<(), AuthError> {
    if overlap.is_negative() || overlap > MAX_SECRET_OVERLAP {
        return Err(AuthError::invalid_field(
            "overlap",
            "must be between 0 and 7 days",
        ));
    }
    Ok(())
}

/// The `details` of an `app_settings_changed` record: the settings now in force (`null`: the
/// engine's).
fn settings_record(settings: &AppSettings) -> serde_json::Value {
    let seconds = |value: Option<Duration>| value.map(|d| d.whole_seconds());
    serde_json::json!({
        "access_ttl_secs": seconds(settings.tokens.access_ttl),
        "reuse_grace_secs": seconds(settings.tokens.reuse_grace),
        "refresh_idle_secs": seconds(settings.tokens.refresh_idle),
        "sms": settings.channels.sms,
        "email": settings.channels.email,
        "sms_countries": settings.delivery.sms_countries,
        "sms_per_day": settings.delivery.sms_per_day,
        "emails_per_day": settings.delivery.emails_per_day,
    })
}

impl AuthService {
    /// The portal's own app credentials, creating the app (slug `portal`) the first time. The
    /// secret is derived from the master key, so every engine process knows it and none stores it.
    ///
    /// # Errors
    /// Store failures.
    pub async fn portal_credentials(&self, caller: &Caller) -> Result<AppCredentials, AuthError> {
        let digest = self.ports.mac.mac(MacPurpose::PortalSecret, b"portal-app");
        let app_secret = format!("sk_{}", auth_domain::ids::base32(&digest));
        let app_id = match self.ports.apps.find_app_by_slug(AppSlug::PORTAL).await? {
            Some(app) => app.id,
            None => {
                let slug = AppSlug::parse(AppSlug::PORTAL).map_err(|_| AuthError::Internal)?;
                let name = PORTAL_APP_NAME.to_owned();
                match self
                    .store_new_app(name, slug, app_secret.clone(), None, "engine", caller)
                    .await
                {
                    Ok(created) => created.app_id,
                    // Another engine process created it first.
                    Err(AuthError::InvalidRequest(_)) => {
                        self.ports
                            .apps
                            .find_app_by_slug(AppSlug::PORTAL)
                            .await?
                            .ok_or(AuthError::Internal)?
                            .id
                    }
                    Err(error) => return Err(error),
                }
            }
        };
        Ok(AppCredentials {
            app_id: app_id.as_str().to_owned(),
            app_secret,
        })
    }

    /// Creates an app owned by `developer`; the `app_created` record names them.
    ///
    /// # Errors
    /// As [`AuthService::create_app`].
    pub async fn create_developer_app(
        &self,
        developer: &UserId,
        name: &str,
        slug: &str,
        caller: &Caller,
    ) -> Result<CreatedApp, AuthError> {
        let (name, slug) = Self::new_app_names(name, slug)?;
        let secret = self.fresh_app_secret();
        self.store_new_app(
            name,
            slug,
            secret,
            Some(developer.clone()),
            "developer",
            caller,
        )
        .await
    }

    /// Gives `developer`'s app a new secret; otherwise as [`AuthService::rotate_app_secret`].
    ///
    /// # Errors
    /// As that, with `invalid_request` for an app that is not theirs.
    pub async fn rotate_developer_app_secret(
        &self,
        developer: &UserId,
        slug: &str,
        overlap: Duration,
        caller: &Caller,
    ) -> Result<RotatedSecret, AuthError> {
        check_overlap(overlap)?;
        let app = self.owned_app(developer, slug).await?;
        self.rotate_secret_of(&app, overlap, "developer", caller)
            .await?
            .ok_or_else(not_theirs)
    }

    /// Gives the app `slug` a new secret (operator CLI). The old one keeps working for `overlap`
    /// (0 to 7 days), so deployed backends can switch over, then stops; a second rotation ends the
    /// first one's overlap.
    ///
    /// # Errors
    /// `invalid_request` for an overlap out of range or an unknown slug; store failures.
    pub async fn rotate_app_secret(
        &self,
        slug: &str,
        overlap: Duration,
        caller: &Caller,
    ) -> Result<RotatedSecret, AuthError> {
        check_overlap(overlap)?;
        let app = self.app_named(slug).await?;
        self.rotate_secret_of(&app, overlap, "operator", caller)
            .await?
            .ok_or_else(no_such_app)
    }

    /// The rotation itself; `None` when the app is gone.
    async fn rotate_secret_of(
        &self,
        app: &App,
        overlap: Duration,
        actor: &str,
        caller: &Caller,
    ) -> Result<Option<RotatedSecret>, AuthError> {
        let app_secret = self.fresh_app_secret();
        let new_hash = self.ports.secrets.hash(&app_secret).await;
        let now = self.now();
        let old_valid_until = overlap.is_positive().then(|| now + overlap);
        let event = self
            .event(Some(&app.id), AuditKind::AppSecretRotated, caller, now)
            .actor(actor)
            .subject(app.id.as_str())
            .details(serde_json::json!({ "overlap_seconds": overlap.whole_seconds() }));
        let rotated = self
            .ports
            .apps
            .rotate_secret(&app.id, new_hash, old_valid_until, event)
            .await?;
        Ok(rotated.then_some(RotatedSecret {
            app_secret,
            old_valid_until,
        }))
    }

    /// The app called `slug`, or the `invalid_request` the operator's commands answer.
    pub(crate) async fn app_named(&self, slug: &str) -> Result<App, AuthError> {
        self.ports
            .apps
            .find_app_by_slug(slug)
            .await?
            .ok_or_else(no_such_app)
    }

    /// A page of the audit records of `developer`'s app, as the API's `/audit/events` lists them;
    /// `None` when the app is not theirs.
    ///
    /// # Errors
    /// Store failures.
    pub async fn developer_audit_events(
        &self,
        developer: &UserId,
        slug: &str,
        filter: EventFilter,
        cursor: Option<i64>,
        limit: u32,
    ) -> Result<Option<Page<(i64, StoredEvent)>>, AuthError> {
        match self.developer_app(developer, slug).await? {
            Some(app) => Ok(Some(self.events_of(&app, filter, cursor, limit).await?)),
            None => Ok(None),
        }
    }

    /// Replaces the settings of `developer`'s app (lifetimes, channels, SMS countries and caps)
    /// in one write, recorded as `app_settings_changed`. Returns the app as it now is.
    ///
    /// # Errors
    /// `invalid_request` naming the field out of bounds, or for an app that is not theirs; store
    /// failures.
    pub async fn change_developer_app_settings(
        &self,
        developer: &UserId,
        slug: &str,
        request: SettingsRequest<'_>,
        caller: &Caller,
    ) -> Result<App, AuthError> {
        let access_ttl = request.access_ttl_secs.map(Duration::seconds);
        let reuse_grace = request.reuse_grace_secs.map(Duration::seconds);
        // The lifetime alone first, so an error names the field that is out of bounds.
        TokenOverrides::new(access_ttl, None)
            .map_err(|e| AuthError::invalid_field("access_ttl_secs", e.0))?;
        let tokens = TokenOverrides::new(access_ttl, reuse_grace)
            .map_err(|e| AuthError::invalid_field("reuse_grace_secs", e.0))?
            .with_refresh_idle(request.refresh_idle_secs.map(Duration::seconds))
            .map_err(|e| AuthError::invalid_field("refresh_idle_secs", e.0))?;
        if !request.sms && !request.email {
            return Err(AuthError::invalid_field(
                "channels",
                "keep at least one sign-in channel",
            ));
        }
        let sms_countries = DeliveryPolicy::parse_countries(request.sms_countries)
            .map_err(|e| AuthError::invalid_field("sms_countries", e.0))?;
        self.within_ceilings(
            Some(("sms_per_day", request.sms_per_day)),
            Some(("emails_per_day", request.emails_per_day)),
        )?;
        let settings = AppSettings {
            tokens,
            channels: Channels {
                sms: request.sms,
                email: request.email,
            },
            delivery: DeliveryPolicy {
                sms_countries,
                sms_per_day: request.sms_per_day,
                emails_per_day: request.emails_per_day,
            },
        };
        let app = self.owned_app(developer, slug).await?;
        let event = self
            .event(
                Some(&app.id),
                AuditKind::AppSettingsChanged,
                caller,
                self.now(),
            )
            .actor("developer")
            .subject(app.id.as_str())
            .details(settings_record(&settings));
        if !self
            .ports
            .apps
            .replace_settings(&app.id, &settings, event)
            .await?
        {
            return Err(not_theirs());
        }
        Ok(App {
            tokens: settings.tokens,
            channels: settings.channels,
            delivery: settings.delivery,
            ..app
        })
    }

    /// A page of the licenses of `developer`'s app, in id order.
    ///
    /// # Errors
    /// `invalid_request` for an app that is not theirs; store failures.
    pub async fn developer_licenses(
        &self,
        developer: &UserId,
        slug: &str,
        cursor: Option<LicenseId>,
        limit: u32,
    ) -> Result<Page<License>, AuthError> {
        let app = self.owned_app(developer, slug).await?;
        self.licenses_of(&app, None, None, cursor, limit).await
    }

    /// Generates a license of `developer`'s app; the key is shown this once.
    ///
    /// # Errors
    /// As [`AuthService::generate_license`], and `invalid_request` for an app that is not theirs.
    pub async fn developer_generate_license(
        &self,
        developer: &UserId,
        slug: &str,
        terms: LicenseTerms,
        caller: &Caller,
    ) -> Result<(License, LicenseKey), AuthError> {
        let app = self.owned_app(developer, slug).await?;
        self.generate_license_in(&app, terms, Some("developer"), caller)
            .await
    }

    /// Suspends, reinstates or revokes a license of `developer`'s app.
    ///
    /// # Errors
    /// As [`AuthService::change_license_status`], and `invalid_request` for an app that is not
    /// theirs.
    pub async fn developer_change_license(
        &self,
        developer: &UserId,
        slug: &str,
        license: LicenseId,
        action: LicenseAction,
        caller: &Caller,
    ) -> Result<License, AuthError> {
        let app = self.owned_app(developer, slug).await?;
        self.change_license_status_in(
            &app,
            LicenseName::Id(license),
            action,
            Some("changed in the developer portal".to_owned()),
            Some("developer"),
            caller,
        )
        .await
    }

    /// The apps `developer` created, oldest first.
    ///
    /// # Errors
    /// Store failures.
    pub async fn developer_apps(&self, developer: &UserId) -> Result<Vec<App>, AuthError> {
        Ok(self.ports.apps.apps_owned_by(developer).await?)
    }

    /// `developer`'s app called `slug`, or the `invalid_request` every portal action answers for an
    /// app that is not theirs.
    pub(crate) async fn owned_app(&self, developer: &UserId, slug: &str) -> Result<App, AuthError> {
        self.developer_app(developer, slug)
            .await?
            .ok_or_else(not_theirs)
    }

    /// The app called `slug` if `developer` owns it; `None` for anyone else's app, as for one that
    /// does not exist, so the answer does not tell them apart.
    ///
    /// # Errors
    /// Store failures.
    pub async fn developer_app(
        &self,
        developer: &UserId,
        slug: &str,
    ) -> Result<Option<App>, AuthError> {
        let app = self.ports.apps.find_app_by_slug(slug).await?;
        Ok(app.filter(|app| app.owner.as_ref() == Some(developer)))
    }
}

#[cfg(test)]
mod tests {
    use crate::AuthError;
    use crate::test_kit::{Kit, app, caller};
    use auth_domain::ids::UserId;
    use auth_domain::{AppSlug, AuditKind};
    use auth_ports::CreateAppError;

    fn developer(n: u8) -> UserId {
        UserId::from_random(&[n; auth_domain::ids::RANDOM_ID_BYTES])
    }

    fn kit() -> Kit {
        Kit::new().making_secrets_and_keys()
    }

    /// Every slug names the demo app, owned by `developer(1)`.
    fn owned_by_developer_one(kit: &mut Kit) {
        kit.apps.expect_find_app_by_slug().returning(|_| {
            Ok(Some(auth_domain::App {
                owner: Some(developer(1)),
                ..app()
            }))
        });
    }

    #[tokio::test]
    async fn a_developers_app_is_owned_by_them_and_recorded_as_their_act() {
        // Arrange
        let mut kit = kit();
        kit.apps
            .expect_create_app()
            .withf(|new, event| {
                new.app.owner == Some(developer(7))
                    && event.kind == AuditKind::AppCreated
                    && event.actor.as_deref() == Some("developer")
            })
            .times(1)
            .returning(|_, _| Ok(()));

        let service = kit.service();

        // Act
        let created = service
            .create_developer_app(&developer(7), "Shop", "shop", &caller())
            .await;
        let reserved = service
            .create_developer_app(&developer(7), "Mine", AppSlug::PORTAL, &caller())
            .await;

        // Assert
        assert_eq!(created.unwrap().app_slug.as_str(), "shop");
        assert!(
            matches!(&reserved, Err(AuthError::InvalidRequest(p)) if p[0].problem.contains("reserved")),
            "{reserved:?}"
        );
    }

    #[tokio::test]
    async fn an_app_is_shown_only_to_its_owner() {
        // Arrange
        let mut kit = Kit::new();
        owned_by_developer_one(&mut kit);
        let service = kit.service();

        // Act
        let owner = service.developer_app(&developer(1), "demo-app").await;
        let other = service.developer_app(&developer(2), "demo-app").await;

        // Assert
        assert_eq!(
            owner.unwrap().map(|app| app.owner),
            Some(Some(developer(1)))
        );
        assert_eq!(other, Ok(None));
    }

    #[tokio::test]
    async fn the_portal_app_is_created_once_and_a_lost_race_uses_the_winners() {
        // Arrange: no portal app yet; another process creates it first.
        let mut kit = kit();
        let mut lookups = 0;
        kit.apps.expect_find_app_by_slug().returning(move |slug| {
            assert_eq!(slug, AppSlug::PORTAL);
            lookups += 1;
            Ok((lookups > 1).then(app))
        });
        kit.apps
            .expect_create_app()
            .times(1)
            .returning(|_, _| Err(CreateAppError::SlugTaken));
        let service = kit.service();

        // Act
        let first = service.portal_credentials(&caller()).await.unwrap();
        let again = service.portal_credentials(&caller()).await.unwrap();

        // Assert: the winner's id, and the same derived secret every time.
        assert_eq!(first.app_id, app().id.as_str());
        assert_eq!(first.app_secret, again.app_secret);
        assert!(first.app_secret.starts_with("sk_"));
    }

    #[tokio::test]
    async fn a_rotation_keeps_the_old_secret_for_the_chosen_overlap_within_seven_days() {
        // Arrange
        let mut kit = kit();
        owned_by_developer_one(&mut kit);
        let rotations = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = std::sync::Arc::clone(&rotations);
        kit.apps
            .expect_rotate_secret()
            .times(2)
            .returning(move |app_id, hash, until, event| {
                assert_eq!(*app_id, app().id);
                assert!(hash.starts_with("$argon2id$"));
                assert_eq!(event.kind, AuditKind::AppSecretRotated);
                seen.lock()
                    .unwrap()
                    .push((until, event.details["overlap_seconds"].clone()));
                Ok(true)
            });
        let service = kit.service();
        let (owner, caller) = (developer(1), caller());
        let rotate =
            |overlap| service.rotate_developer_app_secret(&owner, "demo-app", overlap, &caller);

        // Act
        let day = rotate(time::Duration::days(1)).await.unwrap();
        let now = rotate(time::Duration::ZERO).await.unwrap();
        let too_long = rotate(time::Duration::days(7) + time::Duration::seconds(1)).await;
        let negative = rotate(time::Duration::seconds(-1)).await;
        let not_theirs = service
            .rotate_developer_app_secret(&developer(2), "demo-app", time::Duration::ZERO, &caller)
            .await;

        // Assert
        assert_ne!(day.app_secret, now.app_secret);
        assert_eq!(
            day.old_valid_until,
            Some(crate::test_kit::NOW + time::Duration::days(1))
        );
        assert_eq!(now.old_valid_until, None);
        assert_eq!(
            *rotations.lock().unwrap(),
            [
                (day.old_valid_until, serde_json::json!(86_400)),
                (None, serde_json::json!(0)),
            ]
        );
        for refused in [too_long, negative, not_theirs] {
            assert!(
                matches!(refused, Err(AuthError::InvalidRequest(_))),
                "{refused:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_operator_rotates_any_app_by_slug_as_the_operator() {
        // Arrange: `demo-app` exists (with no developer); other slugs do not.
        let mut kit = kit();
        kit.apps
            .expect_find_app_by_slug()
            .returning(|slug| Ok((slug == "demo-app").then(app)));
        kit.apps
            .expect_rotate_secret()
            .withf(|_, _, _, event| event.actor.as_deref() == Some("operator"))
            .times(1)
            .returning(|_, _, _, _| Ok(true));
        kit.apps
            .expect_rotate_signing_key()
            .withf(|key, _, events| {
                key.app_id == app().id && events[0].actor.as_deref() == Some("operator")
            })
            .times(1)
            .returning(|_, _, _| Ok(Vec::new()));
        let service = kit.service();

        // Act
        let secret = service
            .rotate_app_secret("demo-app", time::Duration::hours(1), &caller())
            .await;
        let key = service
            .rotate_app_signing_key("demo-app", false, &caller())
            .await;
        let unknown = service
            .rotate_app_secret("nope", time::Duration::ZERO, &caller())
            .await;
        let too_long = service
            .rotate_app_secret("demo-app", time::Duration::days(8), &caller())
            .await;

        // Assert
        assert!(secret.unwrap().old_valid_until.is_some());
        assert!(!key.unwrap().kid.is_empty());
        for refused in [unknown, too_long] {
            assert!(
                matches!(refused, Err(AuthError::InvalidRequest(_))),
                "{refused:?}"
            );
        }
    }

    #[tokio::test]
    async fn another_developers_audit_log_is_not_read_at_all() {
        // Arrange: the chain mocks expect nothing, so reading or sealing would panic.
        let mut kit = Kit::new();
        owned_by_developer_one(&mut kit);
        let service = kit.service();

        // Act
        let listed = service
            .developer_audit_events(
                &developer(2),
                "demo-app",
                auth_ports::EventFilter::default(),
                None,
                10,
            )
            .await;

        // Assert
        assert!(matches!(listed, Ok(None)), "{listed:?}");
    }

    #[tokio::test]
    async fn settings_are_checked_field_by_field_and_replaced_together() {
        // Arrange
        let mut kit = Kit::new();
        owned_by_developer_one(&mut kit);
        kit.apps
            .expect_replace_settings()
            .withf(|app_id, settings, event| {
                *app_id == app().id
                    && settings.tokens.access_ttl == Some(time::Duration::seconds(120))
                    && settings.tokens.reuse_grace.is_none()
                    && !settings.channels.sms
                    && settings.delivery.sms_countries == Some(vec!["44".to_owned()])
                    && event.kind == AuditKind::AppSettingsChanged
            })
            .times(1)
            .returning(|_, _, _| Ok(true));
        let service = kit.service();
        let valid = crate::SettingsRequest {
            access_ttl_secs: Some(120),
            refresh_idle_secs: Some(3600),
            reuse_grace_secs: None,
            sms: false,
            email: true,
            sms_countries: "44",
            sms_per_day: 5,
            emails_per_day: 7,
        };
        let (owner, caller) = (developer(1), caller());
        let change =
            |request| service.change_developer_app_settings(&owner, "demo-app", request, &caller);

        // Act
        let saved = change(valid).await;
        let refused = [
            change(crate::SettingsRequest {
                access_ttl_secs: Some(59),
                ..valid
            })
            .await,
            change(crate::SettingsRequest {
                reuse_grace_secs: Some(61),
                ..valid
            })
            .await,
            change(crate::SettingsRequest {
                sms: false,
                email: false,
                ..valid
            })
            .await,
            change(crate::SettingsRequest {
                refresh_idle_secs: Some(59),
                ..valid
            })
            .await,
            change(crate::SettingsRequest {
                sms_countries: "India",
                ..valid
            })
            .await,
        ];

        // Assert
        let saved = saved.unwrap();
        assert_eq!(saved.tokens.access_ttl, Some(time::Duration::seconds(120)));
        assert_eq!(
            saved.tokens.refresh_idle,
            Some(time::Duration::seconds(3600))
        );
        assert_eq!(saved.delivery.emails_per_day, 7);
        let fields: Vec<String> = refused
            .iter()
            .map(|result| match result {
                Err(AuthError::InvalidRequest(problems)) => problems[0].name.clone(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            fields,
            [
                "access_ttl_secs",
                "reuse_grace_secs",
                "channels",
                "refresh_idle_secs",
                "sms_countries"
            ]
        );
    }
}
