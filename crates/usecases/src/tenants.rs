//! POST /tenants/create and /tenants/list: the organisations an app serves.

use auth_domain::ids::{TenantId, UserId};
use auth_domain::{App, AuditKind, Tenant, TenantSlug};
use auth_ports::CreateTenantError;

use crate::{AppCredentials, AuthError, AuthService, Caller};

/// The most items one page may ask for.
pub const MAX_PAGE_SIZE: u32 = 200;
/// The page size when none is asked for.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// One page of a list, in a stable order, and where the next one starts (`None`: this is the last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Cuts `items` (fetched as `limit + 1`) to `limit`, naming the last kept item's key as the
    /// cursor when there is more.
    pub(crate) fn from_overfetch(
        mut items: Vec<T>,
        limit: u32,
        key: impl Fn(&T) -> String,
    ) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let more = items.len() > limit;
        items.truncate(limit);
        let next_cursor = if more { items.last().map(key) } else { None };
        Self { items, next_cursor }
    }
}

impl AuthService {
    /// Creates a tenant in the app.
    ///
    /// # Errors
    /// `tenant_exists`, credential errors, store failures.
    pub async fn create_tenant(
        &self,
        credentials: &AppCredentials,
        slug: TenantSlug,
        name: &str,
        caller: &Caller,
    ) -> Result<Tenant, AuthError> {
        let app = self.authenticate(credentials, caller).await?;
        self.create_tenant_in(&app, slug, name, "app", caller).await
    }

    /// Creates a tenant in `developer`'s app, recorded as their act.
    ///
    /// # Errors
    /// As [`AuthService::create_tenant`], and `invalid_request` for an app that is not theirs.
    pub async fn developer_create_tenant(
        &self,
        developer: &UserId,
        app_slug: &str,
        slug: TenantSlug,
        name: &str,
        caller: &Caller,
    ) -> Result<Tenant, AuthError> {
        let app = self.owned_app(developer, app_slug).await?;
        self.create_tenant_in(&app, slug, name, "developer", caller)
            .await
    }

    async fn create_tenant_in(
        &self,
        app: &App,
        slug: TenantSlug,
        name: &str,
        actor: &str,
        caller: &Caller,
    ) -> Result<Tenant, AuthError> {
        let name = Tenant::parse_name(name).map_err(|e| AuthError::invalid_field("name", e.0))?;
        let now = self.now();
        let tenant = Tenant {
            id: self.random_id(TenantId::from_random),
            app_id: app.id.clone(),
            slug,
            name,
            created_at: now,
        };
        let event = self
            .event(Some(&app.id), AuditKind::TenantCreated, caller, now)
            .actor(actor)
            .subject(tenant.id.as_str())
            .details(serde_json::json!({ "slug": tenant.slug.as_str() }));
        match self
            .ports
            .tenants
            .create_tenant(tenant.clone(), event)
            .await
        {
            Ok(()) => Ok(tenant),
            Err(CreateTenantError::Exists) => Err(AuthError::TenantExists),
            Err(CreateTenantError::Store(error)) => Err(error.into()),
        }
    }

    /// The app's tenants in slug order, `limit` (1–[`MAX_PAGE_SIZE`]) at a time after `cursor`.
    ///
    /// # Errors
    /// Credential errors, store failures.
    pub async fn list_tenants(
        &self,
        credentials: &AppCredentials,
        cursor: Option<TenantSlug>,
        limit: u32,
        caller: &Caller,
    ) -> Result<Page<Tenant>, AuthError> {
        let app = self.authenticate(credentials, caller).await?;
        self.tenants_of(&app, cursor, limit).await
    }

    /// [`AuthService::list_tenants`] for `developer`'s app.
    ///
    /// # Errors
    /// `invalid_request` for an app that is not theirs; store failures.
    pub async fn developer_tenants(
        &self,
        developer: &UserId,
        app_slug: &str,
        cursor: Option<TenantSlug>,
        limit: u32,
    ) -> Result<Page<Tenant>, AuthError> {
        let app = self.owned_app(developer, app_slug).await?;
        self.tenants_of(&app, cursor, limit).await
    }

