//! An app's license keys in the portal: generate (the key shown once), suspend, reinstate, revoke.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use auth_domain::App;
use auth_domain::ids::LicenseId;
use auth_domain::license::{License, LicenseAction, LicenseStatus, MAX_ACTIVATIONS};
use auth_usecases::{AuthError, LicenseTerms};
use serde::Deserialize;

use crate::PortalState;
use crate::access::{AppPage, own_app_posted};
use crate::html::{csrf_field, error, esc, when};
use crate::responses::{failure, redirect, status_of};
use crate::session::caller;

/// Licenses a page lists.
const PAGE_SIZE: u32 = 50;
/// The longest product name.
const MAX_PRODUCT_CHARS: usize = 100;

fn status_buttons(app: &App, license: &License, token: &str) -> String {
    let actions: &[(&str, &str)] = match license.status {
        LicenseStatus::Active => &[("suspend", "Suspend"), ("revoke", "Revoke")],
        LicenseStatus::Suspended => &[("reinstate", "Reinstate"), ("revoke", "Revoke")],
        LicenseStatus::Revoked => &[],
    };
    actions
        .iter()
        .map(|(action, label)| {
            format!(
                r#"<form method="post" action="/portal/apps/{slug}/licenses/{id}/{action}" class="inline">{csrf}<button type="submit" aria-label="{label} {id}">{label}</button></form>"#,
                slug = esc(app.slug.as_str()),
                id = esc(license.id.as_str()),
                csrf = csrf_field(token),
            )
        })
        .collect()
}

fn listing(app: &App, licenses: &[License], token: &str) -> String {
    if licenses.is_empty() {
        return "<p>No licenses yet.</p>".to_owned();
    }
    let rows: String = licenses
        .iter()
        .map(|license| {
            format!(
                r#"<tr><td><code>{id}</code></td><td>{product}</td><td>{seats} / {max}</td><td>{status}</td><td>{expires}</td><td>{buttons}</td></tr>"#,
                id = esc(license.id.as_str()),
                product = esc(license.product.as_deref().unwrap_or("")),
                seats = license.active_seats,
                max = license.max_activations,
                status = license.status.as_str(),
                expires = license.expires_at.map(when).map(|at| esc(&at)).unwrap_or_else(|| "never".to_owned()),
                buttons = status_buttons(app, license, token),
            )
        })
        .collect();
    format!(
        r#"<div class="scroll"><table id="licenses"><thead><tr><th scope="col">id</th><th scope="col">Product</th><th scope="col">Seats</th><th scope="col">Status</th><th scope="col">Expires</th><th scope="col">Change</th></tr></thead><tbody>{rows}</tbody></table></div>"#
    )
}

fn generate_form(app: &App, token: &str) -> String {
    format!(
        r#"<h2>Generate a license</h2>
<form method="post" action="/portal/apps/{slug}/licenses" class="stack">
{csrf}
<label for="product">Product (optional)</label>
<input id="product" name="product" maxlength="{MAX_PRODUCT_CHARS}">
<label for="max_activations">Devices it may be activated on (1 to {MAX_ACTIVATIONS})</label>
<input id="max_activations" name="max_activations" type="number" min="1" max="{MAX_ACTIVATIONS}" value="1" required>
<button type="submit">Generate license</button>
</form>"#,
        slug = esc(app.slug.as_str()),
        csrf = csrf_field(token),
    )
}

/// The licenses page, with `notice` (already HTML) above the list.
async fn render(view: &AppPage<'_>, notice: &str, status: StatusCode) -> HttpResponse {
    let (app, token) = (&view.app, view.token.as_str());
    let licenses = match view
        .state
        .service
        .developer_licenses(&view.developer.user.id, app.slug.as_str(), None, PAGE_SIZE)
        .await
    {
        Ok(page) => page.items,
        Err(error) => return failure(&error),
    };
    let content = format!(
        r#"{notice}<p><a href="/portal/apps/{slug}">Back to the app</a></p>{list}{form}"#,
        slug = esc(app.slug.as_str()),
        list = listing(app, &licenses, token),
        form = generate_form(app, token),
    );
    view.respond(status, "Licenses", &content)
}

