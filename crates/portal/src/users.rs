//! An app's users and their sessions: who has signed in, their roles, and ending their sessions.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use auth_domain::ids::{SessionId, UserId};
use auth_domain::session::Session;
use auth_domain::{App, Membership, User};
use auth_ports::UserSessions;
use auth_usecases::{AuthError, MAX_PAGE_SIZE, MembershipQuery, SESSIONS_SHOWN};
use serde::Deserialize;

use crate::PortalState;
use crate::access::{AppPage, genuine, own_app};
use crate::html::{csrf_field, error, esc, when};
use crate::responses::{failure, forged, not_found_page, redirect, status_of};
use crate::session::caller;
use crate::sign_in::parse_identifier;

/// Users a page lists.
const PAGE_SIZE: u32 = 50;

/// The users page's search and where its listing starts.
#[derive(Debug, Default, Deserialize)]
pub struct UsersQuery {
    q: Option<String>,
    after: Option<String>,
}

fn given(value: Option<&String>) -> Option<&str> {
    value.map(|v| v.trim()).filter(|v| !v.is_empty())
}

fn contact(user: &User) -> (String, String) {
    let phone = user.phone.as_ref().map_or("", |p| p.as_str());
    let email = user.email.as_ref().map_or("", |e| e.as_str());
    (esc(phone), esc(email))
}

fn user_rows(app: &App, users: &[UserSessions]) -> String {
    if users.is_empty() {
        return "<p>No users match.</p>".to_owned();
    }
    let rows: String = users
        .iter()
        .map(|found| {
            let (phone, email) = contact(&found.user);
            format!(
                r#"<tr><td><a href="/portal/apps/{app}/users/{id}"><code>{id}</code></a></td><td>{phone}</td><td>{email}</td><td>{since}</td><td>{live}</td></tr>"#,
                app = esc(app.slug.as_str()),
                id = esc(found.user.id.as_str()),
                since = esc(&when(found.user.created_at)),
                live = found.live_sessions,
            )
        })
        .collect();
    format!(
        r#"<div class="scroll"><table id="users"><thead><tr><th scope="col">User</th><th scope="col">Phone</th><th scope="col">Email</th><th scope="col">Created</th><th scope="col">Live sessions</th></tr></thead><tbody>{rows}</tbody></table></div>"#
    )
}

fn search_form(app: &App, q: &str) -> String {
    format!(
        r#"<form method="get" action="/portal/apps/{app}/users" class="filters">
<label for="q">Find by email address or phone number</label>
<input id="q" name="q" maxlength="254" value="{q}">
<button type="submit">Find</button> <a href="/portal/apps/{app}/users">Everyone</a>
</form>"#,
        app = esc(app.slug.as_str()),
        q = esc(q),
    )
}

pub async fn users_page(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
    query: web::Query<UsersQuery>,
) -> HttpResponse {
    let view = match AppPage::open(&request, &state, &slug).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    let (app, developer) = (&view.app, &view.developer);
    let q = given(query.q.as_ref());
    let search = |problem: &AuthError| {
        let content = format!("{}{}", error(problem), search_form(app, q.unwrap_or("")));
        view.respond(status_of(problem), "Users", &content)
    };
    let identifier = match q.map(parse_identifier).transpose() {
        Ok(identifier) => identifier,
        Err(problem) => return search(&problem),
    };
    let after = match given(query.after.as_ref()).map(UserId::parse).transpose() {
        Ok(after) => after,
        Err(_) => {
            return search(&AuthError::invalid_field(
                "after",
                "is not a page this list gave",
            ));
        }
    };
    let listed = state
        .service
        .developer_users(&developer.user.id, &slug, identifier, after, PAGE_SIZE)
        .await;
    let users = match listed {
        Ok(users) => users,
        Err(problem) => return failure(&problem),
    };
    let more = users
        .next_cursor
        .as_deref()
        .map_or_else(String::new, |cursor| {
            format!(
                r#"<p><a class="button" href="/portal/apps/{}/users?after={}">Next page</a></p>"#,
                esc(app.slug.as_str()),
                esc(cursor)
            )
        });
    let content = format!(
        r#"<p>Everyone who has signed in to this app, or been given a role, in id order. <a href="/portal/apps/{app}">Back to the app</a></p>{form}{list}{more}"#,
        app = esc(app.slug.as_str()),
        form = search_form(app, q.unwrap_or("")),
        list = user_rows(app, &users.items),
    );
    view.respond(StatusCode::OK, "Users", &content)
}

