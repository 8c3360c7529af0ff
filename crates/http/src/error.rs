//! The single table from error to HTTP status and catalogue code, and the JSON error body.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use auth_usecases::{AuthError, FieldProblem};
use serde::Serialize;
use std::fmt;
use utoipa::ToSchema;

/// Every failure the API can answer with: the use cases' errors and the protocol's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    Auth(AuthError),
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        Self::Auth(error)
    }
}

/// Every `(status, code)` the API can answer with: the error catalogue of API.md, in its order.
/// Codes of later capabilities are listed so the catalogue is whole and documented in one place.
pub const CATALOGUE: &[(u16, &str)] = &[
    (400, "invalid_request"),
    (401, "invalid_app_credentials"),
    (403, "app_disabled"),
    (403, "app_in_sandbox"),
    (404, "not_found"),
    (405, "method_not_allowed"),
    (413, "payload_too_large"),
    (415, "unsupported_media_type"),
    (429, "rate_limited"),
    (401, "otp_invalid"),
    (410, "otp_expired"),
    (429, "otp_max_attempts"),
    (404, "otp_not_found"),
    (401, "token_missing"),
    (401, "token_invalid"),
    (401, "token_expired"),
    (401, "refresh_token_invalid"),
    (401, "refresh_token_expired"),
    (401, "refresh_token_reused"),
    (401, "session_revoked"),
    (404, "tenant_not_found"),
    (409, "tenant_exists"),
    (404, "user_not_found"),
    (404, "license_not_found"),
    (403, "license_revoked"),
    (403, "license_suspended"),
    (403, "license_expired"),
    (409, "activation_limit_reached"),
    (404, "device_not_activated"),
    (502, "delivery_failed"),
    (503, "service_unavailable"),
    (500, "internal_error"),
];

/// The status the catalogue gives `code` (500 for a code it lacks).
pub(crate) fn catalogue_status(code: &str) -> u16 {
    CATALOGUE
        .iter()
        .find(|(_, known)| *known == code)
        .map_or(500, |(status, _)| *status)
}

impl ApiError {
    /// The catalogue code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Auth(error) => error.code(),
        }
    }

    /// The status the catalogue gives this error's code.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(catalogue_status(self.code()))
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn message(&self) -> String {
        match self {
            Self::NotFound => "no such endpoint".to_owned(),
            Self::MethodNotAllowed => "this endpoint does not accept that method".to_owned(),
            Self::PayloadTooLarge => "the request body is larger than 64 KiB".to_owned(),
            Self::UnsupportedMediaType => {
                "requests must be Content-Type: application/json".to_owned()
            }
            Self::Auth(error) => error.to_string(),
        }
    }

    /// The JSON error response for the request `request_id`.
    #[must_use]
    pub fn to_response(&self, request_id: &str) -> HttpResponse {
        let mut body = ErrorBody {
            error: self.code(),
            message: self.message(),
            request_id: request_id.to_owned(),
            fields: None,
            attempts_remaining: None,
            retry_after: None,
        };
        let mut response = HttpResponse::build(self.status());
        if let Self::Auth(error) = self {
            match error {
                AuthError::InvalidRequest(problems) => {
                    body.fields = Some(
                        problems
                            .iter()
                            .map(|FieldProblem { name, problem }| FieldBody {
                                name: name.clone(),
                                problem: problem.clone(),
                            })
                            .collect(),
                    );
                }
                AuthError::OtpInvalid { attempts_remaining } => {
                    body.attempts_remaining = Some(*attempts_remaining);
                }
                AuthError::RateLimited { retry_after } => {
                    let seconds = retry_after.whole_seconds().max(1);
                    body.retry_after = Some(seconds);
                    response.insert_header((header::RETRY_AFTER, HeaderValue::from(seconds)));
                }
                AuthError::ServiceUnavailable => {
                    // The database missed its deadline or is down: a retry soon may succeed.
                    response.insert_header((header::RETRY_AFTER, HeaderValue::from(1)));
                }
                AuthError::TokenMissing | AuthError::TokenInvalid | AuthError::TokenExpired => {
                    response.insert_header((
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Bearer"),
                    ));
                }
                _ => {}
            }
        }
        response.json(body)
    }
}

/// Every error response's body.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub(crate) struct ErrorBody {
    /// The catalogue code: what a caller's code branches on.
    error: &'static str,
    /// For people; it may change between versions.
    message: String,
    /// Also in the `X-Request-Id` header; the engine's logs know it.
    request_id: String,
    /// `invalid_request`: every field problem found.
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<Vec<FieldBody>>,
    /// `otp_invalid`: wrong answers left before the code is spent.
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts_remaining: Option<u32>,
    /// `rate_limited`: seconds until a retry can succeed (also the `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    retry_after: Option<i64>,
}

/// One problem with one request field.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FieldBody {
    name: String,
    problem: String,
}

/// An error on its way out, with the id of the request it answers.
#[derive(Debug)]
pub struct Failure {
    pub error: ApiError,
    pub request_id: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.error.code())
    }
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        self.error.status()
    }

    fn error_response(&self) -> HttpResponse {
        self.error.to_response(&self.request_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The catalogue and docs/06-error-reference.md list the same codes with the same statuses.
    #[test]
    fn every_code_is_documented_and_every_documented_code_exists() {
        let doc = include_str!("../../../docs/06-error-reference.md");
        let documented: BTreeSet<(u16, String)> = doc
            .lines()
            .filter_map(|line| {
                let cells: Vec<&str> = line.split('|').map(str::trim).collect();
                let status = cells.get(1)?.parse::<u16>().ok()?;
                let code = cells.get(2)?.strip_prefix('`')?.strip_suffix('`')?;
                Some((status, code.to_owned()))
            })
            .collect();
        let catalogue: BTreeSet<(u16, String)> = CATALOGUE
            .iter()
            .map(|(s, c)| (*s, (*c).to_owned()))
            .collect();
        assert_eq!(catalogue.len(), CATALOGUE.len(), "a code is listed twice");
        assert_eq!(documented, catalogue);
    }

    #[test]
    fn every_error_maps_to_a_catalogue_entry() {
        let errors = [
            ApiError::NotFound,
            ApiError::MethodNotAllowed,
            ApiError::PayloadTooLarge,
            ApiError::UnsupportedMediaType,
            ApiError::Auth(AuthError::OtpMaxAttempts),
            ApiError::Auth(AuthError::DeliveryFailed),
            ApiError::Auth(AuthError::RateLimited {
                retry_after: time::Duration::seconds(3),
            }),
        ];
        for error in errors {
            assert!(
                CATALOGUE
                    .iter()
                    .any(|(s, c)| *c == error.code() && *s == error.status().as_u16())
            );
        }
        assert_eq!(
            ApiError::Auth(AuthError::OtpMaxAttempts).status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            ApiError::Auth(AuthError::OtpExpired).status(),
            StatusCode::GONE
        );
    }
}
