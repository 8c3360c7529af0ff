//! Reading a JSON request body: content type, size limit, and field-by-field checks that
//! collect every problem into one `invalid_request`.

use actix_web::{HttpRequest, http::header, web};
use auth_domain::ParseError;
use auth_usecases::{AuthError, FieldProblem};
use futures_util::StreamExt as _;
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::strict_json;

/// Query parameters that would carry a credential: URLs end up in proxy and server logs, so a
/// credential there is refused rather than used.
const CREDENTIAL_PARAMETERS: [&str; 8] = [
    "app_id",
    "app_secret",
    "refresh_token",
    "access_token",
    "otp",
    "key",
    "license_key",
    "token",
];

/// Refuses a request whose URL carries a credential, naming it.
///
/// # Errors
/// `invalid_request` naming each credential parameter found.
pub fn refuse_credentials_in_url(request: &HttpRequest) -> Result<(), ApiError> {
    let query = request.query_string();
    if query.is_empty() {
        return Ok(());
    }
    let problems: Vec<FieldProblem> = query
        .split('&')
        .filter_map(|pair| pair.split('=').next())
        .filter_map(|name| {
            CREDENTIAL_PARAMETERS
                .into_iter()
                .find(|credential| name.eq_ignore_ascii_case(credential))
        })
        .map(|name| {
            FieldProblem::new(
                name,
                "is a credential: send it in the JSON body (or the Authorization header), never in the URL",
            )
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(AuthError::InvalidRequest(problems).into())
    }
}

/// Whether `text` holds a C0 control character or DEL: never part of an identifier, name or
/// device, and NUL is refused by PostgreSQL outright.
fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_control())
}

/// Like [`has_control`], but allowing the tab and line breaks free text may hold.
fn has_control_in_text(text: &str) -> bool {
    text.chars()
        .any(|c| c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r'))
}

/// Whether any key or string inside `value` holds a control character other than white space.
fn nested_control(value: &Value) -> bool {
    match value {
        Value::String(text) => has_control_in_text(text),
        Value::Array(items) => items.iter().any(nested_control),
        Value::Object(map) => map
            .iter()
            .any(|(key, value)| has_control_in_text(key) || nested_control(value)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Where an endpoint reads its fields from: a request's body ([`JsonBody`]) or the description of
/// that body the API document is made from (`crate::openapi::BodyShape`). One reading function per
/// endpoint serves both, so the document says what the code accepts.
pub trait Fields {
    /// Records a problem with a field.
    fn problem(&mut self, name: &str, problem: impl Into<String>);

    /// A string field of at most `max_chars` characters, if present.
    fn optional_str(&mut self, name: &str, max_chars: usize) -> Option<String>;

    /// A string field that must be present and non-empty.
    fn required_str(&mut self, name: &str, max_chars: usize) -> Option<String>;

    /// A whole-number field within `min..=max`, if present.
    fn optional_u32(&mut self, name: &str, min: u32, max: u32) -> Option<u32>;

    /// A JSON object field of at most `max_bytes` once serialized, if present.
    fn optional_object(&mut self, name: &str, max_bytes: usize) -> Option<Value>;

    /// A boolean field, if present.
    fn optional_bool(&mut self, name: &str) -> Option<bool>;

    /// Parses a present string with a domain parser, recording its complaint.
    fn parsed<T>(
        &mut self,
        name: &str,
        raw: Option<String>,
        parse: impl Fn(&str) -> Result<T, ParseError>,
    ) -> Option<T> {
        let raw = raw?;
        match parse(&raw) {
            Ok(value) => Some(value),
            Err(ParseError(problem)) => {
                self.problem(name, problem);
                None
            }
        }
    }
}

/// A request's JSON object, consumed field by field.
#[derive(Debug)]
pub struct JsonBody {
    fields: Map<String, Value>,
    problems: Vec<FieldProblem>,
}

fn is_json(request: &HttpRequest) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

impl JsonBody {
    /// Reads at most [`MAX_BODY_BYTES`] of `application/json` that must be one JSON object.
    ///
    /// # Errors
    /// `unsupported_media_type`, `payload_too_large`, or `invalid_request` for malformed JSON.
    pub async fn read(request: &HttpRequest, mut payload: web::Payload) -> Result<Self, ApiError> {
        refuse_credentials_in_url(request)?;
        if !is_json(request) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<usize>().ok());
        if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
            return Err(ApiError::PayloadTooLarge);
        }
        let mut bytes = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|_| AuthError::invalid_field("body", "could not be read"))?;
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(ApiError::PayloadTooLarge);
            }
            bytes.extend_from_slice(&chunk);
        }
        match strict_json::parse(&bytes) {
            Ok(Value::Object(fields)) => Ok(Self {
                fields,
                problems: Vec::new(),
            }),
            Ok(_) => Err(AuthError::invalid_field("body", "must be a JSON object").into()),
            Err(strict_json::Refused::DuplicateKey(key)) => {
                Err(AuthError::invalid_field(&key, "appears more than once in the object").into())
            }
            Err(strict_json::Refused::Malformed) => {
                Err(AuthError::invalid_field("body", "is not valid JSON").into())
            }
        }
    }

    fn take(&mut self, name: &str) -> Option<Value> {
        match self.fields.remove(name) {
            None | Some(Value::Null) => None,
            Some(value) => Some(value),
        }
    }

    /// Ends reading: every problem found, or the values.
    ///
    /// # Errors
    /// `invalid_request` listing every field problem.
    pub fn finish(self) -> Result<(), ApiError> {
        if self.problems.is_empty() {
            Ok(())
        } else {
            Err(AuthError::InvalidRequest(self.problems).into())
        }
    }
}

