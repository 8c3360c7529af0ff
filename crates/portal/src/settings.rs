//! An app's settings page: token lifetimes, sign-in channels, SMS countries and daily caps.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use auth_domain::App;
use auth_usecases::{AuthError, SettingsRequest};
use serde::Deserialize;

use crate::PortalState;
use crate::access::{AppPage, own_app_posted};
use crate::html::{csrf_field, error, esc};
use crate::responses::{redirect, status_of};
use crate::session::caller;

fn form(app: &App, token: &str, problem: Option<&AuthError>, saved: bool) -> String {
    let seconds = |value: Option<time::Duration>| {
        value
            .map(|d| d.whole_seconds().to_string())
            .unwrap_or_default()
    };
    let checked = |on: bool| if on { " checked" } else { "" };
    let countries = app
        .delivery
        .sms_countries
        .as_ref()
        .map_or_else(|| "any".to_owned(), |codes| codes.join(","));
    format!(
        r#"{notice}{problem}<form method="post" action="/portal/apps/{slug}/settings" class="stack">
{csrf}
<label for="access_ttl_secs">Access-token lifetime in seconds (60 to 3600; empty: the engine's)</label>
<input id="access_ttl_secs" name="access_ttl_secs" type="number" min="60" max="3600" value="{ttl}">
<label for="refresh_idle_secs">Refresh idle timeout in seconds: a refresh token unused for longer is expired (60 to 31536000; empty: the engine's, 14 days)</label>
<input id="refresh_idle_secs" name="refresh_idle_secs" type="number" min="60" max="31536000" value="{idle}">
<label for="reuse_grace_secs">Refresh reuse grace window in seconds (0 to 60; empty: the engine's)</label>
<input id="reuse_grace_secs" name="reuse_grace_secs" type="number" min="0" max="60" value="{grace}">
<fieldset><legend>Sign-in channels</legend>
<label><input type="checkbox" name="sms"{sms}> SMS codes to phone numbers</label>
<label><input type="checkbox" name="email"{email}> Email codes</label>
</fieldset>
<label for="sms_countries">SMS country calling codes (e.g. 91,1,44; or any)</label>
<input id="sms_countries" name="sms_countries" maxlength="200" required value="{countries}">
<label for="sms_per_day">SMS per day</label>
<input id="sms_per_day" name="sms_per_day" type="number" min="0" required value="{sms_per_day}">
<label for="emails_per_day">Emails per day</label>
<input id="emails_per_day" name="emails_per_day" type="number" min="0" required value="{emails_per_day}">
<button type="submit">Save settings</button>
</form>"#,
        notice = if saved {
            r#"<p class="warning" role="status">Saved.</p>"#
        } else {
            ""
        },
        problem = problem.map(error).unwrap_or_default(),
        slug = esc(app.slug.as_str()),
        csrf = csrf_field(token),
        ttl = seconds(app.tokens.access_ttl),
        grace = seconds(app.tokens.reuse_grace),
        idle = seconds(app.tokens.refresh_idle),
        sms = checked(app.channels.sms),
        email = checked(app.channels.email),
        countries = esc(&countries),
        sms_per_day = app.delivery.sms_per_day,
        emails_per_day = app.delivery.emails_per_day,
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

pub async fn settings_page(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
    query: web::Query<SavedQuery>,
) -> HttpResponse {
    let view = match AppPage::open(&request, &state, &slug).await {
        Ok(view) => view,
        Err(response) => return response,
    };
    let content = form(&view.app, &view.token, None, query.saved.is_some());
    view.respond(StatusCode::OK, "Settings", &content)
}

#[derive(Debug, Deserialize)]
pub struct SettingsForm {
    csrf: String,
    access_ttl_secs: String,
    reuse_grace_secs: String,
    /// Absent from forms made before the setting existed: the engine's.
    #[serde(default)]
    refresh_idle_secs: String,
    sms: Option<String>,
    email: Option<String>,
    sms_countries: String,
    sms_per_day: String,
    emails_per_day: String,
}

/// An optional whole number of seconds, or the error naming `field`.
fn optional_seconds(field: &str, raw: &str) -> Result<Option<i64>, AuthError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    raw.parse()
        .map(Some)
        .map_err(|_| AuthError::invalid_field(field, "must be a whole number of seconds"))
}

fn count(field: &str, raw: &str) -> Result<u32, AuthError> {
    raw.trim()
        .parse()
        .map_err(|_| AuthError::invalid_field(field, "must be a whole number from 0 to 4294967295"))
}

impl SettingsForm {
    fn request(&self) -> Result<SettingsRequest<'_>, AuthError> {
        Ok(SettingsRequest {
            access_ttl_secs: optional_seconds("access_ttl_secs", &self.access_ttl_secs)?,
            refresh_idle_secs: optional_seconds("refresh_idle_secs", &self.refresh_idle_secs)?,
            reuse_grace_secs: optional_seconds("reuse_grace_secs", &self.reuse_grace_secs)?,
            sms: self.sms.is_some(),
            email: self.email.is_some(),
            sms_countries: &self.sms_countries,
            sms_per_day: count("sms_per_day", &self.sms_per_day)?,
            emails_per_day: count("emails_per_day", &self.emails_per_day)?,
        })
    }
}

pub async fn save_settings(
    request: HttpRequest,
    state: web::Data<PortalState>,
    slug: web::Path<String>,
    posted: web::Form<SettingsForm>,
) -> HttpResponse {
    let owned = own_app_posted(&request, &state, &slug, &posted.csrf).await;
    let (developer, app) = match owned {
        Ok(found) => found,
        Err(response) => return response,
    };
    let changed = match posted.request() {
        Ok(settings) => {
            state
                .service
                .change_developer_app_settings(
                    &developer.user.id,
                    app.slug.as_str(),
                    settings,
                    &caller(&request),
                )
                .await
        }
        Err(problem) => Err(problem),
    };
    match changed {
        Ok(_) => redirect(
            &format!("/portal/apps/{}/settings?saved=1", app.slug.as_str()),
            &developer.set_cookies,
        ),
        Err(problem) => {
            let content = form(&app, &posted.csrf, Some(&problem), false);
            AppPage::posted(&state, developer, app, &posted.csrf).respond(
                status_of(&problem),
                "Settings",
                &content,
            )
        }
    }
}
