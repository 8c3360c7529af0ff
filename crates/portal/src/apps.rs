//! The developer's apps: the list, creating one and copying its credentials once, an app's
//! details, and rotating its secret (its keys are in [`crate::keys`]).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use auth_domain::App;
use auth_usecases::{AuthError, CreatedApp};
use serde::Deserialize;

use crate::PortalState;
use crate::access::{genuine, own_app, own_app_posted, page_token, signed_in};
use crate::html::{SignedIn, csrf_field, error, esc, page, when};
use crate::responses::{failure, forged, respond, status_of};
use crate::session::caller;

pub(crate) async fn apps_page(request: HttpRequest, state: web::Data<PortalState>) -> HttpResponse {
    let developer = match signed_in(&request, &state).await {
        Ok(developer) => developer,
        Err(response) => return response,
    };
    let apps = match state.service.developer_apps(&developer.user.id).await {
        Ok(apps) => apps,
        Err(error) => return failure(&error),
    };
    let (token, set) = page_token(&request, &state, &developer);
    let rows: String = apps
        .iter()
        .map(|app| {
            format!(
                r#"<tr><td><a href="/portal/apps/{slug}">{name}</a>{disabled}</td><td><code>{slug}</code></td><td><code>{id}</code></td><td>{created}</td></tr>"#,
                slug = esc(app.slug.as_str()),
                name = esc(&app.name),
                disabled = if app.disabled { " (disabled)" } else { "" },
                id = esc(app.id.as_str()),
                created = esc(&when(app.created_at)),
            )
        })
        .collect();
    let list = if apps.is_empty() {
        "<p>You have no apps yet.</p>".to_owned()
    } else {
        format!(
            r#"<div class="scroll"><table><thead><tr><th scope="col">Name</th><th scope="col">Slug</th><th scope="col">APP_ID</th><th scope="col">Created</th></tr></thead><tbody>{rows}</tbody></table></div>"#
        )
    };
    let who = SignedIn {
        label: developer.label(),
        csrf: &token,
    };
    let body = page(
        "My apps",
        Some(&who),
        &format!(r#"<p><a class="button" href="/portal/apps/new">Create App</a></p>{list}"#),
    );
    respond(StatusCode::OK, body, &set)
}

fn new_app_form(token: &str, name: &str, slug: &str, problem: Option<&AuthError>) -> String {
    format!(
        r#"{problem}<form method="post" action="/portal/apps" class="stack">
{csrf}
<label for="name">Name</label>
<input id="name" name="name" required maxlength="60" value="{name}">
<label for="slug">Slug <span class="hint">(in tokens as <code>aud</code>; cannot change later)</span></label>
<input id="slug" name="slug" required minlength="2" maxlength="63" pattern="[a-z0-9][a-z0-9\-]{{1,62}}" aria-describedby="slug-rule" value="{slug}" data-slug-for="name">
<p id="slug-rule" class="hint" aria-live="polite">2 to 63 lowercase letters, digits or dashes, not starting with a dash.</p>
<button type="submit">Create App</button>
</form>"#,
        problem = problem.map(error).unwrap_or_default(),
        csrf = csrf_field(token),
        name = esc(name),
        slug = esc(slug),
    )
}

pub(crate) async fn new_app_page(
    request: HttpRequest,
    state: web::Data<PortalState>,
) -> HttpResponse {
    let developer = match signed_in(&request, &state).await {
        Ok(developer) => developer,
        Err(response) => return response,
    };
    let (token, set) = page_token(&request, &state, &developer);
    let who = SignedIn {
        label: developer.label(),
        csrf: &token,
    };
    let body = page(
        "Create App",
        Some(&who),
        &new_app_form(&token, "", "", None),
    );
    respond(StatusCode::OK, body, &set)
}

#[derive(Debug, Deserialize)]
pub(crate) struct NewAppForm {
    csrf: String,
    name: String,
    slug: String,
}

/// The one page that ever shows the app secret.
fn credentials_page(created: &CreatedApp, who: &SignedIn<'_>) -> String {
    let value = |id: &str, label: &str, value: &str| {
        let field = if value.contains('\n') {
            format!(
                r#"<textarea id="{id}" readonly rows="{}">{}</textarea>"#,
                value.lines().count(),
                esc(value)
            )
        } else {
            format!(r#"<input id="{id}" readonly value="{}">"#, esc(value))
        };
        format!(
            r#"<div class="credential"><label for="{id}">{label}</label><div class="copyable">{field}<button type="button" data-copy="{id}">Copy</button></div></div>"#
        )
    };
    let env = format!(
        "APP_ID={}\nAPP_SECRET={}\nAPP_SLUG={}\nJWT_PUBLIC_KEY=\"{}\"\n",
        created.app_id.as_str(),
        created.app_secret,
        created.app_slug.as_str(),
        created.jwt_public_key.trim_end(),
    );
    page(
        "Your app's credentials",
        Some(who),
        &format!(
            r#"<p class="warning" role="alert"><strong>Copy the secret now: this secret will not be shown again.</strong> Only its hash is stored. If you lose it, rotate it.</p>
{app_id}{secret}{slug}{key}
<h2>.env</h2>
{env}
<p><a class="button" href="/portal/apps/{slug_path}">I have saved them</a></p>"#,
            app_id = value("app-id", "APP_ID", created.app_id.as_str()),
            secret = value("app-secret", "APP_SECRET", &created.app_secret),
            slug = value("app-slug", "APP_SLUG", created.app_slug.as_str()),
            key = value(
                "jwt-public-key",
                "JWT_PUBLIC_KEY",
                created.jwt_public_key.trim_end()
            ),
            env = value("env", ".env snippet", env.trim_end()),
            slug_path = esc(created.app_slug.as_str()),
        ),
    )
}

pub(crate) async fn create_app(
    request: HttpRequest,
    state: web::Data<PortalState>,
    form: web::Form<NewAppForm>,
) -> HttpResponse {
    if !genuine(&request, &state, &form.csrf) {
        return forged();
    }
    let developer = match signed_in(&request, &state).await {
        Ok(developer) => developer,
        Err(response) => return response,
    };
    let who = SignedIn {
        label: developer.label(),
        csrf: &form.csrf,
    };
    let created = state
        .service
        .create_developer_app(
            &developer.user.id,
            &form.name,
            form.slug.trim(),
            &caller(&request),
        )
        .await;
    match created {
        Ok(created) => respond(
            StatusCode::CREATED,
            credentials_page(&created, &who),
            &developer.set_cookies,
        ),
        Err(problem) => respond(
            status_of(&problem),
            page(
                "Create App",
                Some(&who),
                &new_app_form(&form.csrf, &form.name, &form.slug, Some(&problem)),
            ),
            &developer.set_cookies,
        ),
    }
}

/// The longest overlap the rotate form offers, in hours (7 days).
const MAX_OVERLAP_HOURS: i64 = 7 * 24;

fn rotate_form(app: &App, token: &str) -> String {
    format!(
        r#"<h2>Rotate the secret</h2>
<form method="post" action="/portal/apps/{slug}/secret" class="stack">
{csrf}
<label for="overlap_hours">Keep the old secret working for (hours, 0 to {MAX_OVERLAP_HOURS})</label>
<input id="overlap_hours" name="overlap_hours" type="number" min="0" max="{MAX_OVERLAP_HOURS}" step="1" value="24" required aria-describedby="overlap-hint">
<p id="overlap-hint" class="hint">Deploy the new secret within this time; after it the old one stops. 0 stops it at once.</p>
<button type="submit">Rotate secret</button>
</form>"#,
        slug = esc(app.slug.as_str()),
        csrf = csrf_field(token),
    )
}

fn app_details(app: &App) -> String {
    let disabled = if app.disabled {
        r#"<p class="warning" role="alert" id="app-disabled"><strong>This app is disabled by the engine's operator.</strong> Every call it makes answers <code>403 app_disabled</code> and its users' access tokens fail <code>/auth/me</code>, until the operator enables it again.</p>
"#
    } else {
        ""
    };
    format!(
        r#"{disabled}<dl>
<dt>Name</dt><dd>{name}</dd>
<dt>APP_SLUG</dt><dd><code id="app-slug">{slug}</code></dd>
<dt>APP_ID</dt><dd><code id="app-id">{id}</code></dd>
<dt>APP_SECRET</dt><dd id="app-secret">Shown once, when the app was created; only its hash is stored.</dd>
<dt>Public keys (JWKS)</dt><dd><a href="/apps/{slug}/jwks.json"><code>/apps/{slug}/jwks.json</code></a></dd>
<dt>Created</dt><dd>{created}</dd>
</dl>
<p><a class="button" href="/portal/apps/{slug}/sandbox">Sandbox</a> <a class="button" href="/portal/apps/{slug}/settings">Settings</a> <a class="button" href="/portal/apps/{slug}/tenants">Tenants and roles</a> <a class="button" href="/portal/apps/{slug}/users">Users and sessions</a> <a class="button" href="/portal/apps/{slug}/licenses">Licenses</a> <a class="button" href="/portal/apps/{slug}/audit">Audit log</a></p>"#,
        name = esc(&app.name),
        slug = esc(app.slug.as_str()),
        id = esc(app.id.as_str()),
        created = esc(&when(app.created_at)),
    )
}

pub(crate) async fn app_page(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
) -> HttpResponse {
    let (developer, app) = match own_app(&request, &state, &slug).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let (token, set) = page_token(&request, &state, &developer);
    let who = SignedIn {
        label: developer.label(),
        csrf: &token,
    };
    let keys = match state.service.app_keys(&app).await {
        Ok(keys) => keys,
        Err(error) => return failure(&error),
    };
    // A sandboxed app's page holds its test identifiers too: they are what it can send to.
    let identifiers = if app.sandboxed {
        match state
            .service
            .developer_test_identifiers(&developer.user.id, app.slug.as_str())
            .await
        {
            Ok(identifiers) => identifiers,
            Err(error) => return failure(&error),
        }
    } else {
        Vec::new()
    };
    let content = format!(
        "{}{}{}{}",
        app_details(&app),
        crate::sandbox::section(&app, &identifiers, &token, None),
        rotate_form(&app, &token),
        crate::keys::section(&app, &keys, &token)
    );
    respond(StatusCode::OK, page(&app.name, Some(&who), &content), &set)
}

#[derive(Debug, Deserialize)]
pub(crate) struct RotateForm {
    csrf: String,
    overlap_hours: String,
}

pub(crate) async fn rotate_secret(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
    form: web::Form<RotateForm>,
) -> HttpResponse {
    let owned = own_app_posted(&request, &state, &slug, &form.csrf).await;
    let (developer, app) = match owned {
        Ok(found) => found,
        Err(response) => return response,
    };
    let who = SignedIn {
        label: developer.label(),
        csrf: &form.csrf,
    };
    let rotated = match form.overlap_hours.trim().parse::<i64>() {
        Ok(hours) if (0..=MAX_OVERLAP_HOURS).contains(&hours) => {
            state
                .service
                .rotate_developer_app_secret(
                    &developer.user.id,
                    app.slug.as_str(),
                    time::Duration::hours(hours),
                    &caller(&request),
                )
                .await
        }
        _ => Err(AuthError::invalid_field(
            "overlap_hours",
            format!("must be a whole number of hours from 0 to {MAX_OVERLAP_HOURS}"),
        )),
    };
    match rotated {
        Ok(rotated) => {
            let old = rotated.old_valid_until.map_or_else(
                || "The old secret has stopped working.".to_owned(),
                |until| format!("The old secret keeps working until {}.", when(until)),
            );
            let content = format!(
                r#"<p class="warning" role="alert"><strong>Copy the new secret now: this secret will not be shown again.</strong> {old}</p>
<div class="credential"><label for="app-secret">APP_SECRET</label><div class="copyable"><input id="app-secret" readonly value="{secret}"><button type="button" data-copy="app-secret">Copy</button></div></div>
<p><a class="button" href="/portal/apps/{slug}">I have saved it</a></p>"#,
                old = esc(&old),
                secret = esc(&rotated.app_secret),
                slug = esc(app.slug.as_str()),
            );
            respond(
                StatusCode::OK,
                page("Your app's new secret", Some(&who), &content),
                &developer.set_cookies,
            )
        }
        Err(problem) => {
            let content = format!(
                "{}{}{}",
                error(&problem),
                app_details(&app),
                rotate_form(&app, &form.csrf)
            );
            respond(
                status_of(&problem),
                page(&app.name, Some(&who), &content),
                &developer.set_cookies,
            )
        }
    }
}
