//! Creating apps and publishing their public keys.

use auth_domain::delivery::{DeliveryChanges, DeliveryPolicy};
use auth_domain::ids::{AppId, UserId};
use auth_domain::{App, AppSlug, AuditKind, EmailTemplate, SigningKey};
use auth_ports::{CreateAppError, NewApp, PublicJwk};

use crate::{AuthError, AuthService, Caller};

/// The four credentials an operator copies once.
#[derive(Clone)]
pub struct CreatedApp {
    pub app_id: AppId,
    /// Shown exactly once; only its argon2id hash is stored.
    pub app_secret: String,
    pub app_slug: AppSlug,
    pub jwt_public_key: String,
}

impl std::fmt::Debug for CreatedApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApp")
            .field("app_id", &self.app_id)
            .field("app_slug", &self.app_slug)
            .finish_non_exhaustive()
    }
}

/// Bytes of randomness in an app secret (256 bits).
const APP_SECRET_BYTES: usize = 32;

/// What the operator's commands answer for an unknown slug.
pub(crate) fn no_such_app() -> AuthError {
    AuthError::invalid_field("slug", "no app has this slug")
}

impl AuthService {
    /// Creates an app with its own RSA-2048 signing key (operator CLI).
    ///
    /// # Errors
    /// `invalid_request` for a bad name or slug, a slug in use or kept by the engine; store
    /// failures.
    pub async fn create_app(
        &self,
        name: &str,
        slug: &str,
        caller: &Caller,
    ) -> Result<CreatedApp, AuthError> {
        let (name, slug) = Self::new_app_names(name, slug)?;
        let secret = self.fresh_app_secret();
        self.store_new_app(name, slug, secret, None, "operator", caller)
            .await
    }

    /// A checked name and a slug that is well formed and not kept by the engine.
    pub(crate) fn new_app_names(name: &str, slug: &str) -> Result<(String, AppSlug), AuthError> {
        let name = App::parse_name(name).map_err(|e| AuthError::invalid_field("name", e.0))?;
        let slug = AppSlug::parse(slug).map_err(|e| AuthError::invalid_field("slug", e.0))?;
        if slug.is_reserved() {
            return Err(AuthError::invalid_field(
                "slug",
                "is reserved by the engine",
            ));
        }
        Ok((name, slug))
    }

    pub(crate) fn fresh_app_secret(&self) -> String {
        format!(
            "sk_{}",
            auth_domain::ids::base32(&self.random_bytes::<APP_SECRET_BYTES>())
        )
    }

    /// Stores a new app with `app_secret` (hashed), a fresh signing key and its `app_created`
    /// record by `actor`.
    pub(crate) async fn store_new_app(
        &self,
        name: String,
        slug: AppSlug,
        app_secret: String,
        owner: Option<UserId>,
        actor: &str,
        caller: &Caller,
    ) -> Result<CreatedApp, AuthError> {
        let app_id = self.random_id(AppId::from_random);
        let secret_hash = self.ports.secrets.hash(&app_secret).await;
        let material = self.ports.tokens.generate_key().await;
        let now = self.now();
        let app = App {
            id: app_id.clone(),
            slug: slug.clone(),
            name,
            secret_hash,
            secret_version: 1,
            previous_secret: None,
            disabled: false,
            revoke_sessions_on_role_change: false,
            // An app made in the portal waits in the sandbox for the operator; the operator's own
            // (and the portal itself) do not.
            sandboxed: owner.is_some(),
            owner,
            delivery: self.new_app_delivery(),
            tokens: auth_domain::app_settings::TokenOverrides::default(),
            channels: auth_domain::app_settings::Channels::default(),
            created_at: now,
        };
        let key = SigningKey {
            kid: material.kid,
            app_id: app_id.clone(),
            encrypted_private_key: material.encrypted_private_key,
            public_key_der: material.public_key_der,
            created_at: now,
            retired_at: None,
            withdrawn_at: None,
        };
        let event = self
            .event(Some(&app_id), AuditKind::AppCreated, caller, now)
            .actor(actor)
            .subject(app_id.as_str())
            .details(serde_json::json!({ "slug": slug.as_str(), "kid": key.kid }));
        match self.ports.apps.create_app(NewApp { app, key }, event).await {
            Ok(()) => Ok(CreatedApp {
                app_id,
                app_secret,
                app_slug: slug,
                jwt_public_key: material.public_key_pem,
            }),
            Err(CreateAppError::SlugTaken) => {
                Err(AuthError::invalid_field("slug", "is already taken"))
            }
            Err(CreateAppError::Store(error)) => Err(error.into()),
        }
    }

