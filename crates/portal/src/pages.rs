//! The portal's pages: sign in with a code, my apps, create an app and copy its credentials once,
//! and an app's details.

use actix_web::http::{Method, StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, Route, web};
use auth_domain::ids::OtpId;
use auth_domain::otp::OtpCode;
use auth_domain::{App, Email, Identifier, Phone, SigningKey};
use auth_usecases::{AuthError, CreatedApp, LogoutRequest, SendOtp, VerifyOtpRequest};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;

use crate::html::{SignedIn, csrf_field, error, esc, page};
use crate::session::{Developer, caller, developer, grant_cookies};
use crate::{PortalState, cookies, csrf};

/// How long a browser keeps its anti-forgery secret.
const CSRF_COOKIE_SECS: i64 = 12 * 3600;

/// The methods the portal's pages answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
}

/// One of the portal's pages or forms, under `/portal`.
#[derive(Debug)]
pub struct Page {
    pub verb: Verb,
    pub path: &'static str,
    pub summary: &'static str,
    handler: fn() -> Route,
}

const fn page_of(
    verb: Verb,
    path: &'static str,
    summary: &'static str,
    handler: fn() -> Route,
) -> Page {
    Page {
        verb,
        path,
        summary,
        handler,
    }
}

/// Every page and form: the portal is registered from this table, and the API document lists it.
pub static PAGES: &[Page] = &[
    page_of(
        Verb::Get,
        "",
        "The portal: your apps, or the sign-in page",
        || web::route().to(home),
    ),
    page_of(
        Verb::Get,
        "/",
        "The portal: your apps, or the sign-in page",
        || web::route().to(home),
    ),
    page_of(
        Verb::Get,
        "/sign-in",
        "Sign in with a one-time code",
        || web::route().to(sign_in_page),
    ),
    page_of(
        Verb::Post,
        "/sign-in",
        "Send a sign-in code to an email or phone",
        || web::route().to(send_code),
    ),
    page_of(
        Verb::Post,
        "/sign-in/code",
        "Check the sign-in code and start a portal session",
        || web::route().to(check_code),
    ),
    page_of(Verb::Post, "/sign-out", "End the portal session", || {
        web::route().to(sign_out)
    }),
    page_of(Verb::Get, "/apps", "Your apps", || {
        web::route().to(apps_page)
    }),
    page_of(
        Verb::Post,
        "/apps",
        "Create an app; its credentials are shown once",
        || web::route().to(create_app),
    ),
    page_of(
        Verb::Get,
        "/apps/new",
        "The form that creates an app",
        || web::route().to(new_app_page),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}",
        "An app: its credentials, keys and links",
        || web::route().to(app_page),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/secret",
        "Rotate the app secret",
        || web::route().to(rotate_secret),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/key",
        "Rotate the signing key",
        || web::route().to(rotate_key),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}/audit",
        "The app's audit log, with filters",
        || web::route().to(crate::audit::audit_page),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}/licenses",
        "The app's licences",
        || web::route().to(crate::licenses::licenses_page),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/licenses",
        "Generate a licence; its key is shown once",
        || web::route().to(crate::licenses::generate),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/licenses/{id}/{action}",
        "Suspend, reinstate or revoke a licence",
        || web::route().to(crate::licenses::change_status),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}/settings",
        "The app's settings",
        || web::route().to(crate::settings::settings_page),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/settings",
        "Save the app's settings",
        || web::route().to(crate::settings::save_settings),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}/tenants",
        "The app's tenants",
        || web::route().to(crate::tenants::tenants_page),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/tenants",
        "Create a tenant",
        || web::route().to(crate::tenants::create_tenant),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}/tenants/{tenant}",
        "A tenant's members and their roles",
        || web::route().to(crate::tenants::tenant_page),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/tenants/{tenant}/roles",
        "Give a member a role",
        || web::route().to(crate::tenants::assign_role),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/tenants/{tenant}/roles/revoke",
        "Take a role away",
        || web::route().to(crate::tenants::revoke_role),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}/users",
        "The app's users, with a search",
        || web::route().to(crate::users::users_page),
    ),
    page_of(
        Verb::Get,
        "/apps/{slug}/users/{user}",
        "A user's roles and sessions",
        || web::route().to(crate::users::user_page),
    ),
    page_of(
        Verb::Post,
        "/apps/{slug}/users/{user}/revoke",
        "End one or every session of a user",
        || web::route().to(crate::users::revoke_sessions),
    ),
    page_of(
        Verb::Get,
        "/static/portal.css",
        "The portal's stylesheet",
        || web::route().to(stylesheet),
    ),
    page_of(
        Verb::Get,
        "/static/portal.js",
        "The portal's script",
        || web::route().to(script),
    ),
];

