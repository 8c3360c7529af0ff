//! The portal's answers that every page gives alike: a page with its cookies, a redirect, the
//! status of an engine error, and the error, form-expired and not-found pages.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use auth_usecases::AuthError;

use crate::html::{error, page};

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
        AuthError::AppInSandbox => StatusCode::FORBIDDEN,
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
