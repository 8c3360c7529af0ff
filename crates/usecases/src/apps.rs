//! Creating apps and publishing their public keys.

use auth_domain::ids::AppId;
use auth_domain::{App, AppSlug, AuditKind, SigningKey};
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

impl AuthService {
    /// Creates an app with its own RSA-2048 signing key.
    ///
    /// # Errors
    /// `invalid_request` for a bad name or slug or a slug in use; store failures.
    pub async fn create_app(
        &self,
        name: &str,
        slug: &str,
        caller: &Caller,
    ) -> Result<CreatedApp, AuthError> {
        let name = App::parse_name(name).map_err(|e| AuthError::invalid_field("name", e.0))?;
        let slug = AppSlug::parse(slug).map_err(|e| AuthError::invalid_field("slug", e.0))?;
        let app_id = self.random_id(AppId::from_random);
        let app_secret = format!(
            "sk_{}",
            auth_domain::ids::base32(&self.random_bytes::<APP_SECRET_BYTES>())
        );
        let secret_hash = self.ports.secrets.hash(&app_secret).await;
        let material = self.ports.tokens.generate_key().await;
        let now = self.now();
        let app = App {
            id: app_id.clone(),
            slug: slug.clone(),
            name,
            secret_hash,
            secret_version: 1,
            disabled: false,
            created_at: now,
        };
        let key = SigningKey {
            kid: material.kid,
            app_id: app_id.clone(),
            encrypted_private_key: material.encrypted_private_key,
            public_key_der: material.public_key_der,
            created_at: now,
        };
        let event = self
            .event(Some(&app_id), AuditKind::AppCreated, caller, now)
            .actor("operator")
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

    /// The public keys that verify an app's tokens, newest first, or `None` for an unknown slug.
    ///
    /// # Errors
    /// Store failures; [`AuthError::Internal`] for a stored key that does not parse.
    pub async fn jwks(&self, slug: &str) -> Result<Option<Vec<PublicJwk>>, AuthError> {
        let Some(app) = self.ports.apps.find_app_by_slug(slug).await? else {
            return Ok(None);
        };
        let keys = self.ports.apps.verification_keys(&app.id).await?;
        let jwks = keys
            .iter()
            .map(|key| self.ports.tokens.public_jwk(key))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| AuthError::Internal)?;
        Ok(Some(jwks))
    }
}