/// A session's state for the table.
fn session_state(session: &Session, live: bool) -> String {
    match session.revoked_at {
        Some(at) => format!("ended {}", esc(&when(at))),
        None if live => "live".to_owned(),
        None => "expired".to_owned(),
    }
}

fn revoke_button(app: &App, user: &User, session: Option<&SessionId>, token: &str) -> String {
    let (value, label, aria) = match session {
        Some(id) => (id.as_str(), "End", format!("End session {}", id.as_str())),
        None => ("", "End every session", "End every session".to_owned()),
    };
    format!(
        r#"<form method="post" action="/portal/apps/{app}/users/{user}/revoke" class="inline">{csrf}<input type="hidden" name="session" value="{value}"><button type="submit" aria-label="{aria}">{label}</button></form>"#,
        app = esc(app.slug.as_str()),
        user = esc(user.id.as_str()),
        csrf = csrf_field(token),
        value = esc(value),
        aria = esc(&aria),
    )
}

fn session_rows(app: &App, user: &User, sessions: &[(Session, bool)], token: &str) -> String {
    if sessions.is_empty() {
        return "<p>No sessions.</p>".to_owned();
    }
    let rows: String = sessions
        .iter()
        .map(|(session, live)| {
            format!(
                r#"<tr><td><code>{id}</code></td><td>{started}</td><td>{expires}</td><td>{state}</td><td>{button}</td></tr>"#,
                id = esc(session.id.as_str()),
                started = esc(&when(session.created_at)),
                expires = esc(&when(session.expires_at)),
                state = session_state(session, *live),
                button = if *live {
                    revoke_button(app, user, Some(&session.id), token)
                } else {
                    String::new()
                },
            )
        })
        .collect();
    let all = if sessions.iter().any(|(_, live)| *live) {
        format!("<p>{}</p>", revoke_button(app, user, None, token))
    } else {
        String::new()
    };
    format!(
        r#"<div class="scroll"><table id="sessions"><thead><tr><th scope="col">Session</th><th scope="col">Started</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col">End</th></tr></thead><tbody>{rows}</tbody></table></div>{all}"#
    )
}

