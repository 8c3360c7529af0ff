//! The OpenAPI 3.1 document, made from the endpoint table: request bodies from the endpoints' own
//! reading functions, responses from the structs that serialize them, errors from the catalogue.

use actix_web::web::Bytes;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

use crate::app_call::app_fields;
use crate::body_shape::BodyShape;
use crate::endpoints::{ENDPOINTS, Endpoint, Input, Output, Verb};
use crate::error::{ErrorBody, catalogue_status};

/// Named schemas that others refer to, as utoipa collects them.
pub(crate) type Components = Vec<(String, RefOr<Schema>)>;

/// Writes a type's schema (and those it refers to) into the components; answers a reference to it.
pub(crate) type SchemaOf = fn(&mut Components) -> Value;

pub(crate) fn schema_of<T: ToSchema>(components: &mut Components) -> Value {
    let name = T::name().into_owned();
    T::schemas(components);
    components.push((name.clone(), T::schema()));
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// `/openapi.json` answers an OpenAPI document; its own schema is the OpenAPI specification's.
pub(crate) fn document_schema(_: &mut Components) -> Value {
    json!({
        "type": "object",
        "required": ["openapi", "info", "paths"],
        "properties": { "openapi": { "type": "string", "const": "3.1.0" } },
    })
}

/// A page of the developer portal: HTML for browsers, listed so the document names every route.
#[derive(Debug, Clone)]
pub struct HtmlPage {
    pub verb: Verb,
    pub path: String,
    pub summary: &'static str,
}

/// The API's OpenAPI document, made once at start and served as it is.
#[derive(Debug, Clone)]
pub struct ApiDocument {
    json: Bytes,
}

impl ApiDocument {
    /// The document for an engine reached at `public_url`, with the portal's `pages`.
    #[must_use]
    pub fn new(public_url: &str, pages: &[HtmlPage]) -> Self {
        let document = document(public_url, pages);
        Self {
            json: Bytes::from(document.to_string()),
        }
    }

    pub(crate) fn json(&self) -> Bytes {
        self.json.clone()
    }
}

/// The codes every endpoint taking a kind of input can answer.
fn common_errors(input: Input) -> &'static [&'static str] {
    match input {
        Input::Nothing => &["internal_error"],
        Input::Bearer => &["service_unavailable", "internal_error"],
        Input::AppCall(_) => &[
            "invalid_request",
            "invalid_app_credentials",
            "app_disabled",
            "payload_too_large",
            "unsupported_media_type",
            "rate_limited",
            "service_unavailable",
            "internal_error",
        ],
    }
}

fn method(verb: Verb) -> &'static str {
    match verb {
        Verb::Get => "get",
        Verb::Post => "post",
    }
}

/// `post_auth_send_otp` for `POST /auth/send-otp`.
fn operation_id(verb: Verb, path: &str) -> String {
    let words: Vec<&str> = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    format!("{}_{}", method(verb), words.join("_"))
}

/// The `{name}` segments of a path, as path parameters.
fn path_parameters(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
        .collect()
}

const REQUEST_ID: &str = "#/components/headers/X-Request-Id";

/// The error responses of an endpoint, one per status, each naming the codes it can carry.
fn error_responses(endpoint: &Endpoint, responses: &mut Map<String, Value>) {
    let mut by_status: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for code in common_errors(endpoint.input).iter().chain(endpoint.errors) {
        let codes = by_status.entry(catalogue_status(code)).or_default();
        if !codes.contains(code) {
            codes.push(code);
        }
    }
    for (status, codes) in by_status {
        let mut headers = json!({ "X-Request-Id": { "$ref": REQUEST_ID } });
        if codes.contains(&"rate_limited") {
            headers["Retry-After"] = json!({
                "description": "With `rate_limited`: seconds until a retry can succeed.",
                "schema": { "type": "integer", "minimum": 1 },
            });
        }
        if codes.contains(&"service_unavailable") {
            headers["Retry-After"] = json!({
                "description": "With `service_unavailable`: seconds to wait before retrying the same request, which is always safe to retry.",
                "schema": { "type": "integer", "minimum": 1 },
            });
        }
        if codes.iter().any(|code| code.starts_with("token_")) {
            headers["WWW-Authenticate"] = json!({
                "description": "With `token_missing`, `token_invalid` and `token_expired`: `Bearer`.",
                "schema": { "type": "string" },
            });
        }
        let description = codes
            .iter()
            .map(|code| format!("`{code}`"))
            .collect::<Vec<_>>()
            .join(", ");
        responses.insert(
            status.to_string(),
            json!({
                "description": description,
                "headers": headers,
                "content": { "application/json": { "schema": {
                    "allOf": [
                        { "$ref": "#/components/schemas/Error" },
                        { "properties": { "error": { "enum": codes } } },
                    ],
                } } },
            }),
        );
    }
}

