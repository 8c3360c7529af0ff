//! Response bodies, exactly as API.md shapes them.

use auth_domain::license::License;
use auth_domain::{Membership, Tenant, User};
use auth_ports::Activation;
use auth_usecases::{MeView, OtpSent, TokenGrant};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

#[derive(Debug, Serialize)]
pub struct UserBody {
    id: String,
    phone: Option<String>,
    email: Option<String>,
    created_at: String,
}

impl From<&User> for UserBody {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.as_str().to_owned(),
            phone: user.phone.as_ref().map(|phone| phone.as_str().to_owned()),
            email: user.email.as_ref().map(|email| email.as_str().to_owned()),
            created_at: rfc3339(user.created_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct OtpSentBody {
    otp_request_id: String,
    channel: &'static str,
    expires_in: i64,
    resend_after: i64,
    destination_hint: String,
}

impl From<OtpSent> for OtpSentBody {
    fn from(sent: OtpSent) -> Self {
        Self {
            otp_request_id: sent.otp_request_id.as_str().to_owned(),
            channel: sent.channel.as_str(),
            expires_in: sent.expires_in.whole_seconds(),
            resend_after: sent.resend_after.whole_seconds(),
            destination_hint: sent.destination_hint,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TokenBody {
    access_token: String,
    token_type: &'static str,
    expires_in: i64,
    refresh_token: String,
    refresh_expires_in: i64,
    session_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_new_user: Option<bool>,
    user: UserBody,
}

impl From<TokenGrant> for TokenBody {
    fn from(grant: TokenGrant) -> Self {
        Self {
            access_token: grant.access_token,
            token_type: "Bearer",
            expires_in: grant.expires_in.whole_seconds(),
            refresh_token: grant.refresh_token.reveal().to_owned(),
            refresh_expires_in: grant.refresh_expires_in.whole_seconds().max(0),
            session_id: grant.session_id.as_str().to_owned(),
            is_new_user: grant.is_new_user,
            user: UserBody::from(&grant.user),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct MeBody {
    user: UserBody,
    session_id: String,
    app_slug: String,
    tenants: auth_domain::claims::TenantRoles,
    expires_at: String,
}

impl From<MeView> for MeBody {
    fn from(view: MeView) -> Self {
        Self {
            user: UserBody::from(&view.user),
            session_id: view.session_id.as_str().to_owned(),
            app_slug: view.app_slug,
            tenants: view.tenants,
            expires_at: rfc3339(view.expires_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TenantBody {
    id: String,
    slug: String,
    name: String,
    created_at: String,
}

impl From<&Tenant> for TenantBody {
    fn from(tenant: &Tenant) -> Self {
        Self {
            id: tenant.id.as_str().to_owned(),
            slug: tenant.slug.as_str().to_owned(),
            name: tenant.name.clone(),
            created_at: rfc3339(tenant.created_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct MembershipBody {
    user_id: String,
    tenant: String,
    roles: Vec<String>,
}

impl From<&Membership> for MembershipBody {
    fn from(membership: &Membership) -> Self {
        Self {
            user_id: membership.user_id.as_str().to_owned(),
            tenant: membership.tenant.as_str().to_owned(),
            roles: membership.roles.clone(),
        }
    }
}

/// A license as the API shows it: never its key (the generate response adds that alone).
#[derive(Debug, Serialize)]
pub struct LicenseBody {
    id: String,
    product: Option<String>,
    status: &'static str,
    max_activations: u32,
    activations: u32,
    expires_at: Option<String>,
    user_id: Option<String>,
    tenant: Option<String>,
    metadata: serde_json::Value,
    created_at: String,
}

impl From<&License> for LicenseBody {
    fn from(license: &License) -> Self {
        Self {
            id: license.id.as_str().to_owned(),
            product: license.product.clone(),
            status: license.status.as_str(),
            max_activations: license.max_activations,
            activations: license.active_seats,
            expires_at: license.expires_at.map(rfc3339),
            user_id: license.user_id.as_ref().map(|id| id.as_str().to_owned()),
            tenant: license.tenant.clone(),
            metadata: license.metadata.clone(),
            created_at: rfc3339(license.created_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ActivationBody {
    id: String,
    license_id: String,
    device_name: Option<String>,
    created_at: String,
}

impl From<&Activation> for ActivationBody {
    fn from(activation: &Activation) -> Self {
        Self {
            id: activation.id.as_str().to_owned(),
            license_id: activation.license_id.as_str().to_owned(),
            device_name: activation.device_name.clone(),
            created_at: rfc3339(activation.created_at),
        }
    }
}
