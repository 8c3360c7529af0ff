//! The license endpoints.

use actix_web::{HttpRequest, HttpResponse, web};
use auth_domain::TenantSlug;
use auth_domain::ids::{LicenseId, UserId};
use auth_domain::license::{LicenseAction, MAX_ACTIVATIONS, MAX_METADATA_BYTES};
use auth_usecases::{DEFAULT_PAGE_SIZE, LicenseName, LicenseTerms, MAX_PAGE_SIZE};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AppState;
use crate::body::JsonBody;
use crate::dto::{ActivationBody, LicenseBody};
use crate::routes::{Answer, app_body, auth_fail, fail, read, resource};

const MAX_KEY_CHARS: usize = 64;
const MAX_FINGERPRINT_CHARS: usize = 512;
const MAX_NAME_CHARS: usize = 100;
const MAX_REASON_CHARS: usize = 500;
const MAX_ID_CHARS: usize = 100;

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(resource("/licenses/generate").route(web::post().to(generate)))
        .service(resource("/licenses/activate").route(web::post().to(activate)))
        .service(resource("/licenses/verify").route(web::post().to(verify)))
        .service(resource("/licenses/deactivate").route(web::post().to(deactivate)))
        .service(resource("/licenses/suspend").route(web::post().to(suspend)))
        .service(resource("/licenses/reinstate").route(web::post().to(reinstate)))
        .service(resource("/licenses/revoke").route(web::post().to(revoke)))
        .service(resource("/licenses/list").route(web::post().to(list)));
}

fn license(license: &auth_domain::license::License) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "license": LicenseBody::from(license) }))
}

fn optional_user(body: &mut JsonBody) -> Option<UserId> {
    let raw = body.optional_str("user_id", MAX_ID_CHARS);
    body.parsed("user_id", raw, UserId::parse)
}

fn optional_tenant(body: &mut JsonBody) -> Option<TenantSlug> {
    let raw = body.optional_str("tenant", 63);
    body.parsed("tenant", raw, TenantSlug::parse)
}

/// The required `key` and `device_fingerprint` of a seat operation.
fn key_and_device(body: &mut JsonBody) -> Option<(String, String)> {
    let key = body.required_str("key", MAX_KEY_CHARS);
    let fingerprint = body.required_str("device_fingerprint", MAX_FINGERPRINT_CHARS);
    key.zip(fingerprint)
}

async fn generate(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let user_id = optional_user(&mut body);
    let tenant = optional_tenant(&mut body);
    let product = body.optional_str("product", MAX_NAME_CHARS);
    let max_activations = body
        .optional_u32("max_activations", 1, MAX_ACTIVATIONS)
        .unwrap_or(1);
    let expires_at = body.optional_str("expires_at", 64);
    let expires_at = body.parsed("expires_at", expires_at, |raw| {
        OffsetDateTime::parse(raw, &Rfc3339)
            .map_err(|_| auth_domain::ParseError("must be an RFC 3339 time"))
    });
    let metadata = body
        .optional_object("metadata", MAX_METADATA_BYTES)
        .unwrap_or_else(|| serde_json::json!({}));
    body.finish().map_err(fail(&request))?;
    let terms = LicenseTerms {
        user_id,
        tenant,
        product,
        max_activations,
        expires_at,
        metadata,
    };
    let (created, key) = state
        .service
        .generate_license(&credentials, terms, &caller)
        .await
        .map_err(auth_fail(&request))?;
    let mut shown = serde_json::to_value(LicenseBody::from(&created)).unwrap_or_default();
    shown["key"] = serde_json::json!(key.reveal());
    Ok(HttpResponse::Ok().json(serde_json::json!({ "license": shown })))
}

async fn activate(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let key_and_device = key_and_device(&mut body);
    let device_name = body.optional_str("device_name", MAX_NAME_CHARS);
    let (key, fingerprint) = read(&request, body, key_and_device)?;
    let activated = state
        .service
        .activate_license(&credentials, &key, &fingerprint, device_name, &caller)
        .await
        .map_err(auth_fail(&request))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "activation": ActivationBody::from(&activated.activation),
        "license": LicenseBody::from(&activated.license),
        "license_token": activated.license_token,
    })))
}

async fn verify(request: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let key = body.required_str("key", MAX_KEY_CHARS);
    let fingerprint = body.optional_str("device_fingerprint", MAX_FINGERPRINT_CHARS);
    body.finish().map_err(fail(&request))?;
    let key = key.unwrap_or_default();
    let (code, found) = state
        .service
        .verify_license(&credentials, &key, fingerprint.as_deref(), &caller)
        .await
        .map_err(auth_fail(&request))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "valid": code == auth_domain::license::VerifyCode::Valid,
        "code": code.as_str(),
        "license": found.as_ref().map(LicenseBody::from),
    })))
}

async fn deactivate(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let key_and_device = key_and_device(&mut body);
    let (key, fingerprint) = read(&request, body, key_and_device)?;
    let freed = state
        .service
        .deactivate_license(&credentials, &key, &fingerprint, &caller)
        .await
        .map_err(auth_fail(&request))?;
    Ok(license(&freed))
}

async fn change_status(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    action: LicenseAction,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let key = body.optional_str("key", MAX_KEY_CHARS);
    let id = body.optional_str("license_id", MAX_ID_CHARS);
    let reason = body.optional_str("reason", MAX_REASON_CHARS);
    let name = match (key, id) {
        (Some(key), None) => Some(LicenseName::Key(key)),
        (None, Some(id)) => body
            .parsed("license_id", Some(id), LicenseId::parse)
            .map(LicenseName::Id),
        _ => {
            body.problem("key", "give exactly one of key or license_id");
            None
        }
    };
    let name = read(&request, body, name)?;
    let changed = state
        .service
        .change_license_status(&credentials, name, action, reason, &caller)
        .await
        .map_err(auth_fail(&request))?;
    Ok(license(&changed))
}

async fn suspend(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    change_status(request, payload, state, LicenseAction::Suspend).await
}

async fn reinstate(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    change_status(request, payload, state, LicenseAction::Reinstate).await
}

async fn revoke(request: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Answer {
    change_status(request, payload, state, LicenseAction::Revoke).await
}

async fn list(request: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let user_id = optional_user(&mut body);
    let tenant = optional_tenant(&mut body);
    let cursor = body.optional_str("cursor", MAX_ID_CHARS);
    let cursor = body.parsed("cursor", cursor, LicenseId::parse);
    let limit = body
        .optional_u32("limit", 1, MAX_PAGE_SIZE)
        .unwrap_or(DEFAULT_PAGE_SIZE);
    body.finish().map_err(fail(&request))?;
    let page = state
        .service
        .list_licenses(&credentials, user_id, tenant, cursor, limit, &caller)
        .await
        .map_err(auth_fail(&request))?;
    let licenses: Vec<LicenseBody> = page.items.iter().map(LicenseBody::from).collect();
    Ok(HttpResponse::Ok()
        .json(serde_json::json!({ "licenses": licenses, "next_cursor": page.next_cursor })))
}
