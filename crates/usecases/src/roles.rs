//! POST /roles/assign, /roles/revoke and /roles/list: who holds which role in which tenant.

use auth_domain::ids::UserId;
use auth_domain::{App, AuditKind, Membership, RoleName, TenantSlug};
use auth_ports::{MembershipError, RoleChange, UserRef};

use crate::tenants::Page;
use crate::{AppCredentials, AuthError, AuthService, Caller};

/// One role for one user in one tenant.
#[derive(Debug, Clone)]
pub struct RoleRequest {
    pub credentials: AppCredentials,
    pub tenant: TenantSlug,
    pub role: RoleName,
    pub user: UserRef,
    pub caller: Caller,
}

/// Whose memberships to list, and where the page starts.
#[derive(Debug, Clone)]
pub enum MembershipQuery {
    /// One user's memberships, in tenant-slug order.
    User {
        user_id: UserId,
        after: Option<TenantSlug>,
    },
    /// One tenant's members, in user-id order.
    Tenant {
        tenant: TenantSlug,
        after: Option<UserId>,
    },
}

impl From<MembershipError> for AuthError {
    fn from(error: MembershipError) -> Self {
        match error {
            MembershipError::TenantNotFound => Self::TenantNotFound,
            MembershipError::UserNotFound => Self::UserNotFound,
            MembershipError::Store(error) => error.into(),
        }
    }
}

/// One role of one user in one tenant of an app already known.
#[derive(Debug, Clone)]
pub struct RoleTarget {
    pub tenant: TenantSlug,
    pub role: RoleName,
    pub user: UserRef,
}

impl AuthService {
    /// Gives a role; a phone or email that never signed in gets its user created now.
    /// Idempotent: giving a held role again changes nothing.
    ///
    /// # Errors
    /// `tenant_not_found`, `user_not_found`, credential errors, store failures.
    pub async fn assign_role(&self, request: RoleRequest) -> Result<Membership, AuthError> {
        self.change_role(request, AuditKind::RoleAssigned).await
    }

    /// Takes a role away; the last role gone ends the membership. When the app has
    /// `revoke_sessions_on_role_change`, every session of the user in the app ends too.
    ///
    /// # Errors
    /// `tenant_not_found`, `user_not_found`, credential errors, store failures.
    pub async fn revoke_role(&self, request: RoleRequest) -> Result<Membership, AuthError> {
        self.change_role(request, AuditKind::RoleRevoked).await
    }

    async fn change_role(
        &self,
        request: RoleRequest,
        kind: AuditKind,
    ) -> Result<Membership, AuthError> {
        let RoleRequest {
            credentials,
            tenant,
            role,
            user,
            caller,
        } = request;
        let app = self.authenticate(&credentials, &caller).await?;
        let target = RoleTarget { tenant, role, user };
        self.change_role_in(&app, target, kind, "app", &caller)
            .await
    }

    /// Gives (`assign`) or takes a role in `developer`'s app, recorded as their act; otherwise as
    /// [`AuthService::assign_role`] and [`AuthService::revoke_role`].
    ///
    /// # Errors
    /// As those, and `invalid_request` for an app that is not theirs.
    pub async fn developer_change_role(
        &self,
        developer: &UserId,
        app_slug: &str,
        target: RoleTarget,
        assign: bool,
        caller: &Caller,
    ) -> Result<Membership, AuthError> {
        let app = self.owned_app(developer, app_slug).await?;
        let kind = if assign {
            AuditKind::RoleAssigned
        } else {
            AuditKind::RoleRevoked
        };
        self.change_role_in(&app, target, kind, "developer", caller)
            .await
    }

    async fn change_role_in(
        &self,
        app: &App,
        target: RoleTarget,
        kind: AuditKind,
        actor: &str,
        caller: &Caller,
    ) -> Result<Membership, AuthError> {
        let now = self.now();
        let change = RoleChange {
            app_id: app.id.clone(),
            tenant: target.tenant,
            user: target.user,
            role: target.role,
            now,
            new_user_id: self.random_id(UserId::from_random),
            revoke_sessions: app.revoke_sessions_on_role_change,
        };
        let event = self.event(Some(&app.id), kind, caller, now).actor(actor);
        let membership = if kind == AuditKind::RoleAssigned {
            self.ports.tenants.assign_role(change, event).await?
        } else {
            self.ports.tenants.revoke_role(change, event).await?
        };
        Ok(membership)
    }

    /// A page of memberships of one user or one tenant.
    ///
    /// # Errors
    /// `user_not_found`, `tenant_not_found`, credential errors, store failures.
    pub async fn list_memberships(
        &self,
        credentials: &AppCredentials,
        query: MembershipQuery,
        limit: u32,
        caller: &Caller,
    ) -> Result<Page<Membership>, AuthError> {
        let app = self.authenticate(credentials, caller).await?;
        self.memberships_in(&app, query, limit).await
    }

    /// [`AuthService::list_memberships`] for `developer`'s app.
    ///
    /// # Errors
    /// As that, and `invalid_request` for an app that is not theirs.
    pub async fn developer_memberships(
        &self,
        developer: &UserId,
        app_slug: &str,
        query: MembershipQuery,
        limit: u32,
    ) -> Result<Page<Membership>, AuthError> {
        let app = self.owned_app(developer, app_slug).await?;
        self.memberships_in(&app, query, limit).await
    }

