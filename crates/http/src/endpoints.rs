//! Every endpoint of the API in one table. The routes are registered from it and the OpenAPI
//! document is made from it, so the document cannot miss an endpoint the server answers.

use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, Route, web};

use crate::app_call::{Answer, fail};
use crate::body_shape::BodyShape;
use crate::dto::{
    ActivationReply, AuditKeysBody, EventPage, JwksBody, LicenseCheckBody, LicensePage,
    LicenseReply, LogoutBody, MeBody, MembershipPage, MembershipReply, NewLicenseReply,
    OtpSentBody, StatusBody, TenantPage, TenantReply, TokenBody,
};
use crate::openapi::{SchemaOf, schema_of};
use crate::{ApiError, audit_routes, license_routes, openapi, request_id, routes, tenant_routes};

/// The methods the API answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Get,
    Post,
}

/// What a request carries besides its path.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Input {
    Nothing,
    /// `Authorization: Bearer <access token>`.
    Bearer,
    /// A JSON body with the app's credentials: the endpoint's own reading functions, run on a
    /// [`BodyShape`], describe it.
    AppCall(fn(&mut BodyShape)),
}

/// What a success carries.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Output {
    Json(SchemaOf),
    /// Another media type, with a schema-less body.
    Other(&'static str),
}

#[derive(Debug)]
pub(crate) struct Endpoint {
    pub verb: Verb,
    pub path: &'static str,
    pub tag: &'static str,
    pub summary: &'static str,
    pub input: Input,
    pub output: Output,
    /// The catalogue codes this endpoint answers besides those every call of its kind can.
    pub errors: &'static [&'static str],
    pub handler: fn() -> Route,
}

/// What a failed attempt with a licence can be told (besides the codes of every app call).
const LICENSE_ERRORS: &[&str] = &[
    "license_not_found",
    "license_revoked",
    "license_suspended",
    "license_expired",
    "activation_limit_reached",
    "device_not_activated",
];