pub fn routes(config: &mut web::ServiceConfig) {
    for page in PAGES {
        let method = match page.verb {
            Verb::Get => Method::GET,
            Verb::Post => Method::POST,
        };
        config.route(page.path, (page.handler)().method(method));
    }
    config.default_service(web::to(not_found));
}

/// A page's response: the HTML, with any cookies to set.
pub(crate) fn respond(status: StatusCode, body: String, set_cookies: &[String]) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.content_type("text/html; charset=utf-8");
    for cookie in set_cookies {
        response.append_header((header::SET_COOKIE, cookie.as_str()));
    }
    response.body(body)
}

pub(crate) fn redirect(to: &str, set_cookies: &[String]) -> HttpResponse {
    let mut response = HttpResponse::SeeOther();
    response.insert_header((header::LOCATION, to));
    for cookie in set_cookies {
        response.append_header((header::SET_COOKIE, cookie.as_str()));
    }
    response.finish()
}

/// The status a page shows an error with, as the catalogue gives it.
pub(crate) fn status_of(error: &AuthError) -> StatusCode {
    match error {
        AuthError::RateLimited { .. } | AuthError::OtpMaxAttempts => StatusCode::TOO_MANY_REQUESTS,
        AuthError::OtpInvalid { .. } => StatusCode::UNAUTHORIZED,
        AuthError::OtpExpired => StatusCode::GONE,
        AuthError::OtpNotFound
        | AuthError::TenantNotFound
        | AuthError::UserNotFound
        | AuthError::LicenseNotFound => StatusCode::NOT_FOUND,
        AuthError::TenantExists => StatusCode::CONFLICT,
        AuthError::DeliveryFailed => StatusCode::BAD_GATEWAY,
        AuthError::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        AuthError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The page for an engine failure while finding out who is signed in.
pub(crate) fn failure(error: &AuthError) -> HttpResponse {
    respond(
        status_of(error),
        page("Something went wrong", None, &crate::html::error(error)),
        &[],
    )
}

/// This browser's anti-forgery secret, and the cookie to set when it is new.
pub(crate) fn csrf_secret(request: &HttpRequest, state: &PortalState) -> (String, Vec<String>) {
    match cookies::read(request, cookies::CSRF) {
        Some(secret) => (secret, Vec::new()),
        None => {
            let secret = csrf::new_secret(state);
            let cookie = cookies::set(
                cookies::CSRF,
                &secret,
                CSRF_COOKIE_SECS,
                state.secure_cookies,
            );
            (secret, vec![cookie])
        }
    }
}

/// Whether a posted form is this browser's own: the token matches its cookie, and a browser that
/// names the page's origin names this host.
pub(crate) fn genuine(request: &HttpRequest, state: &PortalState, token: &str) -> bool {
    let same_origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|origin| origin.to_str().ok())
        .is_none_or(|origin| {
            let host = request.connection_info().host().to_owned();
            origin
                .split_once("://")
                .is_some_and(|(_, rest)| rest == host)
        });
    same_origin
        && csrf::verify(
            state,
            cookies::read(request, cookies::CSRF).as_deref(),
            token,
        )
}

pub(crate) fn forged() -> HttpResponse {
    let problem = AuthError::invalid_field(
        "csrf",
        "this form has expired; reload the page and try again",
    );
    respond(
        StatusCode::FORBIDDEN,
        page(
            "Form expired",
            None,
            &format!(
                r#"{}<p><a href="/portal">Start again</a></p>"#,
                error(&problem)
            ),
        ),
        &[],
    )
}

/// The signed-in developer, or the response that sends the browser to sign in.
pub(crate) async fn signed_in(
    request: &HttpRequest,
    state: &PortalState,
) -> Result<Developer, HttpResponse> {
    match developer(request, state).await {
        Ok(Some(developer)) => Ok(developer),
        Ok(None) => Err(redirect(
            "/portal/sign-in",
            &cookies::clear_session(state.secure_cookies),
        )),
        Err(error) => Err(failure(&error)),
    }
}

/// The signed-in developer and their app named `slug`, or the response that ends the request
/// (sign in, or the not-found page for an app that is not theirs).
pub(crate) async fn own_app(
    request: &HttpRequest,
    state: &PortalState,
    slug: &str,
) -> Result<(Developer, App), HttpResponse> {
    let developer = signed_in(request, state).await?;
    match state.service.developer_app(&developer.user.id, slug).await {
        Ok(Some(app)) => Ok((developer, app)),
        Ok(None) => Err(not_found_page()),
        Err(error) => Err(failure(&error)),
    }
}

/// For a posted form about the app `slug`: the signed-in developer and their app, or the response
/// that ends the request (a forged form, sign in, or the not-found page).
pub(crate) async fn own_app_posted(
    request: &HttpRequest,
    state: &PortalState,
    slug: &str,
    csrf: &str,
) -> Result<(Developer, App), HttpResponse> {
    if !genuine(request, state, csrf) {
        return Err(forged());
    }
    own_app(request, state, slug).await
}

/// A page of one of the signed-in developer's apps, as its handlers build it.
pub(crate) struct AppPage<'a> {
    pub state: &'a PortalState,
    pub developer: Developer,
    pub app: App,
    /// The anti-forgery token of the page's forms.
    pub token: String,
    /// The cookies the response sets.
    pub set: Vec<String>,
}

