//! An app's tenants and who holds which role in them: create a tenant, give and take roles.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use auth_domain::ids::UserId;
use auth_domain::{App, Membership, RoleName, Tenant, TenantSlug};
use auth_ports::UserRef;
use auth_usecases::{AuthError, MembershipQuery, Page, RoleTarget};
use serde::Deserialize;

use crate::PortalState;
use crate::access::{AppPage, genuine, own_app, own_app_posted};
use crate::html::{csrf_field, error, esc, when};
use crate::responses::{failure, forged, not_found_page, redirect, status_of};
use crate::session::caller;
use crate::sign_in::parse_identifier;

/// Tenants, or members, a page lists.
const PAGE_SIZE: u32 = 50;

/// Where a listing starts: after this tenant slug or user id.
#[derive(Debug, Default, Deserialize)]
pub struct After {
    after: Option<String>,
}

impl After {
    fn given(&self) -> Option<&str> {
        self.after
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
}

/// What a page shows above its lists: a refused form, kept as the developer typed it.
struct Refused<'a, F> {
    problem: &'a AuthError,
    form: &'a F,
}

fn tenant_rows(app: &App, tenants: &[Tenant]) -> String {
    if tenants.is_empty() {
        return "<p>No tenants yet.</p>".to_owned();
    }
    let rows: String = tenants
        .iter()
        .map(|tenant| {
            format!(
                r#"<tr><td><a href="/portal/apps/{app}/tenants/{slug}"><code>{slug}</code></a></td><td>{name}</td><td>{created}</td></tr>"#,
                app = esc(app.slug.as_str()),
                slug = esc(tenant.slug.as_str()),
                name = esc(&tenant.name),
                created = esc(&when(tenant.created_at)),
            )
        })
        .collect();
    format!(
        r#"<div class="scroll"><table id="tenants"><thead><tr><th scope="col">Slug</th><th scope="col">Name</th><th scope="col">Created</th></tr></thead><tbody>{rows}</tbody></table></div>"#
    )
}