fn operation(endpoint: &Endpoint, components: &mut Components) -> Value {
    let mut operation = json!({
        "tags": [endpoint.tag],
        "summary": endpoint.summary,
        "operationId": operation_id(endpoint.verb, endpoint.path),
    });
    let parameters = path_parameters(endpoint.path);
    if !parameters.is_empty() {
        operation["parameters"] = json!(parameters);
    }
    match endpoint.input {
        Input::Nothing => {}
        Input::Bearer => operation["security"] = json!([{ "bearer": [] }]),
        Input::AppCall(read) => {
            let schema = BodyShape::of(|body| {
                app_fields(body);
                read(body);
            });
            operation["requestBody"] = json!({
                "required": true,
                "content": { "application/json": { "schema": schema } },
            });
        }
    }
    let (media, schema) = match endpoint.output {
        Output::Json(schema_of) => ("application/json", schema_of(components)),
        Output::Other(media) => (media, json!({ "type": "string" })),
    };
    let mut responses = Map::new();
    responses.insert(
        "200".to_owned(),
        json!({
            "description": "Success",
            "headers": { "X-Request-Id": { "$ref": REQUEST_ID } },
            "content": { media: { "schema": schema } },
        }),
    );
    error_responses(endpoint, &mut responses);
    operation["responses"] = Value::Object(responses);
    operation
}

fn html_operation(page: &HtmlPage) -> Value {
    let media = if page.path.ends_with(".css") {
        "text/css"
    } else if page.path.ends_with(".js") {
        "text/javascript"
    } else {
        "text/html"
    };
    let mut operation = json!({
        "tags": ["portal"],
        "summary": page.summary,
        "operationId": operation_id(page.verb, &page.path),
        "responses": {
            "200": { "description": "The page", "content": { media: {} } },
            "303": { "description": "Where to go next (signing in, or the page a form changed)" },
            "default": {
                "description": "A page saying what went wrong, with the catalogue's status",
                "content": { "text/html": {} },
            },
        },
    });
    let parameters = path_parameters(&page.path);
    if !parameters.is_empty() {
        operation["parameters"] = json!(parameters);
    }
    if page.verb == Verb::Post {
        operation["requestBody"] = json!({
            "required": true,
            "content": { "application/x-www-form-urlencoded": {
                "schema": { "type": "object", "required": ["csrf"] },
            } },
        });
    }
    operation
}