impl<'a> AppPage<'a> {
    /// The page of the signed-in developer's app `slug`, or the response that ends the request
    /// (sign in, or the not-found page for an app that is not theirs).
    pub(crate) async fn open(
        request: &HttpRequest,
        state: &'a PortalState,
        slug: &str,
    ) -> Result<Self, HttpResponse> {
        let (developer, app) = own_app(request, state, slug).await?;
        let (token, set) = page_token(request, state, &developer);
        Ok(Self {
            state,
            developer,
            app,
            token,
            set,
        })
    }

    /// The page answering a posted form: its token stays the form's, and the cookies are the
    /// session's renewals.
    pub(crate) fn posted(
        state: &'a PortalState,
        developer: Developer,
        app: App,
        token: &str,
    ) -> Self {
        let set = developer.set_cookies.clone();
        Self {
            state,
            developer,
            app,
            token: token.to_owned(),
            set,
        }
    }

    /// The whole page, titled `title · app name`, around `content` (already HTML).
    pub(crate) fn respond(&self, status: StatusCode, title: &str, content: &str) -> HttpResponse {
        let who = SignedIn {
            label: self.developer.label(),
            csrf: &self.token,
        };
        let title = format!("{title} · {}", self.app.name);
        respond(status, page(&title, Some(&who), content), &self.set)
    }
}

/// The anti-forgery token for a page's forms, and every cookie the page must set.
pub(crate) fn page_token(
    request: &HttpRequest,
    state: &PortalState,
    developer: &Developer,
) -> (String, Vec<String>) {
    let (secret, mut set) = csrf_secret(request, state);
    set.extend(developer.set_cookies.iter().cloned());
    (csrf::token(state, &secret), set)
}

async fn home(request: HttpRequest, state: web::Data<PortalState>) -> HttpResponse {
    match developer(&request, &state).await {
        Ok(Some(developer)) => redirect("/portal/apps", &developer.set_cookies),
        Ok(None) => redirect("/portal/sign-in", &[]),
        Err(error) => failure(&error),
    }
}

// ------------------------------------------------------------------------------------ sign in

fn identifier_form(token: &str, value: &str, problem: Option<&AuthError>) -> String {
    page(
        "Sign in",
        None,
        &format!(
            r#"<p>Sign in to the developer portal with a one-time code.</p>
{problem}<form method="post" action="/portal/sign-in" class="stack">
{csrf}
<label for="identifier">Email address or phone number (+country code)</label>
<input id="identifier" name="identifier" required maxlength="254" autocomplete="username" autofocus value="{value}">
<button type="submit">Send me a code</button>
</form>"#,
            problem = problem.map(error).unwrap_or_default(),
            csrf = csrf_field(token),
            value = esc(value),
        ),
    )
}

fn code_form(token: &str, otp_request_id: &str, hint: &str, problem: Option<&AuthError>) -> String {
    page(
        "Enter your code",
        None,
        &format!(
            r#"<p>We sent a six-digit code to <strong>{hint}</strong>.</p>
{problem}<form method="post" action="/portal/sign-in/code" class="stack">
{csrf}
<input type="hidden" name="otp_request_id" value="{otp}">
<input type="hidden" name="hint" value="{hint}">
<label for="code">Code</label>
<input id="code" name="code" required inputmode="numeric" pattern="[0-9]{{6}}" maxlength="6" autocomplete="one-time-code" autofocus>
<button type="submit">Sign in</button>
</form>
<p><a href="/portal/sign-in">Use another address, or send a new code</a></p>"#,
            problem = problem.map(error).unwrap_or_default(),
            csrf = csrf_field(token),
            otp = esc(otp_request_id),
            hint = esc(hint),
        ),
    )
}