    /// Sets whether revoking a role also revokes the user's sessions in the app (operator CLI).
    ///
    /// # Errors
    /// `invalid_request` for an unknown slug; store failures.
    pub async fn set_revoke_sessions_on_role_change(
        &self,
        slug: &str,
        on: bool,
    ) -> Result<(), AuthError> {
        if self
            .ports
            .apps
            .set_revoke_sessions_on_role_change(slug, on)
            .await?
        {
            Ok(())
        } else {
            Err(no_such_app())
        }
    }

    /// Changes what the app may send (operator CLI): the SMS country allowlist (`"91,1"` or
    /// `"any"`) and the daily caps; what is not given stays. Returns the policy now in force.
    ///
    /// # Errors
    /// `invalid_request` for an unknown slug, a country list that does not parse or a cap above
    /// the operator's ceiling; store failures.
    pub async fn configure_delivery(
        &self,
        slug: &str,
        sms_countries: Option<&str>,
        sms_per_day: Option<u32>,
        emails_per_day: Option<u32>,
    ) -> Result<DeliveryPolicy, AuthError> {
        let sms_countries = sms_countries
            .map(DeliveryPolicy::parse_countries)
            .transpose()
            .map_err(|e| AuthError::invalid_field("sms-countries", e.0))?;
        self.within_ceilings(
            sms_per_day.map(|cap| ("sms-per-day", cap)),
            emails_per_day.map(|cap| ("emails-per-day", cap)),
        )?;
        let changes = DeliveryChanges {
            sms_countries,
            sms_per_day,
            emails_per_day,
        };
        if changes.is_empty() {
            return Err(AuthError::invalid_field("slug", "nothing to change"));
        }
        self.ports
            .apps
            .change_delivery_policy(slug, &changes)
            .await?
            .ok_or_else(no_such_app)
    }

    /// Gives the app its own email template (subject, text, html), or returns it to the engine's
    /// default with `None` (operator CLI). The three parts are replaced together.
    ///
    /// # Errors
    /// `invalid_request` for an unknown slug or a template that does not pass
    /// [`EmailTemplate::new`], naming the part; store failures.
    pub async fn configure_email_template(
        &self,
        slug: &str,
        template: Option<(&str, &str, &str)>,
    ) -> Result<(), AuthError> {
        let template = template
            .map(|(subject, text, html)| EmailTemplate::new(subject, text, html))
            .transpose()
            .map_err(|e| {
                AuthError::invalid_field(&format!("email-template.{}", e.part), e.problem)
            })?;
        if self.ports.apps.set_email_template(slug, template).await? {
            Ok(())
        } else {
            Err(no_such_app())
        }
    }

    /// The longest any token signed with an app key can live: a replaced key stays published this
    /// long.
    pub(crate) fn longest_token_lifetime(&self) -> time::Duration {
        self.settings
            .tokens
            .access_ttl
            .max(crate::MAX_LICENSE_TOKEN_LIFETIME)
    }

    /// The public keys that verify an app's tokens, newest first, or `None` for an unknown slug.
    ///
    /// # Errors
    /// Store failures; [`AuthError::Internal`] for a stored key that does not parse.
    pub async fn jwks(&self, slug: &str) -> Result<Option<Vec<PublicJwk>>, AuthError> {
        let Some(app) = self.ports.apps.find_app_by_slug(slug).await? else {
            return Ok(None);
        };
        let keys = self.ports.apps.verification_keys(&app.id).await?;
        let (now, longest) = (self.now(), self.longest_token_lifetime());
        let jwks = keys
            .iter()
            .filter(|key| key.is_published(now, longest))
            .map(|key| self.ports.tokens.public_jwk(key))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| AuthError::Internal)?;
        Ok(Some(jwks))
    }
}

#[cfg(test)]
mod tests {
    use crate::AuthError;
    use crate::test_kit::{Kit, caller};
    use auth_domain::{AuditKind, EmailTemplate};
    use auth_ports::CreateAppError;

    fn kit() -> Kit {
        Kit::new().making_secrets_and_keys()
    }