fn document(public_url: &str, pages: &[HtmlPage]) -> Value {
    let mut components = Components::new();
    schema_of::<ErrorBody>(&mut components);
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for endpoint in ENDPOINTS {
        let operation = operation(endpoint, &mut components);
        paths
            .entry(endpoint.path.to_owned())
            .or_default()
            .insert(method(endpoint.verb).to_owned(), operation);
    }
    for page in pages {
        paths
            .entry(page.path.clone())
            .or_default()
            .insert(method(page.verb).to_owned(), html_operation(page));
    }
    let schemas: BTreeMap<String, RefOr<Schema>> = components.into_iter().collect();
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Auth Engine",
            "version": env!("CARGO_PKG_VERSION"),
            "summary": "One-time-code sign-in, rotating tokens, tenants and roles, licences and an audit log",
            "description": "App calls carry `app_id` and `app_secret` in their JSON body. Every \
                response has an `X-Request-Id` header; every error body is `Error`, its `error` one \
                of the catalogue's codes. An unknown path answers 404 `not_found` and a known path \
                asked with another method 405 `method_not_allowed`. The developer portal's pages \
                (tag `portal`) are HTML for browsers.",
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" },
        },
        "servers": [{ "url": public_url }],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "headers": {
                "X-Request-Id": {
                    "description": "The request's id, as in error bodies and the engine's logs.",
                    "required": true,
                    "schema": { "type": "string" },
                },
            },
            "securitySchemes": {
                "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CATALOGUE;

    fn sample() -> Value {
        let page = HtmlPage {
            verb: Verb::Post,
            path: "/portal/apps/{slug}/key".to_owned(),
            summary: "Rotate the signing key",
        };
        document("https://auth.example.com", &[page])
    }

    #[test]
    fn every_error_an_endpoint_names_is_in_the_catalogue() {
        for endpoint in ENDPOINTS {
            for code in common_errors(endpoint.input).iter().chain(endpoint.errors) {
                assert!(
                    CATALOGUE.iter().any(|(_, known)| known == code),
                    "{} names {code}, which the catalogue lacks",
                    endpoint.path
                );
            }
        }
    }

    #[test]
    fn errors_are_grouped_by_their_catalogue_status() {
        let document = sample();
        let verify = &document["paths"]["/auth/verify-otp"]["post"]["responses"];
        let codes = |status: &str| {
            verify[status]["content"]["application/json"]["schema"]["allOf"][1]["properties"]
                ["error"]["enum"]
                .clone()
        };
        assert_eq!(
            codes("401"),
            json!(["invalid_app_credentials", "otp_invalid"])
        );
        assert_eq!(codes("429"), json!(["rate_limited", "otp_max_attempts"]));
        assert_eq!(codes("410"), json!(["otp_expired"]));
        assert!(verify["429"]["headers"]["Retry-After"].is_object());
        assert!(verify.get("409").is_none(), "verify-otp never answers 409");
    }

    #[test]
    fn app_calls_describe_the_body_their_handlers_read() {
        let document = sample();
        let body = &document["paths"]["/auth/send-otp"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"];
        assert_eq!(body["required"], json!(["app_id", "app_secret"]));
        assert_eq!(body["properties"]["phone"]["maxLength"], 16);
        assert_eq!(body["properties"]["email"]["maxLength"], 254);
        assert!(
            body["description"]
                .as_str()
                .is_some_and(|rules| rules.contains("one of phone or email is required"))
        );
        let events = &document["paths"]["/audit/events"]["post"]["requestBody"]["content"]["application/json"]
            ["schema"]["properties"]["limit"];
        assert_eq!(events["maximum"], auth_usecases::MAX_EVENTS_PAGE);
    }

    #[test]
    fn responses_refer_to_schemas_the_document_holds() {
        let document = sample();
        let text = document.to_string();
        for (at, _) in text.match_indices("#/components/schemas/") {
            let name: String = text[at + 21..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            assert!(
                document["components"]["schemas"].get(&name).is_some(),
                "{name} is referred to but missing"
            );
        }
        let me = &document["paths"]["/auth/me"]["get"];
        assert_eq!(me["security"], json!([{ "bearer": [] }]));
        assert_eq!(
            me["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/MeBody"
        );
    }

    #[test]
    fn fields_that_may_be_null_are_still_always_present() {
        let document = sample();
        let schemas = &document["components"]["schemas"];
        let required = |name: &str| schemas[name]["required"].clone();
        let user = required("UserBody");
        assert!(
            user.as_array()
                .is_some_and(|fields| fields.contains(&json!("phone")))
        );
        assert!(
            user.as_array()
                .is_some_and(|fields| fields.contains(&json!("email")))
        );
        let page = required("TenantPage");
        assert!(
            page.as_array()
                .is_some_and(|fields| fields.contains(&json!("next_cursor")))
        );
        let token = required("TokenBody");
        assert!(
            token
                .as_array()
                .is_some_and(|fields| !fields.contains(&json!("is_new_user"))),
            "refresh answers leave is_new_user out"
        );
        assert_eq!(
            schemas["UserBody"]["properties"]["phone"]["type"],
            json!(["string", "null"])
        );
    }

    #[test]
    fn every_templated_path_declares_its_parameters() {
        let document = sample();
        let paths = document["paths"].as_object().expect("paths");
        assert!(paths.contains_key("/portal/apps/{slug}/key"));
        for (path, item) in paths {
            for operation in item.as_object().expect("a path item").values() {
                let declared: Vec<&str> = operation["parameters"]
                    .as_array()
                    .map(|list| list.iter().filter_map(|p| p["name"].as_str()).collect())
                    .unwrap_or_default();
                let templated: Vec<&str> = path
                    .split('/')
                    .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                    .collect();
                assert_eq!(declared, templated, "{path}");
            }
        }
    }

    #[test]
    fn operation_ids_are_unique_and_readable() {
        assert_eq!(
            operation_id(Verb::Post, "/auth/send-otp"),
            "post_auth_send_otp"
        );
        let document = sample();
        let mut ids: Vec<&str> = document["paths"]
            .as_object()
            .expect("paths")
            .values()
            .flat_map(|item| item.as_object().expect("a path item").values())
            .filter_map(|operation| operation["operationId"].as_str())
            .collect();
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "an operationId is used twice");
    }
}