/// Every endpoint, in the order API.md lists them.
pub(crate) static ENDPOINTS: &[Endpoint] = &[
    Endpoint {
        verb: Verb::Post,
        path: "/auth/send-otp",
        tag: "sign-in",
        summary: "Send a one-time code to a phone or an email address",
        input: Input::AppCall(|body| drop(routes::identifier(body))),
        output: Output::Json(schema_of::<OtpSentBody>),
        errors: &["app_in_sandbox", "delivery_failed"],
        handler: || web::route().to(routes::send_otp),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/auth/verify-otp",
        tag: "sign-in",
        summary: "Exchange a code for an access token and a refresh token",
        input: Input::AppCall(|body| drop(routes::otp_answer(body))),
        output: Output::Json(schema_of::<TokenBody>),
        errors: &[
            "otp_invalid",
            "otp_expired",
            "otp_max_attempts",
            "otp_not_found",
            "tenant_not_found",
        ],
        handler: || web::route().to(routes::verify_otp),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/auth/refresh",
        tag: "tokens",
        summary: "Rotate a refresh token: a new pair of tokens",
        input: Input::AppCall(|body| drop(routes::rotation(body))),
        output: Output::Json(schema_of::<TokenBody>),
        errors: &[
            "refresh_token_invalid",
            "refresh_token_expired",
            "refresh_token_reused",
            "session_revoked",
            "tenant_not_found",
        ],
        handler: || web::route().to(routes::refresh),
    },
    Endpoint {
        verb: Verb::Get,
        path: "/auth/me",
        tag: "tokens",
        summary: "The user, session and roles behind an access token",
        input: Input::Bearer,
        output: Output::Json(schema_of::<MeBody>),
        errors: &[
            "invalid_request",
            "token_missing",
            "token_invalid",
            "token_expired",
            "session_revoked",
        ],
        handler: || web::route().to(routes::me),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/auth/logout",
        tag: "tokens",
        summary: "End a session, or every session of its user",
        input: Input::AppCall(|body| drop(routes::ending(body))),
        output: Output::Json(schema_of::<LogoutBody>),
        errors: &["refresh_token_invalid"],
        handler: || web::route().to(routes::logout),
    },
    Endpoint {
        verb: Verb::Get,
        path: "/apps/{app_slug}/jwks.json",
        tag: "tokens",
        summary: "The app's public signing keys (RFC 7517)",
        input: Input::Nothing,
        output: Output::Json(schema_of::<JwksBody>),
        errors: &["not_found"],
        handler: || web::route().to(routes::jwks),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/tenants/create",
        tag: "tenants and roles",
        summary: "Create a tenant",
        input: Input::AppCall(|body| drop(tenant_routes::new_tenant(body))),
        output: Output::Json(schema_of::<TenantReply>),
        errors: &["tenant_exists"],
        handler: || web::route().to(tenant_routes::create_tenant),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/tenants/list",
        tag: "tenants and roles",
        summary: "The app's tenants, a page at a time",
        input: Input::AppCall(|body| drop(tenant_routes::tenant_page(body))),
        output: Output::Json(schema_of::<TenantPage>),
        errors: &[],
        handler: || web::route().to(tenant_routes::list_tenants),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/roles/assign",
        tag: "tenants and roles",
        summary: "Give a user a role in a tenant",
        input: Input::AppCall(|body| drop(tenant_routes::role_change(body))),
        output: Output::Json(schema_of::<MembershipReply>),
        errors: &["tenant_not_found", "user_not_found"],
        handler: || web::route().to(tenant_routes::assign_role),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/roles/revoke",
        tag: "tenants and roles",
        summary: "Take a role away from a user",
        input: Input::AppCall(|body| drop(tenant_routes::role_change(body))),
        output: Output::Json(schema_of::<MembershipReply>),
        errors: &["tenant_not_found", "user_not_found"],
        handler: || web::route().to(tenant_routes::revoke_role),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/roles/list",
        tag: "tenants and roles",
        summary: "A user's memberships, or a tenant's members",
        input: Input::AppCall(|body| drop(tenant_routes::membership_query(body))),
        output: Output::Json(schema_of::<MembershipPage>),
        errors: &["tenant_not_found", "user_not_found"],
        handler: || web::route().to(tenant_routes::list_roles),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/licenses/generate",
        tag: "licences",
        summary: "Generate a licence key; the key is shown only here",
        input: Input::AppCall(|body| drop(license_routes::terms(body))),
        output: Output::Json(schema_of::<NewLicenseReply>),
        errors: &["tenant_not_found", "user_not_found"],
        handler: || web::route().to(license_routes::generate),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/licenses/activate",
        tag: "licences",
        summary: "Take a seat for a device; answers a licence token",
        input: Input::AppCall(|body| drop(license_routes::activation(body))),
        output: Output::Json(schema_of::<ActivationReply>),
        errors: LICENSE_ERRORS,
        handler: || web::route().to(license_routes::activate),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/licenses/verify",
        tag: "licences",
        summary: "Check a key (and a device); the verdict is in `code`",
        input: Input::AppCall(|body| drop(license_routes::check(body))),
        output: Output::Json(schema_of::<LicenseCheckBody>),
        errors: &[],
        handler: || web::route().to(license_routes::verify),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/licenses/deactivate",
        tag: "licences",
        summary: "Free a device's seat",
        input: Input::AppCall(|body| drop(license_routes::key_and_device(body))),
        output: Output::Json(schema_of::<LicenseReply>),
        errors: LICENSE_ERRORS,
        handler: || web::route().to(license_routes::deactivate),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/licenses/suspend",
        tag: "licences",
        summary: "Suspend a licence until it is reinstated",
        input: Input::AppCall(|body| drop(license_routes::status_change(body))),
        output: Output::Json(schema_of::<LicenseReply>),
        errors: LICENSE_ERRORS,
        handler: || web::route().to(license_routes::suspend),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/licenses/reinstate",
        tag: "licences",
        summary: "Reinstate a suspended licence",
        input: Input::AppCall(|body| drop(license_routes::status_change(body))),
        output: Output::Json(schema_of::<LicenseReply>),
        errors: LICENSE_ERRORS,
        handler: || web::route().to(license_routes::reinstate),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/licenses/revoke",
        tag: "licences",
        summary: "Revoke a licence for good",
        input: Input::AppCall(|body| drop(license_routes::status_change(body))),
        output: Output::Json(schema_of::<LicenseReply>),
        errors: LICENSE_ERRORS,
        handler: || web::route().to(license_routes::revoke),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/licenses/list",
        tag: "licences",
        summary: "The app's licences, a page at a time",
        input: Input::AppCall(|body| drop(license_routes::license_query(body))),
        output: Output::Json(schema_of::<LicensePage>),
        errors: &[],
        handler: || web::route().to(license_routes::list),
    },
    Endpoint {
        verb: Verb::Post,
        path: "/audit/events",
        tag: "audit",
        summary: "The app's audit records, oldest first",
        input: Input::AppCall(|body| drop(audit_routes::event_query(body))),
        output: Output::Json(schema_of::<EventPage>),
        errors: &[],
        handler: || web::route().to(audit_routes::events),
    },
    Endpoint {
        verb: Verb::Get,
        path: "/audit/keys.json",
        tag: "audit",
        summary: "The engine's audit key (RFC 8037), which signs checkpoints and exports",
        input: Input::Nothing,
        output: Output::Json(schema_of::<AuditKeysBody>),
        errors: &[],
        handler: || web::route().to(audit_routes::keys),
    },
    Endpoint {
        verb: Verb::Get,
        path: "/healthz",
        tag: "operations",
        summary: "The process is up",
        input: Input::Nothing,
        output: Output::Json(schema_of::<StatusBody>),
        errors: &[],
        handler: || web::route().to(routes::healthz),
    },
    Endpoint {
        verb: Verb::Get,
        path: "/readyz",
        tag: "operations",
        summary: "The database answers (503 when it does not)",
        input: Input::Nothing,
        output: Output::Json(schema_of::<StatusBody>),
        errors: &["service_unavailable"],
        handler: || web::route().to(routes::readyz),
    },
    Endpoint {
        verb: Verb::Get,
        path: "/metrics",
        tag: "operations",
        summary: "Prometheus metrics",
        input: Input::Nothing,
        output: Output::Other("text/plain"),
        errors: &[],
        handler: || web::route().to(routes::metrics),
    },
    Endpoint {
        verb: Verb::Get,
        path: "/openapi.json",
        tag: "operations",
        summary: "This description of the API (OpenAPI 3.1)",
        input: Input::Nothing,
        output: Output::Json(openapi::document_schema),
        errors: &[],
        handler: || web::route().to(routes::openapi),
    },
];

/// Registers every endpoint of the table, the JSON 404 for unknown paths and the JSON 405 (with
/// `Allow`) for another method on a known path.
pub(crate) fn configure(config: &mut web::ServiceConfig) {
    for endpoint in ENDPOINTS {
        let (method, name) = match endpoint.verb {
            Verb::Get => (Method::GET, "GET"),
            Verb::Post => (Method::POST, "POST"),
        };
        let allow = HeaderValue::from_static(name);
        let other_methods =
            web::to(move |request: HttpRequest| method_not_allowed(request, allow.clone()));
        config.service(
            web::resource(endpoint.path)
                .route((endpoint.handler)().method(method))
                .default_service(other_methods),
        );
    }
    config.default_service(web::to(not_found));
}

async fn not_found(request: HttpRequest) -> Answer {
    Err(fail(&request)(ApiError::NotFound))
}

/// Another method on a known path: `method_not_allowed`, and `Allow` naming the one it takes.
async fn method_not_allowed(request: HttpRequest, allow: HeaderValue) -> HttpResponse {
    let mut response = ApiError::MethodNotAllowed.to_response(&request_id(&request));
    response.headers_mut().insert(header::ALLOW, allow);
    response
}