    async fn tenants_of(
        &self,
        app: &App,
        cursor: Option<TenantSlug>,
        limit: u32,
    ) -> Result<Page<Tenant>, AuthError> {
        let tenants = self
            .ports
            .tenants
            .list_tenants(&app.id, cursor, limit + 1)
            .await?;
        Ok(Page::from_overfetch(tenants, limit, |tenant| {
            tenant.slug.as_str().to_owned()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::Page;
    use crate::AuthError;
    use crate::test_kit::{Kit, app, caller, credentials};
    use auth_domain::ids::{RANDOM_ID_BYTES, UserId};
    use auth_domain::{AuditKind, TenantSlug};
    use auth_ports::CreateTenantError;

    #[test]
    fn a_page_names_a_cursor_only_when_more_items_exist() {
        let more = Page::from_overfetch(vec![1, 2, 3], 2, ToString::to_string);
        let last = Page::from_overfetch(vec![1, 2], 2, ToString::to_string);
        assert_eq!(
            more,
            Page {
                items: vec![1, 2],
                next_cursor: Some("2".into())
            }
        );
        assert_eq!(
            last,
            Page {
                items: vec![1, 2],
                next_cursor: None
            }
        );
    }

    #[tokio::test]
    async fn a_tenant_is_created_in_the_callers_app_with_its_audit_record() {
        // Arrange
        let mut kit = Kit::new();
        kit.tenants
            .expect_create_tenant()
            .withf(|tenant, event| {
                tenant.app_id == app().id && event.kind == AuditKind::TenantCreated
            })
            .times(1)
            .returning(|_, _| Ok(()));
        let service = kit.service();

        // Act
        let tenant = service
            .create_tenant(
                &credentials(),
                TenantSlug::parse("springfield").unwrap(),
                " Springfield ",
                &caller(),
            )
            .await
            .unwrap();

        // Assert
        assert!(tenant.id.as_str().starts_with("ten_"));
        assert_eq!(tenant.name, "Springfield");
    }

    #[tokio::test]
    async fn a_tenant_made_in_the_portal_is_the_developers_act_in_their_app_only() {
        // Arrange
        let developer = UserId::from_random(&[1; RANDOM_ID_BYTES]);
        let owner = developer.clone();
        let mut kit = Kit::new();
        kit.apps.expect_find_app_by_slug().returning(move |_| {
            Ok(Some(auth_domain::App {
                owner: Some(owner.clone()),
                ..app()
            }))
        });
        kit.tenants
            .expect_create_tenant()
            .withf(|tenant, event| {
                tenant.app_id == app().id && event.actor.as_deref() == Some("developer")
            })
            .times(1)
            .returning(|_, _| Ok(()));
        let service = kit.service();
        let slug = || TenantSlug::parse("springfield").unwrap();

        // Act
        let own = service
            .developer_create_tenant(&developer, "demo-app", slug(), "Springfield", &caller())
            .await;
        let stranger = UserId::from_random(&[2; RANDOM_ID_BYTES]);
        let foreign = service
            .developer_create_tenant(&stranger, "demo-app", slug(), "Springfield", &caller())
            .await;

        // Assert
        assert_eq!(own.unwrap().slug, slug());
        assert!(matches!(foreign, Err(AuthError::InvalidRequest(_))));
    }

    #[tokio::test]
    async fn a_taken_slug_is_tenant_exists() {
        let mut kit = Kit::new();
        kit.tenants
            .expect_create_tenant()
            .returning(|_, _| Err(CreateTenantError::Exists));
        let result = kit
            .service()
            .create_tenant(
                &credentials(),
                TenantSlug::parse("taken").unwrap(),
                "T",
                &caller(),
            )
            .await;
        assert_eq!(result.unwrap_err(), AuthError::TenantExists);
    }
}
