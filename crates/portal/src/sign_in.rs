//! Signing in to the portal with a code, and signing out.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use auth_domain::ids::OtpId;
use auth_domain::otp::OtpCode;
use auth_domain::{Email, Identifier, Phone};
use auth_usecases::{AuthError, LogoutRequest, SendOtp, VerifyOtpRequest};
use serde::Deserialize;

use crate::access::{CsrfOnly, csrf_secret, genuine};
use crate::html::{csrf_field, error, esc, page};
use crate::responses::{failure, forged, redirect, respond, status_of};
use crate::session::{caller, developer, grant_cookies};
use crate::{PortalState, cookies, csrf};

pub(crate) async fn home(request: HttpRequest, state: web::Data<PortalState>) -> HttpResponse {
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

pub(crate) async fn sign_in_page(
    request: HttpRequest,
    state: web::Data<PortalState>,
) -> HttpResponse {
    if let Ok(Some(developer)) = developer(&request, &state).await {
        return redirect("/portal/apps", &developer.set_cookies);
    }
    let (secret, set) = csrf_secret(&request, &state);
    let body = identifier_form(&csrf::token(&state, &secret), "", None);
    respond(StatusCode::OK, body, &set)
}

#[derive(Debug, Deserialize)]
pub(crate) struct IdentifierForm {
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

pub(crate) async fn send_code(
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
pub(crate) struct CodeForm {
    csrf: String,
    otp_request_id: String,
    hint: String,
    code: String,
}

pub(crate) async fn check_code(
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

pub(crate) async fn sign_out(
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
