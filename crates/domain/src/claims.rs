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

impl AccessClaims {
    /// Whether the token grants `role` in the tenant `tenant` (a slug). A token scoped to a tenant
    /// answers from its `roles`; any token answers from `tenants`. When `tenants_truncated` is
    /// set, `tenants` holds only the scoped tenant, so a `false` about another tenant means "ask
    /// `/roles/list`", not "no".
    #[must_use]
    pub fn has_role(&self, tenant: &str, role: &str) -> bool {
        let scoped = self.tenant.as_deref() == Some(tenant)
            && self
                .roles
                .as_ref()
                .is_some_and(|roles| roles.iter().any(|held| held == role));
        scoped
            || self
                .tenants
                .get(tenant)
                .is_some_and(|roles| roles.iter().any(|held| held == role))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(tenants: &[(&str, &[&str])]) -> AccessClaims {
        AccessClaims {
            iss: "https://auth.example".into(),
            aud: "school-app".into(),
            sub: "usr_1".into(),
            exp: 2,
            iat: 1,
            nbf: 1,
            jti: "jti".into(),
            sid: "ses_1".into(),
            app_id: "app_1".into(),
            phone: None,
            email: None,
            tenants: tenants
                .iter()
                .map(|(slug, roles)| {
                    let roles = roles.iter().map(ToString::to_string).collect();
                    ((*slug).to_owned(), roles)
                })
                .collect(),
            tenant: None,
            roles: None,
            tenants_truncated: None,
        }
    }

    #[test]
    fn a_role_counts_only_in_the_tenant_that_gave_it() {
        let token = claims(&[("springfield", &["teacher"]), ("shelbyville", &["parent"])]);

        assert!(token.has_role("springfield", "teacher"));
        assert!(!token.has_role("shelbyville", "teacher"));
        assert!(!token.has_role("springfield", "teach"));
        assert!(!token.has_role("ogdenville", "teacher"));
    }

    #[test]
    fn a_scoped_token_answers_from_its_roles_too() {
        let token = AccessClaims {
            tenant: Some("springfield".into()),
            roles: Some(vec!["principal".into()]),
            tenants_truncated: Some(true),
            ..claims(&[])
        };

        assert!(token.has_role("springfield", "principal"));
        assert!(!token.has_role("shelbyville", "principal"));
    }
}