/// The "next page" link of a listing at `path`.
fn next_link(path: &str, next: Option<&String>) -> String {
    next.map_or_else(String::new, |cursor| {
        format!(
            r#"<p><a class="button" href="{path}?after={}">Next page</a></p>"#,
            esc(cursor)
        )
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct TenantForm {
    csrf: String,
    slug: String,
    name: String,
}

fn create_form(app: &App, token: &str, typed: Option<&TenantForm>) -> String {
    let (slug, name) = typed.map_or(("", ""), |form| (form.slug.as_str(), form.name.as_str()));
    format!(
        r#"<h2>Create a tenant</h2>
<form method="post" action="/portal/apps/{app}/tenants" class="stack">
{csrf}
<label for="tenant-slug">Slug (lowercase letters, digits and hyphens; in tokens' <code>tenants</code> claim)</label>
<input id="tenant-slug" name="slug" required maxlength="40" pattern="[a-z0-9][a-z0-9\-]*" value="{slug}">
<label for="tenant-name">Name</label>
<input id="tenant-name" name="name" required maxlength="100" value="{name}">
<button type="submit">Create tenant</button>
</form>"#,
        app = esc(app.slug.as_str()),
        csrf = csrf_field(token),
        slug = esc(slug),
        name = esc(name),
    )
}

async fn render_tenants(
    view: &AppPage<'_>,
    after: Option<&str>,
    refused: Option<Refused<'_, TenantForm>>,
) -> HttpResponse {
    let (app, token) = (&view.app, view.token.as_str());
    let cursor = match after.map(TenantSlug::parse).transpose() {
        Ok(cursor) => cursor,
        Err(_) => return not_found_page(),
    };
    let listed = view
        .state
        .service
        .developer_tenants(
            &view.developer.user.id,
            app.slug.as_str(),
            cursor,
            PAGE_SIZE,
        )
        .await;
    let tenants: Page<Tenant> = match listed {
        Ok(page) => page,
        Err(problem) => return failure(&problem),
    };
    let path = format!("/portal/apps/{}/tenants", app.slug.as_str());
    let content = format!(
        r#"{notice}<p>A tenant is an organisation your app serves; roles are held per tenant and travel in access tokens. <a href="/portal/apps/{app}">Back to the app</a></p>{list}{more}{form}"#,
        notice = refused
            .as_ref()
            .map_or_else(String::new, |r| error(r.problem)),
        app = esc(app.slug.as_str()),
        list = tenant_rows(app, &tenants.items),
        more = next_link(&path, tenants.next_cursor.as_ref()),
        form = create_form(app, token, refused.as_ref().map(|r| r.form)),
    );
    let status = refused.map_or(StatusCode::OK, |r| status_of(r.problem));
    view.respond(status, "Tenants", &content)
}

pub async fn tenants_page(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
    query: web::Query<After>,
) -> HttpResponse {
    match AppPage::open(&request, &state, &slug).await {
        Ok(view) => render_tenants(&view, query.given(), None).await,
        Err(response) => response,
    }
}

pub async fn create_tenant(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
    form: web::Form<TenantForm>,
) -> HttpResponse {
    let owned = own_app_posted(&request, &state, &slug, &form.csrf).await;
    let (developer, app) = match owned {
        Ok(found) => found,
        Err(response) => return response,
    };
    let created = match TenantSlug::parse(form.slug.trim()) {
        Ok(tenant) => {
            state
                .service
                .developer_create_tenant(
                    &developer.user.id,
                    app.slug.as_str(),
                    tenant,
                    &form.name,
                    &caller(&request),
                )
                .await
        }
        Err(problem) => Err(AuthError::invalid_field("slug", problem.0)),
    };
    match created {
        Ok(tenant) => redirect(&tenant_path(&app, &tenant.slug), &developer.set_cookies),
        Err(problem) => {
            let refused = Refused {
                problem: &problem,
                form: &*form,
            };
            let view = AppPage::posted(&state, developer, app, &form.csrf);
            render_tenants(&view, None, Some(refused)).await
        }
    }
}

fn tenant_path(app: &App, tenant: &TenantSlug) -> String {
    format!(
        "/portal/apps/{}/tenants/{}",
        app.slug.as_str(),
        tenant.as_str()
    )
}

fn member_rows(app: &App, tenant: &TenantSlug, members: &[Membership], token: &str) -> String {
    if members.is_empty() {
        return "<p>No one holds a role in this tenant yet.</p>".to_owned();
    }
    let rows: String = members
        .iter()
        .map(|member| {
            let roles: String = member
                .roles
                .iter()
                .map(|role| {
                    format!(
                        r#"<li><code>{role}</code> <form method="post" action="{path}/roles/revoke" class="inline">{csrf}<input type="hidden" name="user" value="{user}"><input type="hidden" name="role" value="{role}"><button type="submit" aria-label="Take {role} from {user}">Take away</button></form></li>"#,
                        role = esc(role),
                        path = esc(&tenant_path(app, tenant)),
                        csrf = csrf_field(token),
                        user = esc(member.user_id.as_str()),
                    )
                })
                .collect();
            format!(
                r#"<tr><td><a href="/portal/apps/{app}/users/{user}"><code>{user}</code></a></td><td><ul class="roles">{roles}</ul></td></tr>"#,
                app = esc(app.slug.as_str()),
                user = esc(member.user_id.as_str()),
            )
        })
        .collect();
    format!(
        r#"<div class="scroll"><table id="members"><thead><tr><th scope="col">User</th><th scope="col">Roles</th></tr></thead><tbody>{rows}</tbody></table></div>"#
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct RoleForm {
    csrf: String,
    user: String,
    role: String,
}

fn assign_form(app: &App, tenant: &TenantSlug, token: &str, typed: Option<&RoleForm>) -> String {
    let (user, role) = typed.map_or(("", ""), |form| (form.user.as_str(), form.role.as_str()));
    format!(
        r#"<h2>Give a role</h2>
<form method="post" action="{path}/roles" class="stack">
{csrf}
<label for="role-user">User: a user id, or an email address or phone number (+country code); someone who never signed in is created</label>
<input id="role-user" name="user" required maxlength="254" value="{user}">
<label for="role-name">Role (a lowercase letter, then letters, digits, <code>_</code>, <code>:</code> or <code>-</code>)</label>
<input id="role-name" name="role" required maxlength="64" pattern="[a-z][a-z0-9_:\-]*" value="{role}">
<button type="submit">Give role</button>
</form>"#,
        path = esc(&tenant_path(app, tenant)),
        csrf = csrf_field(token),
        user = esc(user),
        role = esc(role),
    )
}

/// The tenant's page, or the not-found page when the app has no such tenant.
async fn render_tenant(
    view: &AppPage<'_>,
    tenant: &TenantSlug,
    after: Option<&str>,
    refused: Option<Refused<'_, RoleForm>>,
) -> HttpResponse {
    let (app, token) = (&view.app, view.token.as_str());
    let Ok(after) = after.map(UserId::parse).transpose() else {
        return not_found_page();
    };
    let query = MembershipQuery::Tenant {
        tenant: tenant.clone(),
        after,
    };
    let listed = view
        .state
        .service
        .developer_memberships(&view.developer.user.id, app.slug.as_str(), query, PAGE_SIZE)
        .await;
    let members = match listed {
        Ok(page) => page,
        Err(AuthError::TenantNotFound) => return not_found_page(),
        Err(problem) => return failure(&problem),
    };
    let content = format!(
        r#"{notice}<p>Roles in tenant <code>{tenant}</code> reach a user's tokens at their next sign-in or refresh. <a href="/portal/apps/{app}/tenants">All tenants</a></p>{list}{more}{form}"#,
        notice = refused
            .as_ref()
            .map_or_else(String::new, |r| error(r.problem)),
        tenant = esc(tenant.as_str()),
        app = esc(app.slug.as_str()),
        list = member_rows(app, tenant, &members.items, token),
        more = next_link(&tenant_path(app, tenant), members.next_cursor.as_ref()),
        form = assign_form(app, tenant, token, refused.as_ref().map(|r| r.form)),
    );
    let status = refused.map_or(StatusCode::OK, |r| status_of(r.problem));
    view.respond(status, &format!("Tenant {}", tenant.as_str()), &content)
}

pub async fn tenant_page(
    request: HttpRequest,
    state: web::Data<PortalState>,
    path: web::Path<(String, String)>,
    query: web::Query<After>,
) -> HttpResponse {
    let (slug, tenant) = path.into_inner();
    let Ok(tenant) = TenantSlug::parse(&tenant) else {
        return not_found_page();
    };
    match AppPage::open(&request, &state, &slug).await {
        Ok(view) => render_tenant(&view, &tenant, query.given(), None).await,
        Err(response) => response,
    }
}

/// A user as the assign form names them: a user id, an email address or a phone number.
fn user_ref(raw: &str) -> Result<UserRef, AuthError> {
    let raw = raw.trim();
    if raw.starts_with(UserId::PREFIX) {
        UserId::parse(raw)
            .map(UserRef::Id)
            .map_err(|e| AuthError::invalid_field("user_id", e.0))
    } else {
        parse_identifier(raw).map(UserRef::Identifier)
    }
}

fn role_target(tenant: &TenantSlug, user: &str, role: &str) -> Result<RoleTarget, AuthError> {
    let user = user_ref(user)?;
    let role = RoleName::parse(role.trim()).map_err(|e| AuthError::invalid_field("role", e.0))?;
    Ok(RoleTarget {
        tenant: tenant.clone(),
        role,
        user,
    })
}

pub async fn assign_role(
    request: HttpRequest,
    state: web::Data<PortalState>,
    path: web::Path<(String, String)>,
    form: web::Form<RoleForm>,
) -> HttpResponse {
    change_role(&request, &state, path.into_inner(), form.into_inner(), true).await
}

pub async fn revoke_role(
    request: HttpRequest,
    state: web::Data<PortalState>,
    path: web::Path<(String, String)>,
    form: web::Form<RoleForm>,
) -> HttpResponse {
    change_role(
        &request,
        &state,
        path.into_inner(),
        form.into_inner(),
        false,
    )
    .await
}

/// Gives (`assign`) or takes the form's role, then shows the tenant again.
async fn change_role(
    request: &HttpRequest,
    state: &PortalState,
    (slug, tenant): (String, String),
    form: RoleForm,
    assign: bool,
) -> HttpResponse {
    if !genuine(request, state, &form.csrf) {
        return forged();
    }
    let Ok(tenant) = TenantSlug::parse(&tenant) else {
        return not_found_page();
    };
    let (developer, app) = match own_app(request, state, &slug).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let changed = match role_target(&tenant, &form.user, &form.role) {
        Ok(target) => {
            let developer_id = &developer.user.id;
            state
                .service
                .developer_change_role(developer_id, &slug, target, assign, &caller(request))
                .await
        }
        Err(problem) => Err(problem),
    };
    match changed {
        Ok(_) => redirect(&tenant_path(&app, &tenant), &developer.set_cookies),
        Err(AuthError::TenantNotFound) => not_found_page(),
        Err(problem) => {
            let view = AppPage::posted(state, developer, app, &form.csrf);
            // A refused assignment is shown as typed; a refused button leaves the form empty.
            let typed = if assign {
                form
            } else {
                RoleForm {
                    csrf: form.csrf,
                    ..RoleForm::default()
                }
            };
            let refused = Refused {
                problem: &problem,
                form: &typed,
            };
            render_tenant(&view, &tenant, None, Some(refused)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_user_field_takes_an_id_an_email_or_a_phone() {
        let id = UserId::from_random(&[7; auth_domain::ids::RANDOM_ID_BYTES]);

        let by_id = user_ref(&format!(" {} ", id.as_str())).unwrap();
        let by_email = user_ref("ada@example.com").unwrap();
        let by_phone = user_ref("+919876543210").unwrap();
        let bad_id = user_ref("usr_!!").unwrap_err();
        let bad_phone = user_ref("12345").unwrap_err();

        assert_eq!(by_id, UserRef::Id(id));
        assert!(matches!(
            by_email,
            UserRef::Identifier(auth_domain::Identifier::Email(_))
        ));
        assert!(matches!(
            by_phone,
            UserRef::Identifier(auth_domain::Identifier::Phone(_))
        ));
        assert!(error(&bad_id).contains("user_id:"), "{}", error(&bad_id));
        assert!(
            error(&bad_phone).contains("phone:"),
            "{}",
            error(&bad_phone)
        );
    }

    #[test]
    fn a_role_name_is_checked_before_the_engine_is_asked() {
        let tenant = TenantSlug::parse("springfield").unwrap();

        let refused = role_target(&tenant, "ada@example.com", "Teacher").unwrap_err();

        assert!(error(&refused).contains("role:"), "{}", error(&refused));
    }
}
