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
