//! The tenant and role endpoints.

use actix_web::{HttpRequest, HttpResponse, web};
use auth_domain::ids::UserId;
use auth_domain::{Email, Identifier, Phone, RoleName, TenantSlug};
use auth_ports::UserRef;
use auth_usecases::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, MembershipQuery, RoleRequest};

use crate::AppState;
use crate::app_call::{Answer, MAX_ID_CHARS, app_body, auth_fail, read};
use crate::body::Fields;
use crate::dto::{
    MembershipBody, MembershipPage, MembershipReply, TenantBody, TenantPage, TenantReply,
};

const MAX_SLUG_CHARS: usize = 63;
const MAX_NAME_CHARS: usize = 100;
const MAX_ROLE_CHARS: usize = 64;

fn slug(body: &mut impl Fields, name: &str) -> Option<TenantSlug> {
    let raw = body.required_str(name, MAX_SLUG_CHARS);
    body.parsed(name, raw, TenantSlug::parse)
}

fn page_size(body: &mut impl Fields) -> u32 {
    body.optional_u32("limit", 1, MAX_PAGE_SIZE)
        .unwrap_or(DEFAULT_PAGE_SIZE)
}

/// A new tenant's slug and name.
pub(crate) fn new_tenant(body: &mut impl Fields) -> Option<(TenantSlug, String)> {
    let slug = slug(body, "slug");
    let name = body.required_str("name", MAX_NAME_CHARS);
    slug.zip(name)
}

pub(crate) async fn create_tenant(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let new_tenant = new_tenant(&mut body);
    let (slug, name) = read(&request, body, new_tenant)?;
    let tenant = state
        .service
        .create_tenant(&credentials, slug, &name, &caller)
        .await
        .map_err(auth_fail(&request))?;
    Ok(HttpResponse::Ok().json(TenantReply {
        tenant: TenantBody::from(&tenant),
    }))
}

/// Where a page of tenants starts, and how long it is.
pub(crate) fn tenant_page(body: &mut impl Fields) -> (Option<TenantSlug>, u32) {
    let cursor = body.optional_str("cursor", MAX_SLUG_CHARS);
    let cursor = body.parsed("cursor", cursor, TenantSlug::parse);
    (cursor, page_size(body))
}

pub(crate) async fn list_tenants(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let (cursor, limit) = tenant_page(&mut body);
    let cursor = read(&request, body, Some(cursor))?;
    let page = state
        .service
        .list_tenants(&credentials, cursor, limit, &caller)
        .await
        .map_err(auth_fail(&request))?;
    Ok(HttpResponse::Ok().json(TenantPage {
        tenants: page.items.iter().map(TenantBody::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Exactly one of `user_id`, `phone` or `email`.
fn user_ref(body: &mut impl Fields) -> Option<UserRef> {
    let user_id = body.optional_str("user_id", MAX_ID_CHARS);
    let phone = body.optional_str("phone", 16);
    let email = body.optional_str("email", 254);
    match (user_id, phone, email) {
        (Some(id), None, None) => body
            .parsed("user_id", Some(id), UserId::parse)
            .map(UserRef::Id),
        (None, Some(phone), None) => body
            .parsed("phone", Some(phone), Phone::parse)
            .map(|p| UserRef::Identifier(Identifier::Phone(p))),
        (None, None, Some(email)) => body
            .parsed("email", Some(email), Email::parse)
            .map(|e| UserRef::Identifier(Identifier::Email(e))),
        (None, None, None) => {
            body.problem("user_id", "one of user_id, phone or email is required");
            None
        }
        _ => {
            body.problem("user_id", "give exactly one of user_id, phone or email");
            None
        }
    }
}

/// The tenant, the role and the user a role change is about.
pub(crate) fn role_change(body: &mut impl Fields) -> Option<(TenantSlug, RoleName, UserRef)> {
    let tenant = slug(body, "tenant");
    let role = body.required_str("role", MAX_ROLE_CHARS);
    let role = body.parsed("role", role, RoleName::parse);
    let user = user_ref(body);
    let (tenant, (role, user)) = tenant.zip(role.zip(user))?;
    Some((tenant, role, user))
}

async fn role_request(
    request: &HttpRequest,
    payload: web::Payload,
) -> Result<RoleRequest, crate::Failure> {
    let (mut body, credentials, caller) = app_body(request, payload).await?;
    let change = role_change(&mut body);
    let (tenant, role, user) = read(request, body, change)?;
    Ok(RoleRequest {
        credentials,
        tenant,
        role,
        user,
        caller,
    })
}

pub(crate) async fn assign_role(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let role = role_request(&request, payload).await?;
    let membership = state
        .service
        .assign_role(role)
        .await
        .map_err(auth_fail(&request))?;
    Ok(HttpResponse::Ok().json(MembershipReply {
        membership: MembershipBody::from(&membership),
    }))
}

pub(crate) async fn revoke_role(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let role = role_request(&request, payload).await?;
    let membership = state
        .service
        .revoke_role(role)
        .await
        .map_err(auth_fail(&request))?;
    Ok(HttpResponse::Ok().json(MembershipReply {
        membership: MembershipBody::from(&membership),
    }))
}

/// Whose memberships to list (one user's, or one tenant's), from where, and how many.
pub(crate) fn membership_query(body: &mut impl Fields) -> (Option<MembershipQuery>, u32) {
    let user_id = body.optional_str("user_id", MAX_ID_CHARS);
    let tenant = body.optional_str("tenant", MAX_SLUG_CHARS);
    let cursor = body.optional_str("cursor", MAX_ID_CHARS);
    let query = match (user_id, tenant) {
        (Some(user_id), None) => {
            let user_id = body.parsed("user_id", Some(user_id), UserId::parse);
            let after = body.parsed("cursor", cursor, TenantSlug::parse);
            user_id.map(|user_id| MembershipQuery::User { user_id, after })
        }
        (None, Some(tenant)) => {
            let tenant = body.parsed("tenant", Some(tenant), TenantSlug::parse);
            let after = body.parsed("cursor", cursor, UserId::parse);
            tenant.map(|tenant| MembershipQuery::Tenant { tenant, after })
        }
        _ => {
            body.problem("user_id", "give exactly one of user_id or tenant");
            None
        }
    };
    (query, page_size(body))
}

pub(crate) async fn list_roles(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let (query, limit) = membership_query(&mut body);
    let query = read(&request, body, query)?;
    let page = state
        .service
        .list_memberships(&credentials, query, limit, &caller)
        .await
        .map_err(auth_fail(&request))?;
    Ok(HttpResponse::Ok().json(MembershipPage {
        memberships: page.items.iter().map(MembershipBody::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
