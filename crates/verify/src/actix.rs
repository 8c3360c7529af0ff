//! The actix-web extractor: a handler that takes [`Authenticated`] runs only for a request with a
//! valid access token; any other gets the engine's error answer.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::{AccessClaims, Verifier, VerifyError};

/// The longest `X-Request-Id` echoed back; anything longer, or not printable ASCII, gets a fresh id.
const MAX_REQUEST_ID: usize = 64;

/// A request whose `Authorization: Bearer …` access token verified, with its claims. Needs the
/// app's [`Verifier`] in the app data (`App::new().app_data(verifier)`, or as `web::Data`).
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub claims: AccessClaims,
}

/// Why a request was refused: answered as the engine answers, e.g.
/// `401 {"error": "token_expired", "message": "…", "request_id": "…"}` with
/// `WWW-Authenticate: Bearer error="invalid_token"`.
#[derive(Debug)]
pub struct Rejection {
    pub error: VerifyError,
    request_id: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error.code())
    }
}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::UNAUTHORIZED)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        let challenge = match self.error {
            VerifyError::Missing => Some(r#"Bearer realm="api""#),
            VerifyError::Invalid { .. } | VerifyError::Expired => {
                Some(r#"Bearer error="invalid_token""#)
            }
            VerifyError::KeysUnavailable(_) => None,
        };
        if let Some(challenge) = challenge {
            response.insert_header((
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            ));
        }
        response.json(serde_json::json!({
            "error": self.error.code(),
            "message": self.error.public_message(),
            "request_id": self.request_id,
        }))
    }
}

/// The caller's `X-Request-Id` when it is short printable ASCII, else a fresh `req_…`.
fn request_id(request: &HttpRequest) -> String {
    let given = request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty() && id.len() <= MAX_REQUEST_ID && id.bytes().all(|b| b.is_ascii_graphic())
        });
    given.map_or_else(
        || {
            let mut bytes = [0u8; 10];
            // The id only correlates log lines; without randomness the zeros still answer.
            let _ = getrandom::fill(&mut bytes);
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            format!("req_{hex}")
        },
        str::to_owned,
    )
}

/// The bearer token of the request; `None` without an `Authorization: Bearer` header.
fn bearer(request: &HttpRequest) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|token| !token.is_empty())
}

fn verifier(request: &HttpRequest) -> Option<Verifier> {
    request.app_data::<Verifier>().cloned().or_else(|| {
        request
            .app_data::<web::Data<Verifier>>()
            .map(|data| data.get_ref().clone())
    })
}

impl FromRequest for Authenticated {
    type Error = Rejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Rejection>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let token = bearer(request);
        let verifier = verifier(request);
        let request_id = request_id(request);
        Box::pin(async move {
            let reject = |error| Rejection {
                error,
                request_id: request_id.clone(),
            };
            // A misconfigured app refuses every request rather than letting any through.
            let Some(verifier) = verifier else {
                return Err(reject(VerifyError::KeysUnavailable(
                    "no Verifier in the app data".into(),
                )));
            };
            let token = token.ok_or_else(|| reject(VerifyError::Missing))?;
            let claims = verifier.verify_access(&token).await.map_err(reject)?;
            Ok(Self { claims })
        })
    }
}