async fn sign_in_page(request: HttpRequest, state: web::Data<PortalState>) -> HttpResponse {
    if let Ok(Some(developer)) = developer(&request, &state).await {
        return redirect("/portal/apps", &developer.set_cookies);
    }
    let (secret, set) = csrf_secret(&request, &state);
    let body = identifier_form(&csrf::token(&state, &secret), "", None);
    respond(StatusCode::OK, body, &set)
}

#[derive(Debug, Deserialize)]
struct IdentifierForm {
    csrf: String,
    identifier: String,
}

/// An email address if it has an `@`, else a phone number.
pub(crate) fn parse_identifier(raw: &str) -> Result<Identifier, AuthError> {
    let raw = raw.trim();
    if raw.contains('@') {
        Email::parse(raw)
            .map(Identifier::Email)
            .map_err(|e| AuthError::invalid_field("email", e.0))
    } else {
        Phone::parse(raw)
            .map(Identifier::Phone)
            .map_err(|e| AuthError::invalid_field("phone", e.0))
    }
}

async fn send_code(
    request: HttpRequest,
    state: web::Data<PortalState>,
    form: web::Form<IdentifierForm>,
) -> HttpResponse {
    if !genuine(&request, &state, &form.csrf) {
        return forged();
    }
    let token = form.csrf.as_str();
    let sent = match parse_identifier(&form.identifier) {
        Ok(identifier) => {
            state
                .service
                .send_otp(SendOtp {
                    credentials: state.credentials.clone(),
                    identifier,
                    caller: caller(&request),
                })
                .await
        }
        Err(problem) => Err(problem),
    };
    match sent {
        Ok(sent) => respond(
            StatusCode::OK,
            code_form(
                token,
                sent.otp_request_id.as_str(),
                &sent.destination_hint,
                None,
            ),
            &[],
        ),
        Err(problem) => respond(
            status_of(&problem),
            identifier_form(token, &form.identifier, Some(&problem)),
            &[],
        ),
    }
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    csrf: String,
    otp_request_id: String,
    hint: String,
    code: String,
}

async fn check_code(
    request: HttpRequest,
    state: web::Data<PortalState>,
    form: web::Form<CodeForm>,
) -> HttpResponse {
    if !genuine(&request, &state, &form.csrf) {
        return forged();
    }
    let token = form.csrf.as_str();
    let parsed = OtpId::parse(&form.otp_request_id)
        .map_err(|_| AuthError::OtpNotFound)
        .and_then(|id| {
            OtpCode::parse(form.code.trim())
                .map(|code| (id, code))
                .map_err(|e| AuthError::invalid_field("code", e.0))
        });
    let verified = match parsed {
        Ok((otp_request_id, code)) => {
            state
                .service
                .verify_otp(VerifyOtpRequest {
                    credentials: state.credentials.clone(),
                    otp_request_id,
                    code,
                    tenant: None,
                    caller: caller(&request),
                })
                .await
        }
        Err(problem) => Err(problem),
    };
    match verified {
        Ok(grant) => redirect("/portal/apps", &grant_cookies(&grant, state.secure_cookies)),
        // The same code can still be right: ask again.
        Err(problem @ (AuthError::OtpInvalid { .. } | AuthError::InvalidRequest(_))) => respond(
            status_of(&problem),
            code_form(token, &form.otp_request_id, &form.hint, Some(&problem)),
            &[],
        ),
        // This code is done for: start over.
        Err(problem) => respond(
            status_of(&problem),
            identifier_form(token, "", Some(&problem)),
            &[],
        ),
    }
}

#[derive(Debug, Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn sign_out(
    request: HttpRequest,
    state: web::Data<PortalState>,
    form: web::Form<CsrfOnly>,
) -> HttpResponse {
    if !genuine(&request, &state, &form.csrf) {
        return forged();
    }
    if let Some(refresh_token) = cookies::read(&request, cookies::REFRESH)
        .and_then(|raw| auth_domain::session::RefreshToken::parse(&raw).ok())
    {
        let ended = state
            .service
            .logout(LogoutRequest {
                credentials: state.credentials.clone(),
                refresh_token,
                all_sessions: false,
                caller: caller(&request),
            })
            .await;
        if let Err(error) = ended {
            tracing::info!(%error, "portal sign-out could not revoke the session");
        }
    }
    redirect(
        "/portal/sign-in",
        &cookies::clear_session(state.secure_cookies),
    )
}

