//! Tenants and role memberships, per app. Every method filters by app: app A can never reach B's.

use async_trait::async_trait;
use auth_domain::claims::TenantRoles;
use auth_domain::ids::{AppId, UserId};
use auth_domain::{AuditEvent, Identifier, Membership, RoleName, Tenant, TenantSlug};
use time::OffsetDateTime;

use crate::StoreError;

/// Why a tenant could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateTenantError {
    #[error("a tenant with this slug exists in this app")]
    Exists,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a role change or a membership listing was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    #[error("no such tenant in this app")]
    TenantNotFound,
    #[error("no such user in this app")]
    UserNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whom a role change is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(UserId),
    /// Assigning by identifier creates the user if they have never signed in.
    Identifier(Identifier),
}

/// One role given to, or taken from, one user in one tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleChange {
    pub app_id: AppId,
    pub tenant: TenantSlug,
    pub user: UserRef,
    pub role: RoleName,
    pub now: OffsetDateTime,
    /// The id a user created by this assignment gets.
    pub new_user_id: UserId,
    /// On revoke: also revoke every session of the user in the app (the app's
    /// `revoke_sessions_on_role_change` setting).
    pub revoke_sessions: bool,
}

/// Tenants and who holds which role in them.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Stores the tenant and `tenant_created`.
    ///
    /// MUST return [`CreateTenantError::Exists`] if the app has a tenant with this slug.
    async fn create_tenant(
        &self,
        tenant: Tenant,
        audit: AuditEvent,
    ) -> Result<(), CreateTenantError>;
    /// The app's tenants in slug order, after `after`, at most `limit`.
    async fn list_tenants(
        &self,
        app_id: &AppId,
        after: Option<TenantSlug>,
        limit: u32,
    ) -> Result<Vec<Tenant>, StoreError>;
    /// Gives the role (idempotent: `role_assigned` is written only when something changed) and
    /// returns the membership as it now is. Concurrent assignments of one role leave one row.
    ///
    /// MUST return [`MembershipError::TenantNotFound`] for a tenant of another app and
    /// [`MembershipError::UserNotFound`] for a user id of another app.
    async fn assign_role(
        &self,
        change: RoleChange,
        audit: AuditEvent,
    ) -> Result<Membership, MembershipError>;
    /// Takes the role (idempotent; `role_revoked` only when something changed) and returns the
    /// membership as it now is; no roles left means no membership.
    ///
    /// MUST return [`MembershipError::UserNotFound`] for an identifier that never signed in.
    async fn revoke_role(
        &self,
        change: RoleChange,
        audit: AuditEvent,
    ) -> Result<Membership, MembershipError>;
    /// One user's memberships in tenant-slug order, after `after`, at most `limit`.
    async fn memberships_of_user(
        &self,
        app_id: &AppId,
        user_id: &UserId,
        after: Option<TenantSlug>,
        limit: u32,
    ) -> Result<Vec<Membership>, MembershipError>;
    /// One tenant's memberships in user-id order, after `after`, at most `limit`.
    async fn members_of_tenant(
        &self,
        app_id: &AppId,
        tenant: &TenantSlug,
        after: Option<UserId>,
        limit: u32,
    ) -> Result<Vec<Membership>, MembershipError>;
    /// Every tenant of the user with its roles: what a token carries.
    async fn tenant_roles(
        &self,
        app_id: &AppId,
        user_id: &UserId,
    ) -> Result<TenantRoles, StoreError>;
}