    #[tokio::test]
    async fn a_new_app_gets_a_long_secret_that_is_stored_only_hashed() {
        // Arrange
        let mut kit = kit();
        kit.apps
            .expect_create_app()
            .withf(|new, event| {
                !new.app.secret_hash.contains("sk_")
                    && new.key.kid == "kid-new"
                    && event.kind == AuditKind::AppCreated
            })
            .times(1)
            .returning(|_, _| Ok(()));
        let service = kit.service();

        // Act
        let created = service
            .create_app(" Attendance ", "attendance-app", &caller())
            .await
            .unwrap();

        // Assert
        assert!(created.app_secret.starts_with("sk_"));
        assert!(
            created.app_secret.len() >= 3 + 52,
            "at least 256 bits of base32"
        );
        assert_eq!(created.app_slug.as_str(), "attendance-app");
        assert!(created.app_id.as_str().starts_with("app_"));
        assert!(!format!("{created:?}").contains(&created.app_secret));
    }

    #[tokio::test]
    async fn a_taken_or_malformed_slug_is_an_invalid_request() {
        // Arrange
        let mut kit = kit();
        kit.apps
            .expect_create_app()
            .returning(|_, _| Err(CreateAppError::SlugTaken));
        let service = kit.service();

        // Act
        let taken = service.create_app("A", "taken", &caller()).await;
        let malformed = service.create_app("A", "Not A Slug", &caller()).await;

        // Assert
        assert!(matches!(taken, Err(AuthError::InvalidRequest(p)) if p[0].name == "slug"));
        assert!(matches!(malformed, Err(AuthError::InvalidRequest(p)) if p[0].name == "slug"));
    }

    #[tokio::test]
    async fn an_email_template_is_stored_only_once_it_is_valid() {
        // Arrange
        let mut kit = kit();
        kit.apps
            .expect_set_email_template()
            .withf(|slug, template| {
                slug == "demo-app"
                    && *template
                        == Some(EmailTemplate::new("Hi", "{{code}}", "<b>{{code}}</b>").unwrap())
            })
            .times(1)
            .returning(|_, _| Ok(true));
        kit.apps
            .expect_set_email_template()
            .withf(|slug, template| slug == "nobody" && template.is_none())
            .times(1)
            .returning(|_, _| Ok(false));
        let service = kit.service();

        // Act
        let stored = service
            .configure_email_template("demo-app", Some(("Hi", "{{code}}", "<b>{{code}}</b>")))
            .await;
        let no_code = service
            .configure_email_template("demo-app", Some(("Hi", "{{code}}", "<b>code</b>")))
            .await;
        let unknown_app = service.configure_email_template("nobody", None).await;

        // Assert
        assert_eq!(stored, Ok(()));
        assert!(
            matches!(&no_code, Err(AuthError::InvalidRequest(p)) if p[0].name == "email-template.html"),
            "{no_code:?}"
        );
        assert!(
            matches!(&unknown_app, Err(AuthError::InvalidRequest(p)) if p[0].name == "slug"),
            "{unknown_app:?}"
        );
    }

    #[tokio::test]
    async fn a_replaced_key_leaves_the_jwks_once_its_longest_token_has_expired() {
        // Arrange: one key signs, one was replaced a day ago, one 31 days ago (license tokens live
        // at most 30 days, access tokens 15 minutes).
        let mut kit = Kit::new();
        kit.apps
            .expect_find_app_by_slug()
            .returning(|_| Ok(Some(crate::test_kit::app())));
        kit.apps.expect_verification_keys().returning(|_| {
            let key = |kid: &str, retired_days: Option<i64>| auth_domain::SigningKey {
                kid: kid.into(),
                retired_at: retired_days
                    .map(|days| crate::test_kit::NOW - time::Duration::days(days)),
                ..crate::test_kit::key()
            };
            Ok(vec![
                key("signing", None),
                key("recent", Some(1)),
                key("gone", Some(31)),
            ])
        });
        kit.tokens.expect_public_jwk().returning(|key| {
            Ok(auth_ports::PublicJwk {
                kid: key.kid.clone(),
                n: String::new(),
                e: String::new(),
            })
        });

        // Act
        let jwks = kit.service().jwks("demo-app").await.unwrap().unwrap();

        // Assert
        let kids: Vec<&str> = jwks.iter().map(|jwk| jwk.kid.as_str()).collect();
        assert_eq!(kids, ["signing", "recent"]);
    }
}
