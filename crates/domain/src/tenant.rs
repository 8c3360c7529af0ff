//! Tenants (the organisations an app serves) and the roles their members hold.

use crate::ParseError;
use crate::claims::TenantRoles;
use crate::ids::{AppId, TenantId, UserId};
use time::OffsetDateTime;

/// A tenant's name in tokens and API calls: `^[a-z0-9][a-z0-9-]{1,62}$`, unique within its app.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TenantSlug(String);

impl TenantSlug {
    /// # Errors
    /// [`ParseError`] unless `raw` is 2–63 lowercase letters, digits or dashes, not starting with a dash.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        crate::AppSlug::parse(raw).map(|slug| Self(slug.as_str().to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A role name: `^[a-z][a-z0-9_:-]{0,63}$`, e.g. `teacher` or `billing:admin`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleName(String);

impl RoleName {
    /// # Errors
    /// [`ParseError`] unless `raw` is a lowercase letter followed by up to 63 of `a-z 0-9 _ : -`.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bytes = raw.as_bytes();
        let well_formed = !bytes.is_empty()
            && bytes.len() <= 64
            && bytes[0].is_ascii_lowercase()
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_:-".contains(b));
        if well_formed {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParseError(
                "must be a lowercase letter then up to 63 of a-z, 0-9, _, : or -",
            ))
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An organisation within one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub app_id: AppId,
    pub slug: TenantSlug,
    pub name: String,
    pub created_at: OffsetDateTime,
}

impl Tenant {
    /// Checks a tenant name: 1–100 characters with no control characters.
    ///
    /// # Errors
    /// [`ParseError`] when the name is empty, too long or has control characters.
    pub fn parse_name(raw: &str) -> Result<String, ParseError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.chars().count() > 100 {
            return Err(ParseError("must be 1 to 100 characters"));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ParseError("must not contain control characters"));
        }
        Ok(trimmed.to_owned())
    }
}

/// The roles one user holds in one tenant. A membership with no roles does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub user_id: UserId,
    pub tenant: TenantSlug,
    /// Sorted, without duplicates.
    pub roles: Vec<String>,
}

/// The most tenants a token embeds.
pub const MAX_TOKEN_TENANTS: usize = 64;

/// The tenant claims of one token.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TenantClaims {
    pub tenants: TenantRoles,
    /// The scoped tenant and its roles, when the token was asked for one.
    pub scope: Option<(String, Vec<String>)>,
    pub truncated: bool,
}

impl TenantClaims {
    /// Builds the claims from every membership of the user, scoped to `scope` if given.
    ///
    /// A user in more than [`MAX_TOKEN_TENANTS`] tenants gets only the scoped tenant in
    /// `tenants` (none when unscoped) and `truncated`.
    ///
    /// # Errors
    /// [`ParseError`] when `scope` names a tenant the user is not a member of.
    pub fn build(memberships: &TenantRoles, scope: Option<&str>) -> Result<Self, ParseError> {
        let scope = match scope {
            Some(slug) => {
                let roles = memberships
                    .get(slug)
                    .ok_or(ParseError("the user has no membership in this tenant"))?;
                Some((slug.to_owned(), roles.clone()))
            }
            None => None,
        };
        if memberships.len() <= MAX_TOKEN_TENANTS {
            return Ok(Self {
                tenants: memberships.clone(),
                scope,
                truncated: false,
            });
        }
        let tenants = scope
            .iter()
            .map(|(slug, roles)| (slug.clone(), roles.clone()))
            .collect();
        Ok(Self {
            tenants,
            scope,
            truncated: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memberships(count: usize) -> TenantRoles {
        (0..count)
            .map(|i| (format!("school-{i:03}"), vec!["teacher".to_owned()]))
            .collect()
    }

    #[test]
    fn role_names_follow_the_contract() {
        for good in ["a", "teacher", "billing:admin", "x_1-2", &"a".repeat(64)] {
            assert!(RoleName::parse(good).is_ok(), "{good} should be accepted");
        }
        for bad in ["", "Teacher", "1st", "_x", "a b", "a/b", &"a".repeat(65)] {
            assert!(RoleName::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn up_to_64_tenants_travel_whole() {
        let claims = TenantClaims::build(&memberships(64), None).unwrap();
        assert_eq!(claims.tenants.len(), 64);
        assert!(!claims.truncated);
        assert_eq!(claims.scope, None);
    }

    #[test]
    fn beyond_64_only_the_scoped_tenant_travels_and_the_token_says_so() {
        let scoped = TenantClaims::build(&memberships(65), Some("school-007")).unwrap();
        assert_eq!(scoped.tenants.keys().collect::<Vec<_>>(), ["school-007"]);
        assert!(scoped.truncated);
        assert_eq!(
            scoped.scope,
            Some(("school-007".to_owned(), vec!["teacher".to_owned()]))
        );
        let unscoped = TenantClaims::build(&memberships(65), None).unwrap();
        assert!(unscoped.tenants.is_empty());
        assert!(unscoped.truncated);
    }

    /// The JSON block after the `<!-- example:NAME … -->` marker in docs/05, and the marker's argument.
    fn doc_example(name: &str) -> (serde_json::Value, Option<String>) {
        let doc = include_str!("../../../docs/05-roles-and-tenants.md");
        let marker = format!("<!-- example:{name}");
        let start = doc
            .find(&marker)
            .unwrap_or_else(|| panic!("docs/05 has no {marker}"));
        let rest = &doc[start + marker.len()..];
        let argument = rest[..rest.find("-->").unwrap()].trim();
        let block = &rest[rest.find("```json").unwrap() + "```json".len()..];
        let json = serde_json::from_str(&block[..block.find("```").unwrap()]).unwrap();
        (json, Some(argument.to_owned()).filter(|a| !a.is_empty()))
    }

    fn as_claims(claims: &TenantClaims) -> serde_json::Value {
        let mut value = serde_json::json!({ "tenants": claims.tenants });
        if let Some((tenant, roles)) = &claims.scope {
            value["tenant"] = serde_json::json!(tenant);
            value["roles"] = serde_json::json!(roles);
        }
        if claims.truncated {
            value["tenants_truncated"] = serde_json::json!(true);
        }
        value
    }

    #[test]
    fn the_documented_inspector_in_seventy_schools_gets_what_the_rule_produces() {
        let schools: TenantRoles = (1..=70)
            .map(|n| (format!("school-{n:03}"), vec!["inspector".to_owned()]))
            .collect();
        let (unscoped, _) = doc_example("claims-truncated");
        let (scoped, scope) = doc_example("claims-truncated-scoped");

        assert_eq!(
            as_claims(&TenantClaims::build(&schools, None).unwrap()),
            unscoped
        );
        assert_eq!(
            as_claims(&TenantClaims::build(&schools, scope.as_deref()).unwrap()),
            scoped
        );
    }

    #[test]
    fn the_worked_example_in_the_docs_is_what_the_rule_produces() {
        let (memberships, _) = doc_example("memberships");
        let memberships: TenantRoles = serde_json::from_value(memberships).unwrap();
        let (unscoped, _) = doc_example("claims-unscoped");
        let (scoped, scope) = doc_example("claims-scoped");

        assert_eq!(
            as_claims(&TenantClaims::build(&memberships, None).unwrap()),
            unscoped
        );
        assert_eq!(
            as_claims(&TenantClaims::build(&memberships, scope.as_deref()).unwrap()),
            scoped
        );
    }

    #[test]
    fn scoping_to_a_tenant_without_membership_is_refused() {
        assert!(TenantClaims::build(&memberships(2), Some("elsewhere")).is_err());
    }
}
