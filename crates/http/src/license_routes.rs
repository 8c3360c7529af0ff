//! The license endpoints.

use actix_web::{HttpRequest, HttpResponse, web};
use auth_domain::TenantSlug;
use auth_domain::ids::{LicenseId, UserId};
use auth_domain::license::{LicenseAction, MAX_ACTIVATIONS, MAX_METADATA_BYTES};
use auth_usecases::{DEFAULT_PAGE_SIZE, LicenseName, LicenseTerms, MAX_PAGE_SIZE};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::AppState;
use crate::app_call::{Answer, MAX_ID_CHARS, app_body, auth_fail, fail, read};
use crate::body::Fields;
use crate::dto::{
    ActivationBody, ActivationReply, LicenseBody, LicenseCheckBody, LicensePage, LicenseReply,
    NewLicenseBody, NewLicenseReply,
};

const MAX_KEY_CHARS: usize = 64;
const MAX_FINGERPRINT_CHARS: usize = 512;
const MAX_NAME_CHARS: usize = 100;
const MAX_REASON_CHARS: usize = 500;

fn license(license: &auth_domain::license::License) -> HttpResponse {
    HttpResponse::Ok().json(LicenseReply {
        license: LicenseBody::from(license),
    })
}

fn optional_user(body: &mut impl Fields) -> Option<UserId> {
    let raw = body.optional_str("user_id", MAX_ID_CHARS);
    body.parsed("user_id", raw, UserId::parse)
}

fn optional_tenant(body: &mut impl Fields) -> Option<TenantSlug> {
    let raw = body.optional_str("tenant", 63);
    body.parsed("tenant", raw, TenantSlug::parse)
}

/// The required `key` and `device_fingerprint` of a seat operation.
pub(crate) fn key_and_device(body: &mut impl Fields) -> Option<(String, String)> {
    let key = body.required_str("key", MAX_KEY_CHARS);
    let fingerprint = body.required_str("device_fingerprint", MAX_FINGERPRINT_CHARS);
    key.zip(fingerprint)
}

/// What a new licence grants, to whom, and until when.
pub(crate) fn terms(body: &mut impl Fields) -> LicenseTerms {
    let user_id = optional_user(body);
    let tenant = optional_tenant(body);
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
    LicenseTerms {
        user_id,
        tenant,
        product,
        max_activations,
        expires_at,
        metadata,
    }
}

pub(crate) async fn generate(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let terms = terms(&mut body);
    body.finish().map_err(fail(&request))?;
    let (created, key) = state
        .service
        .generate_license(&credentials, terms, &caller)
        .await
        .map_err(auth_fail(&request))?;
    Ok(HttpResponse::Ok().json(NewLicenseReply {
        license: NewLicenseBody::new(&created, key.reveal()),
    }))
}

/// The key, the device taking a seat, and the device's name.
pub(crate) fn activation(body: &mut impl Fields) -> (Option<(String, String)>, Option<String>) {
    let key_and_device = key_and_device(body);
    (
        key_and_device,
        body.optional_str("device_name", MAX_NAME_CHARS),
    )
}

pub(crate) async fn activate(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let (key_and_device, device_name) = activation(&mut body);
    let (key, fingerprint) = read(&request, body, key_and_device)?;
    let activated = state
        .service
        .activate_license(&credentials, &key, &fingerprint, device_name, &caller)
        .await
        .map_err(auth_fail(&request))?;
    Ok(HttpResponse::Ok().json(ActivationReply {
        activation: ActivationBody::from(&activated.activation),
        license: LicenseBody::from(&activated.license),
        license_token: activated.license_token,
    }))
}

/// The key to check, and the device that should hold a seat, if one is named.
pub(crate) fn check(body: &mut impl Fields) -> (Option<String>, Option<String>) {
    let key = body.required_str("key", MAX_KEY_CHARS);
    (
        key,
        body.optional_str("device_fingerprint", MAX_FINGERPRINT_CHARS),
    )
}

pub(crate) async fn verify(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let (key, fingerprint) = check(&mut body);
    body.finish().map_err(fail(&request))?;
    let key = key.unwrap_or_default();
    let (code, found) = state
        .service
        .verify_license(&credentials, &key, fingerprint.as_deref(), &caller)
        .await
        .map_err(auth_fail(&request))?;
    Ok(HttpResponse::Ok().json(LicenseCheckBody {
        valid: code == auth_domain::license::VerifyCode::Valid,
        code: code.as_str(),
        license: found.as_ref().map(LicenseBody::from),
    }))
}

pub(crate) async fn deactivate(
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

/// The licence to change, by key or id, and why.
pub(crate) fn status_change(body: &mut impl Fields) -> (Option<LicenseName>, Option<String>) {
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
    (name, reason)
}

async fn change_status(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    action: LicenseAction,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let (name, reason) = status_change(&mut body);
    let name = read(&request, body, name)?;
    let changed = state
        .service
        .change_license_status(&credentials, name, action, reason, &caller)
        .await
        .map_err(auth_fail(&request))?;
    Ok(license(&changed))
}

pub(crate) async fn suspend(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    change_status(request, payload, state, LicenseAction::Suspend).await
}

pub(crate) async fn reinstate(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    change_status(request, payload, state, LicenseAction::Reinstate).await
}

pub(crate) async fn revoke(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    change_status(request, payload, state, LicenseAction::Revoke).await
}

/// Whose licences to list, from where, and how many.
pub(crate) fn license_query(
    body: &mut impl Fields,
) -> (Option<UserId>, Option<TenantSlug>, Option<LicenseId>, u32) {
    let user_id = optional_user(body);
    let tenant = optional_tenant(body);
    let cursor = body.optional_str("cursor", MAX_ID_CHARS);
    let cursor = body.parsed("cursor", cursor, LicenseId::parse);
    let limit = body
        .optional_u32("limit", 1, MAX_PAGE_SIZE)
        .unwrap_or(DEFAULT_PAGE_SIZE);
    (user_id, tenant, cursor, limit)
}

pub(crate) async fn list(
    request: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Answer {
    let (mut body, credentials, caller) = app_body(&request, payload).await?;
    let (user_id, tenant, cursor, limit) = license_query(&mut body);
    body.finish().map_err(fail(&request))?;
    let page = state
        .service
        .list_licenses(&credentials, user_id, tenant, cursor, limit, &caller)
        .await
        .map_err(auth_fail(&request))?;
    Ok(HttpResponse::Ok().json(LicensePage {
        licenses: page.items.iter().map(LicenseBody::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
