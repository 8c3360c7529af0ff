//! An app's sandbox page: whether the app may send codes to anyone yet, what approval means, and
//! the test identifiers it may send to meanwhile.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use auth_domain::app::MAX_TEST_IDENTIFIERS;
use auth_domain::{App, Identifier};
use auth_usecases::AuthError;
use serde::Deserialize;

use crate::PortalState;
use crate::access::{AppPage, own_app_posted};
use crate::html::{csrf_field, error, esc};
use crate::responses::{redirect, status_of};
use crate::session::caller;
use crate::sign_in::parse_identifier;

/// What the sandbox means.
fn state_notice(app: &App) -> String {
    let slug = esc(app.slug.as_str());
    if app.sandboxed {
        format!(
            r#"<p class="notice" id="sandbox-state"><strong>In the sandbox.</strong> Codes go only to your own sign-in address and to <a href="/portal/apps/{slug}/sandbox">up to {MAX_TEST_IDENTIFIERS} test identifiers</a>; sending to anyone else answers <code>403 app_in_sandbox</code>. Once the engine's operator approves the app, it may send codes to anyone.</p>"#
        )
    } else {
        r#"<p class="notice" id="sandbox-state"><strong>Approved.</strong> The engine's operator has approved this app: it may send codes to anyone.</p>"#.to_owned()
    }
}

/// The app's sandbox state and, while it is sandboxed, its test identifiers with the forms that add
/// and remove them: on the app's page and on the sandbox page alike.
pub fn section(
    app: &App,
    identifiers: &[Identifier],
    token: &str,
    problem: Option<&AuthError>,
) -> String {
    if !app.sandboxed {
        return state_notice(app);
    }
    let slug = esc(app.slug.as_str());
    let rows: String = identifiers
        .iter()
        .map(|identifier| {
            format!(
                r#"<li><code>{value}</code> <form method="post" action="/portal/apps/{slug}/sandbox/remove" class="inline">{csrf}<input type="hidden" name="identifier" value="{value}"><button type="submit" class="link">Remove</button></form></li>"#,
                value = esc(identifier.as_str()),
                csrf = csrf_field(token),
            )
        })
        .collect();
    let list = if rows.is_empty() {
        "<p>No test identifiers yet.</p>".to_owned()
    } else {
        format!(r#"<ul id="test-identifiers">{rows}</ul>"#)
    };
    format!(
        r#"{state}<h2>Test identifiers ({count} of {MAX_TEST_IDENTIFIERS})</h2>
{list}
{problem}<form method="post" action="/portal/apps/{slug}/sandbox" class="stack">
{csrf}
<label for="identifier">Phone number (E.164, e.g. +919876543210) or email address</label>
<input id="identifier" name="identifier" required maxlength="254">
<button type="submit">Add test identifier</button>
</form>"#,
        state = state_notice(app),
        count = identifiers.len(),
        problem = problem.map(error).unwrap_or_default(),
        csrf = csrf_field(token),
    )
}

pub async fn sandbox_page(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
) -> HttpResponse {
    let view = match AppPage::open(&request, &state, &slug).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    let identifiers = state
        .service
        .developer_test_identifiers(&view.developer.user.id, view.app.slug.as_str())
        .await;
    match identifiers {
        Ok(identifiers) => view.respond(
            StatusCode::OK,
            "Sandbox",
            &section(&view.app, &identifiers, &view.token, None),
        ),
        Err(problem) => view.respond(status_of(&problem), "Sandbox", &error(&problem)),
    }
}

#[derive(Debug, Deserialize)]
pub struct IdentifierForm {
    csrf: String,
    identifier: String,
}

/// Whether a form adds or removes its identifier.
#[derive(Debug, Clone, Copy)]
enum Change {
    Add,
    Remove,
}

async fn change(
    request: &HttpRequest,
    state: &PortalState,
    slug: &str,
    form: &IdentifierForm,
    change: Change,
) -> HttpResponse {
    let owned = own_app_posted(request, state, slug, &form.csrf).await;
    let (developer, app) = match owned {
        Ok(found) => found,
        Err(response) => return response,
    };
    let service = &state.service;
    let who = &developer.user.id;
    let caller = caller(request);
    let changed = match parse_identifier(&form.identifier) {
        Ok(identifier) => match change {
            Change::Add => {
                service
                    .add_developer_test_identifier(who, slug, &identifier, &caller)
                    .await
            }
            Change::Remove => {
                service
                    .remove_developer_test_identifier(who, slug, &identifier, &caller)
                    .await
            }
        },
        Err(problem) => Err(problem),
    };
    match changed {
        Ok(()) => redirect(
            &format!("/portal/apps/{}/sandbox", app.slug.as_str()),
            &developer.set_cookies,
        ),
        Err(problem) => {
            let identifiers = service
                .developer_test_identifiers(who, slug)
                .await
                .unwrap_or_default();
            let content = section(&app, &identifiers, &form.csrf, Some(&problem));
            AppPage::posted(state, developer, app, &form.csrf).respond(
                status_of(&problem),
                "Sandbox",
                &content,
            )
        }
    }
}

pub async fn add_test_identifier(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
    form: web::Form<IdentifierForm>,
) -> HttpResponse {
    change(&request, &state, &slug, &form, Change::Add).await
}

pub async fn remove_test_identifier(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
    form: web::Form<IdentifierForm>,
) -> HttpResponse {
    change(&request, &state, &slug, &form, Change::Remove).await
}