// ------------------------------------------------------------------------------------ apps

pub(crate) fn when(at: time::OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

async fn apps_page(request: HttpRequest, state: web::Data<PortalState>) -> HttpResponse {
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
                r#"<tr><td><a href="/portal/apps/{slug}">{name}</a></td><td><code>{slug}</code></td><td><code>{id}</code></td><td>{created}</td></tr>"#,
                slug = esc(app.slug.as_str()),
                name = esc(&app.name),
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
<input id="name" name="name" required maxlength="100" value="{name}">
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

async fn new_app_page(request: HttpRequest, state: web::Data<PortalState>) -> HttpResponse {
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
struct NewAppForm {
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

async fn create_app(
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

fn keys_section(app: &App, keys: &[(SigningKey, bool)], token: &str) -> String {
    let rows: String = keys
        .iter()
        .map(|(key, published)| {
            let state = match (key.retired_at, published) {
                (None, _) => "signs new tokens".to_owned(),
                (Some(at), true) => {
                    format!("replaced {}; in the JWKS until its tokens expire", when(at))
                }
                (Some(at), false) => format!("replaced {}; no longer published", when(at)),
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
</form>"#,
        slug = esc(app.slug.as_str()),
        csrf = csrf_field(token),
    )
}

fn app_details(app: &App) -> String {
    format!(
        r#"<dl>
<dt>Name</dt><dd>{name}</dd>
<dt>APP_SLUG</dt><dd><code id="app-slug">{slug}</code></dd>
<dt>APP_ID</dt><dd><code id="app-id">{id}</code></dd>
<dt>APP_SECRET</dt><dd id="app-secret">Shown once, when the app was created; only its hash is stored.</dd>
<dt>Public keys (JWKS)</dt><dd><a href="/apps/{slug}/jwks.json"><code>/apps/{slug}/jwks.json</code></a></dd>
<dt>Created</dt><dd>{created}</dd>
</dl>
<p><a class="button" href="/portal/apps/{slug}/settings">Settings</a> <a class="button" href="/portal/apps/{slug}/tenants">Tenants and roles</a> <a class="button" href="/portal/apps/{slug}/users">Users and sessions</a> <a class="button" href="/portal/apps/{slug}/licenses">Licenses</a> <a class="button" href="/portal/apps/{slug}/audit">Audit log</a></p>"#,
        name = esc(&app.name),
        slug = esc(app.slug.as_str()),
        id = esc(app.id.as_str()),
        created = esc(&when(app.created_at)),
    )
}

async fn app_page(
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
    let content = format!(
        "{}{}{}",
        app_details(&app),
        rotate_form(&app, &token),
        keys_section(&app, &keys, &token)
    );
    respond(StatusCode::OK, page(&app.name, Some(&who), &content), &set)
}

#[derive(Debug, Deserialize)]
struct RotateForm {
    csrf: String,
    overlap_hours: String,
}

async fn rotate_secret(
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

async fn rotate_key(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
    form: web::Form<CsrfOnly>,
) -> HttpResponse {
    if !genuine(&request, &state, &form.csrf) {
        return forged();
    }
    let developer = match signed_in(&request, &state).await {
        Ok(developer) => developer,
        Err(response) => return response,
    };
    let rotated = state
        .service
        .rotate_developer_signing_key(&developer.user.id, &slug, &caller(&request))
        .await;
    match rotated {
        Ok(_) => redirect(&format!("/portal/apps/{slug}"), &developer.set_cookies),
        Err(AuthError::InvalidRequest(_)) => not_found_page(),
        Err(error) => failure(&error),
    }
}

/// The portal's unknown paths.
async fn not_found() -> HttpResponse {
    not_found_page()
}

/// The page for a path that does not exist, or an app that is not the developer's: the same, so
/// the answer does not tell them apart.
pub(crate) fn not_found_page() -> HttpResponse {
    respond(
        StatusCode::NOT_FOUND,
        page(
            "Not found",
            None,
            r#"<p class="error" role="alert"><code>not_found</code> There is no such page, or it is not yours.</p><p><a href="/portal">Back to the portal</a></p>"#,
        ),
        &[],
    )
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(include_str!("../static/portal.css"))
}

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(include_str!("../static/portal.js"))
}
