//! Tenants and role memberships. A membership is the set of a user's `role_assignments` rows in one
//! tenant; every query filters by app, so one app can never reach another's rows.

use async_trait::async_trait;
use auth_domain::claims::TenantRoles;
use auth_domain::ids::{AppId, TenantId, UserId};
use auth_domain::{AuditEvent, Identifier, Membership, Tenant, TenantSlug};
use auth_ports::{
    CreateTenantError, MembershipError, RoleChange, StoreError, TenantStore, UserRef,
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::Store;
use crate::audit::append;
use crate::conn::{is_unique_violation, query_error, transaction, with_conn};
use crate::models::{from_micros, micros};
use crate::schema::{role_assignments, sessions, tenants, users};

/// Whether a token asked to be scoped to `scope` must be refused: the user is no member of it.
pub(crate) fn outside_scope(scope: Option<&TenantSlug>, tenants: &TenantRoles) -> bool {
    scope.is_some_and(|scope| !tenants.contains_key(scope.as_str()))
}

/// A role assignment's tenant, joined on the tenant's whole primary key: with the app in it, the
/// planner knows the join finds one row whatever its statistics say.
pub(crate) fn tenant_of_assignment() -> TenantOfAssignment {
    tenants::id
        .eq(role_assignments::tenant_id)
        .and(tenants::app_id.eq(role_assignments::app_id))
}

pub(crate) type TenantOfAssignment = diesel::dsl::And<
    diesel::dsl::Eq<tenants::id, role_assignments::tenant_id>,
    diesel::dsl::Eq<tenants::app_id, role_assignments::app_id>,
>;

/// `(tenant slug, role)` rows, in slug and role order, as the roles per tenant.
pub(crate) fn tenant_roles(rows: impl IntoIterator<Item = (String, String)>) -> TenantRoles {
    let mut roles = TenantRoles::new();
    for (slug, role) in rows {
        roles.entry(slug).or_default().push(role);
    }
    roles
}

/// Every tenant slug and role of one user in one app, in slug and role order; evaluates to
/// `Result<TenantRoles, diesel::result::Error>`.
macro_rules! tenant_roles_of {
    ($conn:expr, $app_id:expr, $user_id:expr) => {
        role_assignments::table
            .inner_join(tenants::table.on($crate::tenants::tenant_of_assignment()))
            .filter(role_assignments::app_id.eq($app_id))
            .filter(role_assignments::user_id.eq($user_id))
            .order((tenants::slug.asc(), role_assignments::role.asc()))
            .select((tenants::slug, role_assignments::role))
            .load::<(String, String)>($conn)
            .await
            .map($crate::tenants::tenant_roles)
    };
}
pub(crate) use tenant_roles_of;

/// The id of the app's tenant with this slug.
macro_rules! tenant_id_of {
    ($conn:expr, $app_id:expr, $slug:expr) => {
        tenants::table
            .filter(tenants::app_id.eq($app_id))
            .filter(tenants::slug.eq($slug))
            .select(tenants::id)
            .first::<String>($conn)
            .await
            .optional()
    };
}

/// The roles one user holds in one tenant, sorted.
macro_rules! roles_in {
    ($conn:expr, $tenant_id:expr, $user_id:expr) => {
        role_assignments::table
            .filter(role_assignments::tenant_id.eq($tenant_id))
            .filter(role_assignments::user_id.eq($user_id))
            .order(role_assignments::role.asc())
            .select(role_assignments::role)
            .load::<String>($conn)
            .await
    };
}

/// The user a change names: by id within the app, or by identifier (created if `create`).
macro_rules! resolve_user {
    ($conn:expr, $change:expr, $create:expr) => {{
        let app_id = $change.app_id.as_str();
        match &$change.user {
            UserRef::Id(id) => users::table
                .filter(users::app_id.eq(app_id))
                .filter(users::id.eq(id.as_str()))
                .select(users::id)
                .first::<String>($conn)
                .await
                .optional()?,
            UserRef::Identifier(identifier) => {
                let (phone, email) = match identifier {
                    Identifier::Phone(phone) => (Some(phone.as_str().to_owned()), None),
                    Identifier::Email(email) => (None, Some(email.as_str().to_owned())),
                };
                if $create {
                    diesel::insert_into(users::table)
                        .values((
                            users::id.eq($change.new_user_id.as_str()),
                            users::app_id.eq(app_id),
                            users::phone.eq(&phone),
                            users::email.eq(&email),
                            users::created_at.eq(micros($change.now)),
                        ))
                        .on_conflict_do_nothing()
                        .execute($conn)
                        .await?;
                }
                let query = users::table
                    .filter(users::app_id.eq(app_id))
                    .select(users::id)
                    .into_boxed();
                let query = match (phone, email) {
                    (Some(phone), _) => query.filter(users::phone.eq(phone)),
                    (None, email) => query.filter(users::email.eq(email.unwrap_or_default())),
                };
                query.first::<String>($conn).await.optional()?
            }
        }
    }};
}

fn membership(user_id: String, tenant: &TenantSlug, roles: Vec<String>) -> Membership {
    Membership {
        user_id: UserId::from_trusted(user_id),
        tenant: tenant.clone(),
        roles,
    }
}

/// Groups `(key, role)` rows, already in key order, into memberships.
fn group(rows: Vec<(String, String, String)>) -> Result<Vec<Membership>, StoreError> {
    let mut memberships: Vec<Membership> = Vec::new();
    for (user_id, slug, role) in rows {
        match memberships.last_mut() {
            Some(last) if last.user_id.as_str() == user_id && last.tenant.as_str() == slug => {
                last.roles.push(role)
            }
            _ => {
                let tenant = TenantSlug::parse(&slug).map_err(|_| {
                    StoreError::Internal("stored tenant slug does not parse".into())
                })?;
                memberships.push(membership(user_id, &tenant, vec![role]));
            }
        }
    }
    Ok(memberships)
}

fn limit(limit: u32) -> i64 {
    i64::from(limit.max(1))
}

#[async_trait]
impl TenantStore for Store {
    async fn create_tenant(
        &self,
        tenant: Tenant,
        audit: AuditEvent,
    ) -> Result<(), CreateTenantError> {
        let result = transaction!(self, |conn| {
            diesel::insert_into(tenants::table)
                .values((
                    tenants::id.eq(tenant.id.as_str()),
                    tenants::app_id.eq(tenant.app_id.as_str()),
                    tenants::slug.eq(tenant.slug.as_str()),
                    tenants::name.eq(&tenant.name),
                    tenants::created_at.eq(micros(tenant.created_at)),
                ))
                .execute(conn)
                .await?;
            append!(conn, audit)
        });
        match result {
            Ok(()) => Ok(()),
            Err(error) if is_unique_violation(&error) => Err(CreateTenantError::Exists),
            Err(error) => Err(CreateTenantError::Store(query_error(error))),
        }
    }

    async fn list_tenants(
        &self,
        app_id: &AppId,
        after: Option<TenantSlug>,
        count: u32,
    ) -> Result<Vec<Tenant>, StoreError> {
        let after = after
            .map(|slug| slug.as_str().to_owned())
            .unwrap_or_default();
        let rows: Vec<(String, String, String, i64)> = with_conn!(self, |conn| {
            tenants::table
                .filter(tenants::app_id.eq(app_id.as_str()))
                .filter(tenants::slug.gt(&after))
                .order(tenants::slug.asc())
                .limit(limit(count))
                .select((
                    tenants::id,
                    tenants::slug,
                    tenants::name,
                    tenants::created_at,
                ))
                .load(conn)
                .await
        })
        .map_err(query_error)?;
        rows.into_iter()
            .map(|(id, slug, name, created_at)| {
                Ok(Tenant {
                    id: TenantId::from_trusted(id),
                    app_id: app_id.clone(),
                    slug: TenantSlug::parse(&slug).map_err(|_| {
                        StoreError::Internal("stored tenant slug does not parse".into())
                    })?,
                    name,
                    created_at: from_micros(created_at)?,
                })
            })
            .collect()
    }

    async fn assign_role(
        &self,
        change: RoleChange,
        audit: AuditEvent,
    ) -> Result<Membership, MembershipError> {
        transaction!(self, |conn| {
            let Some(tenant_id) = tenant_id_of!(conn, change.app_id.as_str(), change.tenant.as_str())? else {
                return Ok(Err(MembershipError::TenantNotFound));
            };
            let Some(user_id) = resolve_user!(conn, change, true) else {
                return Ok(Err(MembershipError::UserNotFound));
            };
            // The primary key makes concurrent assignments of one role meet on one row.
            let inserted = diesel::insert_into(role_assignments::table)
                .values((
                    role_assignments::tenant_id.eq(&tenant_id),
                    role_assignments::user_id.eq(&user_id),
                    role_assignments::app_id.eq(change.app_id.as_str()),
                    role_assignments::role.eq(change.role.as_str()),
                    role_assignments::created_at.eq(micros(change.now)),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
            if inserted == 1 {
                let event = audit
                    .actor_or("app")
                    .subject(user_id.clone())
                    .details(serde_json::json!({ "tenant": change.tenant.as_str(), "role": change.role.as_str() }));
                append!(conn, event)?;
            }
            let roles = roles_in!(conn, &tenant_id, &user_id)?;
            Ok(Ok(membership(user_id, &change.tenant, roles)))
        })
        .map_err(query_error)?
    }

    async fn revoke_role(
        &self,
        change: RoleChange,
        audit: AuditEvent,
    ) -> Result<Membership, MembershipError> {
        transaction!(self, |conn| {
            let Some(tenant_id) =
                tenant_id_of!(conn, change.app_id.as_str(), change.tenant.as_str())?
            else {
                return Ok(Err(MembershipError::TenantNotFound));
            };
            let Some(user_id) = resolve_user!(conn, change, false) else {
                return Ok(Err(MembershipError::UserNotFound));
            };
            let removed = diesel::delete(
                role_assignments::table
                    .filter(role_assignments::tenant_id.eq(&tenant_id))
                    .filter(role_assignments::user_id.eq(&user_id))
                    .filter(role_assignments::role.eq(change.role.as_str())),
            )
            .execute(conn)
            .await?;
            if removed == 1 {
                let mut revoked_sessions = 0;
                if change.revoke_sessions {
                    revoked_sessions = diesel::update(
                        sessions::table
                            .filter(sessions::app_id.eq(change.app_id.as_str()))
                            .filter(sessions::user_id.eq(&user_id))
                            .filter(sessions::revoked_at.is_null()),
                    )
                    .set(sessions::revoked_at.eq(micros(change.now)))
                    .execute(conn)
                    .await?;
                }
                let event =
                    audit
                        .actor_or("app")
                        .subject(user_id.clone())
                        .details(serde_json::json!({
                            "tenant": change.tenant.as_str(),
                            "role": change.role.as_str(),
                            "revoked_sessions": revoked_sessions,
                        }));
                append!(conn, event)?;
            }
            let roles = roles_in!(conn, &tenant_id, &user_id)?;
            Ok(Ok(membership(user_id, &change.tenant, roles)))
        })
        .map_err(query_error)?
    }

    async fn memberships_of_user(
        &self,
        app_id: &AppId,
        user_id: &UserId,
        after: Option<TenantSlug>,
        count: u32,
    ) -> Result<Vec<Membership>, MembershipError> {
        let after = after
            .map(|slug| slug.as_str().to_owned())
            .unwrap_or_default();
        let rows = with_conn!(self, |conn| {
            let page = async {
                let known: i64 = users::table
                    .filter(users::app_id.eq(app_id.as_str()))
                    .filter(users::id.eq(user_id.as_str()))
                    .count()
                    .get_result(conn)
                    .await?;
                if known == 0 {
                    return Ok(None);
                }
                let page: Vec<String> = role_assignments::table
                    .inner_join(tenants::table.on(tenant_of_assignment()))
                    .filter(role_assignments::app_id.eq(app_id.as_str()))
                    .filter(role_assignments::user_id.eq(user_id.as_str()))
                    .filter(tenants::slug.gt(&after))
                    .select(tenants::slug)
                    .distinct()
                    .order(tenants::slug.asc())
                    .limit(limit(count))
                    .load(conn)
                    .await?;
                role_assignments::table
                    .inner_join(tenants::table.on(tenant_of_assignment()))
                    .filter(role_assignments::app_id.eq(app_id.as_str()))
                    .filter(role_assignments::user_id.eq(user_id.as_str()))
                    .filter(tenants::slug.eq_any(&page))
                    .order((tenants::slug.asc(), role_assignments::role.asc()))
                    .select((
                        role_assignments::user_id,
                        tenants::slug,
                        role_assignments::role,
                    ))
                    .load::<(String, String, String)>(conn)
                    .await
                    .map(Some)
            };
            page.await
        })
        .map_err(query_error)?;
        Ok(group(rows.ok_or(MembershipError::UserNotFound)?)?)
    }

    async fn members_of_tenant(
        &self,
        app_id: &AppId,
        tenant: &TenantSlug,
        after: Option<UserId>,
        count: u32,
    ) -> Result<Vec<Membership>, MembershipError> {
        let after = after.map(|id| id.as_str().to_owned()).unwrap_or_default();
        let rows = with_conn!(self, |conn| {
            let page = async {
                let Some(tenant_id) = tenant_id_of!(conn, app_id.as_str(), tenant.as_str())? else {
                    return Ok(None);
                };
                let page: Vec<String> = role_assignments::table
                    .filter(role_assignments::tenant_id.eq(&tenant_id))
                    .filter(role_assignments::user_id.gt(&after))
                    .select(role_assignments::user_id)
                    .distinct()
                    .order(role_assignments::user_id.asc())
                    .limit(limit(count))
                    .load(conn)
                    .await?;
                role_assignments::table
                    .inner_join(tenants::table.on(tenant_of_assignment()))
                    .filter(role_assignments::tenant_id.eq(&tenant_id))
                    .filter(role_assignments::user_id.eq_any(&page))
                    .order((
                        role_assignments::user_id.asc(),
                        role_assignments::role.asc(),
                    ))
                    .select((
                        role_assignments::user_id,
                        tenants::slug,
                        role_assignments::role,
                    ))
                    .load::<(String, String, String)>(conn)
                    .await
                    .map(Some)
            };
            page.await
        })
        .map_err(query_error)?;
        Ok(group(rows.ok_or(MembershipError::TenantNotFound)?)?)
    }

    async fn tenant_roles(
        &self,
        app_id: &AppId,
        user_id: &UserId,
    ) -> Result<TenantRoles, StoreError> {
        with_conn!(self, |conn| tenant_roles_of!(
            conn,
            app_id.as_str(),
            user_id.as_str()
        ))
        .map_err(query_error)
    }
}