fn role_list(app: &App, memberships: &[Membership]) -> String {
    if memberships.is_empty() {
        return "<p>No roles in any tenant.</p>".to_owned();
    }
    let items: String = memberships
        .iter()
        .map(|membership| {
            format!(
                r#"<li><a href="/portal/apps/{app}/tenants/{tenant}"><code>{tenant}</code></a>: {roles}</li>"#,
                app = esc(app.slug.as_str()),
                tenant = esc(membership.tenant.as_str()),
                roles = esc(&membership.roles.join(", ")),
            )
        })
        .collect();
    format!(r#"<ul id="roles">{items}</ul>"#)
}

async fn render_user(view: &AppPage<'_>, user_id: &UserId, notice: &str) -> HttpResponse {
    let (service, developer, app) = (&view.state.service, &view.developer.user.id, &view.app);
    let slug = app.slug.as_str();
    let (user, sessions) = match service.developer_user(developer, slug, user_id).await {
        Ok(found) => found,
        Err(AuthError::UserNotFound) => return not_found_page(),
        Err(problem) => return failure(&problem),
    };
    let query = MembershipQuery::User {
        user_id: user.id.clone(),
        after: None,
    };
    let memberships = match service
        .developer_memberships(developer, slug, query, MAX_PAGE_SIZE)
        .await
    {
        Ok(page) => page.items,
        Err(problem) => return failure(&problem),
    };
    let (phone, email) = contact(&user);
    let content = format!(
        r#"{notice}<p><a href="/portal/apps/{app}/users">All users</a></p>
<dl>
<dt>User id</dt><dd><code id="user-id">{id}</code></dd>
<dt>Phone</dt><dd>{phone}</dd>
<dt>Email</dt><dd>{email}</dd>
<dt>Created</dt><dd>{since}</dd>
</dl>
<h2>Roles</h2>{roles}
<h2>Sessions</h2>
<p>The newest {SESSIONS_SHOWN}. Ending a session stops its refresh token at once; its access token is refused by <code>/auth/me</code> and lapses within its lifetime.</p>
{sessions}"#,
        app = esc(slug),
        id = esc(user.id.as_str()),
        since = esc(&when(user.created_at)),
        roles = role_list(app, &memberships),
        sessions = session_rows(app, &user, &sessions, &view.token),
    );
    view.respond(StatusCode::OK, "User", &content)
}

pub async fn user_page(
    request: HttpRequest,
    state: web::Data<PortalState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (slug, user_id) = path.into_inner();
    let Ok(user_id) = UserId::parse(&user_id) else {
        return not_found_page();
    };
    match AppPage::open(&request, &state, &slug).await {
        Ok(view) => render_user(&view, &user_id, "").await,
        Err(response) => response,
    }
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    csrf: String,
    /// Empty: every session of the user.
    #[serde(default)]
    session: String,
}

pub async fn revoke_sessions(
    request: HttpRequest,
    state: web::Data<PortalState>,
    path: web::Path<(String, String)>,
    form: web::Form<RevokeForm>,
) -> HttpResponse {
    if !genuine(&request, &state, &form.csrf) {
        return forged();
    }
    let (slug, user_id) = path.into_inner();
    let Ok(user_id) = UserId::parse(&user_id) else {
        return not_found_page();
    };
    let (developer, app) = match own_app(&request, &state, &slug).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let session = match form.session.trim() {
        "" => Ok(None),
        id => SessionId::parse(id)
            .map(Some)
            .map_err(|e| AuthError::invalid_field("session", e.0)),
    };
    let revoked = match session {
        Ok(session) => {
            state
                .service
                .developer_revoke_sessions(
                    &developer.user.id,
                    &slug,
                    &user_id,
                    session,
                    &caller(&request),
                )
                .await
        }
        Err(problem) => Err(problem),
    };
    let path = format!(
        "/portal/apps/{}/users/{}",
        app.slug.as_str(),
        user_id.as_str()
    );
    match revoked {
        Ok(_) => redirect(&path, &developer.set_cookies),
        Err(problem) => {
            let view = AppPage::posted(&state, developer, app, &form.csrf);
            render_user(&view, &user_id, &error(&problem)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_domain::ids::{AppId, RANDOM_ID_BYTES};
    use time::OffsetDateTime;
    use time::macros::datetime;

    fn session(revoked_at: Option<OffsetDateTime>) -> Session {
        Session {
            id: SessionId::from_random(&[1; RANDOM_ID_BYTES]),
            app_id: AppId::from_random(&[2; RANDOM_ID_BYTES]),
            user_id: UserId::from_random(&[3; RANDOM_ID_BYTES]),
            created_at: datetime!(2026-11-30 12:00 UTC),
            expires_at: datetime!(2026-12-30 12:00 UTC),
            revoked_at,
        }
    }

    #[test]
    fn a_session_reads_as_live_ended_or_expired() {
        let ended = datetime!(2026-11-30 14:05 UTC);

        let live = session_state(&session(None), true);
        let revoked = session_state(&session(Some(ended)), false);
        let expired = session_state(&session(None), false);

        assert_eq!(live, "live");
        assert_eq!(revoked, "ended 2026-11-30T14:05:00Z");
        assert_eq!(expired, "expired");
    }
}
