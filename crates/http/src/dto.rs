//! Response bodies, exactly as API.md shapes them. A field that may be `null` is still always
//! present, so its schema marks it required; only `is_new_user` is left out where it does not apply.

use auth_domain::chain::StoredEvent;
use auth_domain::license::License;
use auth_domain::{Membership, Tenant, User};
use auth_ports::{Activation, AuditPublicKey, PublicJwk};
use auth_usecases::{MeView, OtpSent, TokenGrant};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody {
    id: String,
    #[schema(required = true)]
    phone: Option<String>,
    #[schema(required = true)]
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

#[derive(Debug, Serialize, ToSchema)]
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

#[derive(Debug, Serialize, ToSchema)]
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

#[derive(Debug, Serialize, ToSchema)]
pub struct MeBody {
    user: UserBody,
    session_id: String,
    app_slug: String,
    /// Tenant slug → the role names the user holds there.
    #[schema(value_type = BTreeMap<String, Vec<String>>)]
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

#[derive(Debug, Serialize, ToSchema)]
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

#[derive(Debug, Serialize, ToSchema)]
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
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseBody {
    id: String,
    #[schema(required = true)]
    product: Option<String>,
    status: &'static str,
    max_activations: u32,
    activations: u32,
    #[schema(required = true)]
    expires_at: Option<String>,
    #[schema(required = true)]
    user_id: Option<String>,
    #[schema(required = true)]
    tenant: Option<String>,
    #[schema(value_type = Object)]
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

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivationBody {
    id: String,
    license_id: String,
    #[schema(required = true)]
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

/// A licence as `/licenses/generate` shows it, once: with its key.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewLicenseBody {
    #[serde(flatten)]
    license: LicenseBody,
    key: String,
}

impl NewLicenseBody {
    pub fn new(license: &License, key: &str) -> Self {
        Self {
            license: LicenseBody::from(license),
            key: key.to_owned(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LogoutBody {
    pub revoked_sessions: u64,
}

/// One public key of an app (RFC 7517).
#[derive(Debug, Serialize, ToSchema)]
pub struct JwkBody {
    kid: String,
    kty: &'static str,
    alg: &'static str,
    #[serde(rename = "use")]
    use_: &'static str,
    n: String,
    e: String,
}

impl From<PublicJwk> for JwkBody {
    fn from(key: PublicJwk) -> Self {
        Self {
            kid: key.kid,
            kty: "RSA",
            alg: "RS256",
            use_: "sig",
            n: key.n,
            e: key.e,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JwksBody {
    pub keys: Vec<JwkBody>,
}

/// The engine's audit key (RFC 8037): what checkpoints and exports are signed with.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditJwkBody {
    kid: String,
    kty: &'static str,
    crv: &'static str,
    alg: &'static str,
    #[serde(rename = "use")]
    use_: &'static str,
    x: String,
}

impl From<AuditPublicKey> for AuditJwkBody {
    fn from(key: AuditPublicKey) -> Self {
        Self {
            kid: key.kid,
            kty: "OKP",
            crv: "Ed25519",
            alg: "EdDSA",
            use_: "sig",
            x: key.x,
        }
    }
}

/// The JWK Set of the audit key: `GET /audit/keys.json` and `auth-engine audit key`.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditKeysBody {
    pub keys: Vec<AuditJwkBody>,
}

impl From<AuditPublicKey> for AuditKeysBody {
    fn from(key: AuditPublicKey) -> Self {
        Self {
            keys: vec![key.into()],
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusBody {
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantReply {
    pub tenant: TenantBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TenantPage {
    pub tenants: Vec<TenantBody>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipReply {
    pub membership: MembershipBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipPage {
    pub memberships: Vec<MembershipBody>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseReply {
    pub license: LicenseBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewLicenseReply {
    pub license: NewLicenseBody,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivationReply {
    pub activation: ActivationBody,
    pub license: LicenseBody,
    /// An RS256 JWT (`typ: license+jwt`) to verify offline against the app's JWKS.
    pub license_token: String,
}

/// `/licenses/verify`'s answer: always 200, the verdict in `code`.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseCheckBody {
    pub valid: bool,
    /// `VALID`, `NOT_FOUND`, `REVOKED`, `SUSPENDED`, `EXPIRED`, `NOT_ACTIVATED` or `DEVICE_MISMATCH`.
    pub code: &'static str,
    #[schema(required = true)]
    pub license: Option<LicenseBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LicensePage {
    pub licenses: Vec<LicenseBody>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}

/// One audit record.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventBody {
    id: String,
    /// The record's place in the app's log: what `cursor` counts.
    seq: i64,
    occurred_at: String,
    event: String,
    outcome: String,
    #[schema(required = true)]
    actor: Option<String>,
    #[schema(required = true)]
    subject: Option<String>,
    #[schema(required = true)]
    client_ip: Option<String>,
    #[schema(required = true)]
    user_agent: Option<String>,
    #[schema(required = true)]
    request_id: Option<String>,
    #[schema(value_type = Object)]
    details: serde_json::Value,
}

impl EventBody {
    pub fn new(position: i64, event: &StoredEvent) -> Self {
        Self {
            id: event.id.clone(),
            seq: position,
            occurred_at: OffsetDateTime::from_unix_timestamp_nanos(
                i128::from(event.occurred_at) * 1000,
            )
            .map(rfc3339)
            .unwrap_or_default(),
            event: event.event.clone(),
            outcome: event.outcome.clone(),
            actor: event.actor.clone(),
            subject: event.subject.clone(),
            client_ip: event.client_ip.clone(),
            user_agent: event.user_agent.clone(),
            request_id: event.request_id.clone(),
            details: event.details_value(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<EventBody>,
    #[schema(required = true)]
    pub next_cursor: Option<String>,
}
