//! The claims of an RS256 access token (`typ: at+jwt`).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Roles per tenant slug, as carried in the token.
pub type TenantRoles = BTreeMap<String, Vec<String>>;

/// Exactly the claims API.md names; optional ones are left out when empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    pub sid: String,
    pub app_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default)]
    pub tenants: TenantRoles,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenants_truncated: Option<bool>,
}

/// The JOSE `typ` of access tokens.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// The JOSE `typ` of license tokens.
pub const LICENSE_TOKEN_TYP: &str = "license+jwt";

/// The claims of a license token: what a client checks offline against the app's JWKS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LicenseClaims {
    pub iss: String,
    /// The app slug.
    pub aud: String,
    /// The license id.
    pub sub: String,
    pub exp: i64,
    pub iat: i64,
    pub nbf: i64,
    pub jti: String,
    pub app_id: String,
    /// The activation id.
    pub act: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// base64url of SHA-256 of the device fingerprint, which the client can recompute.
    pub device: String,
    /// `metadata.entitlements` of the license, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entitlements: Option<serde_json::Value>,
}