pub async fn licenses_page(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
) -> HttpResponse {
    match AppPage::open(&request, &state, &slug).await {
        Ok(view) => render(&view, "", StatusCode::OK).await,
        Err(response) => response,
    }
}

#[derive(Debug, Deserialize)]
pub struct GenerateForm {
    csrf: String,
    product: String,
    max_activations: String,
}

pub async fn generate(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
    form: web::Form<GenerateForm>,
) -> HttpResponse {
    let owned = own_app_posted(&request, &state, &slug, &form.csrf).await;
    let (developer, app) = match owned {
        Ok(found) => found,
        Err(response) => return response,
    };
    let product = form.product.trim();
    let max_activations = form
        .max_activations
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|max| (1..=MAX_ACTIVATIONS).contains(max));
    let terms = match max_activations {
        _ if product.chars().count() > MAX_PRODUCT_CHARS => Err(AuthError::invalid_field(
            "product",
            format!("must be at most {MAX_PRODUCT_CHARS} characters"),
        )),
        Some(max_activations) => Ok(LicenseTerms {
            product: (!product.is_empty()).then(|| product.to_owned()),
            max_activations,
            metadata: serde_json::json!({}),
            ..LicenseTerms::default()
        }),
        None => Err(AuthError::invalid_field(
            "max_activations",
            format!("must be a whole number from 1 to {MAX_ACTIVATIONS}"),
        )),
    };
    let generated = match terms {
        Ok(terms) => {
            state
                .service
                .developer_generate_license(
                    &developer.user.id,
                    app.slug.as_str(),
                    terms,
                    &caller(&request),
                )
                .await
        }
        Err(problem) => Err(problem),
    };
    let (notice, status) = match generated {
        Ok((license, key)) => (
            format!(
                r#"<p class="warning" role="alert"><strong>Copy the key now: this key will not be shown again.</strong> Only its hash is stored.</p>
<div class="credential"><label for="license-key">License key for <code>{id}</code></label><div class="copyable"><input id="license-key" readonly value="{key}"><button type="button" data-copy="license-key">Copy</button></div></div>"#,
                id = esc(license.id.as_str()),
                key = esc(key.reveal()),
            ),
            StatusCode::CREATED,
        ),
        Err(problem) => (error(&problem), status_of(&problem)),
    };
    let view = AppPage::posted(&state, developer, app, &form.csrf);
    render(&view, &notice, status).await
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    csrf: String,
}

pub async fn change_status(
    request: HttpRequest,
    state: web::Data<PortalState>,
    path: web::Path<(String, String, String)>,
    form: web::Form<StatusForm>,
) -> HttpResponse {
    let (slug, id, action) = path.into_inner();
    let owned = own_app_posted(&request, &state, &slug, &form.csrf).await;
    let (developer, app) = match owned {
        Ok(found) => found,
        Err(response) => return response,
    };
    let action = match action.as_str() {
        "suspend" => LicenseAction::Suspend,
        "reinstate" => LicenseAction::Reinstate,
        "revoke" => LicenseAction::Revoke,
        _ => return crate::responses::not_found_page(),
    };
    let changed = match LicenseId::parse(&id) {
        Ok(id) => {
            state
                .service
                .developer_change_license(
                    &developer.user.id,
                    app.slug.as_str(),
                    id,
                    action,
                    &caller(&request),
                )
                .await
        }
        Err(_) => Err(AuthError::LicenseNotFound),
    };
    match changed {
        Ok(_) => redirect(
            &format!("/portal/apps/{}/licenses", app.slug.as_str()),
            &developer.set_cookies,
        ),
        Err(problem) => {
            let view = AppPage::posted(&state, developer, app, &form.csrf);
            render(&view, &error(&problem), status_of(&problem)).await
        }
    }
}