    async fn memberships_in(
        &self,
        app: &App,
        query: MembershipQuery,
        limit: u32,
    ) -> Result<Page<Membership>, AuthError> {
        let tenants = &self.ports.tenants;
        Ok(match query {
            MembershipQuery::User { user_id, after } => {
                let items = tenants
                    .memberships_of_user(&app.id, &user_id, after, limit + 1)
                    .await?;
                Page::from_overfetch(items, limit, |m| m.tenant.as_str().to_owned())
            }
            MembershipQuery::Tenant { tenant, after } => {
                let items = tenants
                    .members_of_tenant(&app.id, &tenant, after, limit + 1)
                    .await?;
                Page::from_overfetch(items, limit, |m| m.user_id.as_str().to_owned())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{MembershipQuery, RoleRequest, RoleTarget};
    use crate::AuthError;
    use crate::test_kit::{Kit, app, caller, credentials};
    use auth_domain::ids::{RANDOM_ID_BYTES, UserId};
    use auth_domain::{AuditKind, Identifier, Membership, Phone, RoleName, TenantSlug};
    use auth_ports::{MembershipError, MockAppStore, UserRef};

    fn request() -> RoleRequest {
        RoleRequest {
            credentials: credentials(),
            tenant: TenantSlug::parse("springfield").unwrap(),
            role: RoleName::parse("teacher").unwrap(),
            user: UserRef::Identifier(Identifier::Phone(Phone::parse("+919876543210").unwrap())),
            caller: caller(),
        }
    }

    fn membership(roles: &[&str]) -> Membership {
        Membership {
            user_id: UserId::from_random(&[3; RANDOM_ID_BYTES]),
            tenant: TenantSlug::parse("springfield").unwrap(),
            roles: roles.iter().map(ToString::to_string).collect(),
        }
    }

    #[tokio::test]
    async fn assigning_passes_the_change_and_its_audit_kind_to_the_store() {
        // Arrange
        let mut kit = Kit::new();
        kit.tenants
            .expect_assign_role()
            .withf(|change, event| {
                change.app_id == app().id
                    && change.role.as_str() == "teacher"
                    && event.kind == AuditKind::RoleAssigned
            })
            .times(1)
            .returning(|_, _| Ok(membership(&["teacher"])));
        let service = kit.service();

        // Act
        let result = service.assign_role(request()).await;

        // Assert
        assert_eq!(result, Ok(membership(&["teacher"])));
    }

    #[tokio::test]
    async fn revoking_ends_sessions_only_when_the_app_asks_for_it() {
        for setting in [false, true] {
            // Arrange
            let mut kit = Kit::new();
            kit.apps = MockAppStore::new();
            kit.apps.expect_find_app().returning(move |_| {
                let mut configured = app();
                configured.revoke_sessions_on_role_change = setting;
                Ok(Some(configured))
            });
            kit.tenants
                .expect_revoke_role()
                .withf(move |change, event| {
                    change.revoke_sessions == setting && event.kind == AuditKind::RoleRevoked
                })
                .times(1)
                .returning(|_, _| Ok(membership(&[])));

            // Act
            let result = kit.service().revoke_role(request()).await;

            // Assert
            assert_eq!(result.unwrap().roles, Vec::<String>::new());
        }
    }

    #[tokio::test]
    async fn a_role_taken_in_the_portal_is_a_revocation_by_the_developer() {
        // Arrange
        let developer = UserId::from_random(&[1; RANDOM_ID_BYTES]);
        let owner = developer.clone();
        let mut kit = Kit::new();
        kit.apps = MockAppStore::new();
        kit.apps.expect_find_app_by_slug().returning(move |_| {
            Ok(Some(auth_domain::App {
                owner: Some(owner.clone()),
                ..app()
            }))
        });
        kit.tenants
            .expect_revoke_role()
            .withf(|change, event| {
                change.app_id == app().id
                    && event.kind == AuditKind::RoleRevoked
                    && event.actor.as_deref() == Some("developer")
            })
            .times(1)
            .returning(|_, _| Ok(membership(&[])));
        let RoleRequest {
            tenant, role, user, ..
        } = request();

        // Act
        let result = kit
            .service()
            .developer_change_role(
                &developer,
                "demo-app",
                RoleTarget { tenant, role, user },
                false,
                &caller(),
            )
            .await;

        // Assert
        assert_eq!(result, Ok(membership(&[])));
    }

    #[tokio::test]
    async fn unknown_tenants_and_users_map_to_their_catalogue_errors() {
        let mut kit = Kit::new();
        kit.tenants
            .expect_assign_role()
            .returning(|_, _| Err(MembershipError::TenantNotFound));
        kit.tenants
            .expect_memberships_of_user()
            .returning(|_, _, _, _| Err(MembershipError::UserNotFound));
        let service = kit.service();
        let query = MembershipQuery::User {
            user_id: UserId::from_random(&[4; RANDOM_ID_BYTES]),
            after: None,
        };

        assert_eq!(
            service.assign_role(request()).await.unwrap_err(),
            AuthError::TenantNotFound
        );
        assert_eq!(
            service
                .list_memberships(&credentials(), query, 10, &caller())
                .await
                .unwrap_err(),
            AuthError::UserNotFound
        );
    }
}