impl Fields for JsonBody {
    fn problem(&mut self, name: &str, problem: impl Into<String>) {
        self.problems.push(FieldProblem::new(name, problem));
    }

    fn optional_str(&mut self, name: &str, max_chars: usize) -> Option<String> {
        match self.take(name)? {
            Value::String(text) if text.chars().count() > max_chars => {
                self.problem(name, format!("must be at most {max_chars} characters"));
                None
            }
            Value::String(text) if has_control(&text) => {
                self.problem(
                    name,
                    "must not contain control characters (NUL and the like)",
                );
                None
            }
            Value::String(text) => Some(text),
            _ => {
                self.problem(name, "must be a string");
                None
            }
        }
    }

    fn required_str(&mut self, name: &str, max_chars: usize) -> Option<String> {
        let present = self.fields.get(name).is_some_and(|value| !value.is_null());
        let value = self.optional_str(name, max_chars);
        match value {
            Some(text) if !text.is_empty() => Some(text),
            Some(_) => {
                self.problem(name, "must not be empty");
                None
            }
            None if !present => {
                self.problem(name, "is required");
                None
            }
            None => None,
        }
    }

    fn optional_u32(&mut self, name: &str, min: u32, max: u32) -> Option<u32> {
        let value = self.take(name)?;
        match value.as_u64().and_then(|n| u32::try_from(n).ok()) {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                self.problem(name, format!("must be a whole number from {min} to {max}"));
                None
            }
        }
    }

    fn optional_object(&mut self, name: &str, max_bytes: usize) -> Option<Value> {
        match self.take(name)? {
            Value::Object(map) => {
                let value = Value::Object(map);
                if value.to_string().len() > max_bytes {
                    self.problem(name, format!("must be at most {max_bytes} bytes of JSON"));
                    None
                } else if nested_control(&value) {
                    self.problem(
                        name,
                        "must not contain control characters other than tabs and line breaks",
                    );
                    None
                } else {
                    Some(value)
                }
            }
            _ => {
                self.problem(name, "must be a JSON object");
                None
            }
        }
    }

    fn optional_bool(&mut self, name: &str) -> Option<bool> {
        match self.take(name)? {
            Value::Bool(flag) => Some(flag),
            _ => {
                self.problem(name, "must be true or false");
                None
            }
        }
    }
}
