//! Malformed requests answer the portal's own error page with a catalogue code, never framework
//! text: a form without its anti-forgery field, a field that does not parse, and control characters
//! (NUL and the like) anywhere in a form or query string, which no portal field may hold.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::{InternalError, QueryPayloadError, UrlencodedError};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, HttpRequest, HttpResponse, web};
use auth_usecases::AuthError;
use futures_util::StreamExt as _;

use crate::html::{error, page};
use crate::responses::{forged, respond};

/// The largest form a portal page accepts.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// How form posts are read: bounded, and refused with the portal's page.
pub fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(MAX_FORM_BYTES)
        .error_handler(form_error)
}

/// How query strings are read: refused with the portal's page.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(query_error)
}

fn bad_request(problem: &AuthError) -> HttpResponse {
    let content = format!(
        r#"{}<p><a href="/portal">Start again</a></p>"#,
        error(problem)
    );
    respond(
        StatusCode::BAD_REQUEST,
        page("Bad request", None, &content),
        &[],
    )
}

fn form_error(cause: UrlencodedError, _request: &HttpRequest) -> actix_web::Error {
    let response = match &cause {
        UrlencodedError::Parse(parse) if missing_field(&parse.to_string()) == Some("csrf") => {
            forged()
        }
        UrlencodedError::Parse(parse) => {
            let text = parse.to_string();
            let problem = match missing_field(&text) {
                Some(field) => AuthError::invalid_field(field, "is required"),
                None => AuthError::invalid_field("form", "has a field that could not be read"),
            };
            bad_request(&problem)
        }
        UrlencodedError::Overflow { .. } => bad_request(&AuthError::invalid_field(
            "form",
            format!("must be at most {MAX_FORM_BYTES} bytes"),
        )),
        UrlencodedError::ContentType => bad_request(&AuthError::invalid_field(
            "form",
            "must be sent as application/x-www-form-urlencoded",
        )),
        _ => bad_request(&AuthError::invalid_field("form", "could not be read")),
    };
    InternalError::from_response(cause, response).into()
}

fn query_error(cause: QueryPayloadError, _request: &HttpRequest) -> actix_web::Error {
    let response = bad_request(&AuthError::invalid_field(
        "query",
        "has a parameter that could not be read",
    ));
    InternalError::from_response(cause, response).into()
}

/// The field serde says is missing: its message reads "missing field `name`".
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// Middleware: refuses a query string or form holding control characters before any handler reads
/// it. The form is read (bounded) and handed on unchanged.
///
/// # Errors
/// Whatever the inner service returns.
pub async fn refuse_control_characters(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Some(field) = field_with_control(request.query_string()) {
        let response = refused(&field);
        return Ok(request.into_response(response).map_into_right_body());
    }
    if request.method() == Method::POST && is_form(&request) {
        let mut bytes = web::BytesMut::new();
        let mut payload = request.take_payload();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk?;
            if bytes.len() + chunk.len() > MAX_FORM_BYTES {
                let response = bad_request(&AuthError::invalid_field(
                    "form",
                    format!("must be at most {MAX_FORM_BYTES} bytes"),
                ));
                return Ok(request.into_response(response).map_into_right_body());
            }
            bytes.extend_from_slice(&chunk);
        }
        let form = String::from_utf8_lossy(&bytes);
        if let Some(field) = field_with_control(&form) {
            let response = refused(&field);
            return Ok(request.into_response(response).map_into_right_body());
        }
        request.set_payload(Payload::from(bytes.freeze()));
    }
    next.call(request)
        .await
        .map(ServiceResponse::map_into_left_body)
}

fn is_form(request: &ServiceRequest) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"))
}

fn refused(field: &str) -> HttpResponse {
    bad_request(&AuthError::invalid_field(
        field,
        "must not contain control characters (NUL and the like)",
    ))
}

/// The first field of an urlencoded `form` whose name or value holds a control character other than
/// a tab or line break, raw or percent-encoded.
fn field_with_control(form: &str) -> Option<String> {
    form.split('&').find_map(|pair| {
        let name = pair.split('=').next().unwrap_or_default();
        // A field is named back only when its name is a plain one, as every portal field's is.
        let plain = (1..=64).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        has_control(pair).then(|| if plain { name } else { "form" }.to_owned())
    })
}

fn has_control(encoded: &str) -> bool {
    let bytes = encoded.as_bytes();
    let control = |b: u8| (b < 0x20 || b == 0x7f) && !matches!(b, b'\t' | b'\n' | b'\r');
    bytes.iter().enumerate().any(|(at, &b)| {
        control(b)
            || (b == b'%'
                && bytes
                    .get(at + 1..at + 3)
                    .and_then(|hex| std::str::from_utf8(hex).ok())
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .is_some_and(control))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_raw_or_encoded_and_named_by_field() {
        assert_eq!(
            field_with_control("csrf=abc&product=Pro%00x"),
            Some("product".into())
        );
        assert_eq!(field_with_control("q=%1b[31m"), Some("q".into()));
        assert_eq!(field_with_control("name=a\u{1}b"), Some("name".into()));
        assert_eq!(field_with_control("name=%7F"), Some("name".into()));
        assert_eq!(field_with_control("%00=x"), Some("form".into()));
        assert_eq!(field_with_control("body=line%0D%0Aline%09tab&x=%25"), None);
        assert_eq!(field_with_control("name=My+App&slug=my-app"), None);
    }

    #[test]
    fn the_missing_field_is_read_from_serdes_message() {
        assert_eq!(missing_field("missing field `csrf`"), Some("csrf"));
        assert_eq!(missing_field("invalid type: map"), None);
    }
}
