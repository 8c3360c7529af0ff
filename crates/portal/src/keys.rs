//! An app's signing keys in the portal: the list, rotating on a schedule, and withdrawing every
//! earlier key at once after a leak, behind a confirmation step.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use auth_domain::{App, SigningKey};
use auth_usecases::AuthError;

use crate::PortalState;
use crate::access::{AppPage, CsrfOnly, own_app_posted};
use crate::html::{csrf_field, esc, when};
use crate::responses::{failure, not_found_page, redirect};
use crate::session::caller;

/// The keys table and the forms that rotate and withdraw them, on the app's page.
pub(crate) fn section(app: &App, keys: &[(SigningKey, bool)], token: &str) -> String {
    let rows: String = keys
        .iter()
        .map(|(key, published)| {
            let state = match (key.retired_at, key.withdrawn_at, published) {
                (_, Some(at), _) => {
                    format!(
                        "withdrawn {}; out of the JWKS, its tokens refused",
                        when(at)
                    )
                }
                (None, None, _) => "signs new tokens".to_owned(),
                (Some(at), None, true) => {
                    format!("replaced {}; in the JWKS until its tokens expire", when(at))
                }
                (Some(at), None, false) => format!("replaced {}; no longer published", when(at)),
            };
            format!(
                r#"<tr><td><code>{kid}</code></td><td>{created}</td><td>{state}</td></tr>"#,
                kid = esc(&key.kid),
                created = esc(&when(key.created_at)),
                state = esc(&state),
            )
        })
        .collect();
    format!(
        r#"<h2>Signing keys</h2>
<div class="scroll"><table id="keys"><thead><tr><th scope="col">kid</th><th scope="col">Created</th><th scope="col">State</th></tr></thead><tbody>{rows}</tbody></table></div>
<form method="post" action="/portal/apps/{slug}/key" class="stack">
{csrf}
<p class="hint">A new key signs every token from now on. The old key stays in the JWKS until the tokens it signed have expired, so nothing breaks.</p>
<button type="submit">Rotate signing key</button>
</form>
<p class="hint">A key leaked? <a class="button" id="withdraw-keys" href="/portal/apps/{slug}/key/withdraw">Withdraw earlier keys…</a></p>"#,
        slug = esc(app.slug.as_str()),
        csrf = csrf_field(token),
    )
}

pub(crate) async fn rotate_key(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> HttpResponse {
    rotate(&request, &state, &slug, &form.csrf, false).await
}

/// The confirmation step: what withdrawing does, and the form that does it.
pub(crate) async fn withdraw_page(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
) -> HttpResponse {
    let page = match AppPage::open(&request, &state, &slug).await {
        Ok(page) => page,
        Err(response) => return response,
    };
    let content = format!(
        r#"<h1>Withdraw earlier signing keys</h1>
<p class="warning" role="alert"><strong>Only do this if a key has leaked.</strong> A new key signs every token from now on, and every earlier key leaves the JWKS <em>now</em>: access tokens and licence tokens they signed are refused at once, by <code>/auth/me</code> and by every verifier once it refetches the JWKS. Signed-in users keep their sessions: their apps refresh to get tokens signed with the new key. Devices must activate again to get new licence tokens.</p>
<form method="post" action="/portal/apps/{slug}/key/withdraw" class="stack">
{csrf}
<button type="submit" id="confirm-withdraw">Withdraw earlier keys now</button>
</form>
<p><a href="/portal/apps/{slug}">Cancel</a></p>"#,
        slug = esc(page.app.slug.as_str()),
        csrf = csrf_field(&page.token),
    );
    page.respond(StatusCode::OK, "Withdraw keys", &content)
}

pub(crate) async fn withdraw_keys(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> HttpResponse {
    rotate(&request, &state, &slug, &form.csrf, true).await
}

/// Rotates the key of the developer's app `slug`, withdrawing the earlier ones if asked, and goes
/// back to the app's page.
async fn rotate(
    request: &HttpRequest,
    state: &PortalState,
    slug: &str,
    csrf: &str,
    withdraw_previous: bool,
) -> HttpResponse {
    let (developer, app) = match own_app_posted(request, state, slug, csrf).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let rotated = state
        .service
        .rotate_developer_signing_key(
            &developer.user.id,
            app.slug.as_str(),
            withdraw_previous,
            &caller(request),
        )
        .await;
    match rotated {
        Ok(_) => redirect(&format!("/portal/apps/{slug}"), &developer.set_cookies),
        Err(AuthError::InvalidRequest(_)) => not_found_page(),
        Err(error) => failure(&error),
    }
}
