//! Audit events: one immutable record of every auth event, written with the change it describes.

use crate::ids::{AppId, EventId};
use time::OffsetDateTime;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditKind {
    AppCreated,
    AppSecretRotated,
    AppKeyRotated,
    AppKeyRevoked,
    AppSettingsChanged,
    AppDisabled,
    AppEnabled,
    AppAuthFailed,
    AppApproved,
    AppSandboxed,
    TestIdentifierAdded,
    TestIdentifierRemoved,
    SandboxRefused,
    OtpSent,
    OtpDeliveryFailed,
    SmsCountryRefused,
    DeliveryCapReached,
    OtpVerifyFailed,
    OtpLocked,
    Login,
    Refresh,
    RefreshReuseDetected,
    Logout,
    SessionRevoked,
    RateLimited,
    TenantCreated,
    RoleAssigned,
    RoleRevoked,
    LicenseGenerated,
    LicenseActivated,
    LicenseActivationFailed,
    LicenseVerifyFailed,
    LicenseDeactivated,
    LicenseSuspended,
    LicenseReinstated,
    LicenseRevoked,
    AuditArchived,
}

impl AuditKind {
    /// The event name in records and in the API.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AppCreated => "app_created",
            Self::AppSecretRotated => "app_secret_rotated",
            Self::AppKeyRotated => "app_key_rotated",
            Self::AppKeyRevoked => "app_key_revoked",
            Self::AppDisabled => "app_disabled",
            Self::AppEnabled => "app_enabled",
            Self::AppSettingsChanged => "app_settings_changed",
            Self::AppAuthFailed => "app_auth_failed",
            Self::AppApproved => "app_approved",
            Self::AppSandboxed => "app_sandboxed",
            Self::TestIdentifierAdded => "test_identifier_added",
            Self::TestIdentifierRemoved => "test_identifier_removed",
            Self::SandboxRefused => "sandbox_refused",
            Self::OtpSent => "otp_sent",
            Self::OtpDeliveryFailed => "otp_delivery_failed",
            Self::SmsCountryRefused => "sms_country_refused",
            Self::DeliveryCapReached => "delivery_cap_reached",
            Self::OtpVerifyFailed => "otp_verify_failed",
            Self::OtpLocked => "otp_locked",
            Self::Login => "login",
            Self::Refresh => "refresh",
            Self::RefreshReuseDetected => "refresh_reuse_detected",
            Self::Logout => "logout",
            Self::SessionRevoked => "session_revoked",
            Self::RateLimited => "rate_limited",
            Self::TenantCreated => "tenant_created",
            Self::RoleAssigned => "role_assigned",
            Self::RoleRevoked => "role_revoked",
            Self::LicenseGenerated => "license_generated",
            Self::LicenseActivated => "license_activated",
            Self::LicenseActivationFailed => "license_activation_failed",
            Self::LicenseVerifyFailed => "license_verify_failed",
            Self::LicenseDeactivated => "license_deactivated",
            Self::LicenseSuspended => "license_suspended",
            Self::LicenseReinstated => "license_reinstated",
            Self::LicenseRevoked => "license_revoked",
            Self::AuditArchived => "audit_archived",
        }
    }

    #[must_use]
    pub fn outcome(self) -> Outcome {
        match self {
            Self::AppCreated
            | Self::AppSecretRotated
            | Self::AppKeyRotated
            | Self::AppKeyRevoked
            | Self::AppDisabled
            | Self::AppEnabled
            | Self::AppSettingsChanged
            | Self::AppApproved
            | Self::AppSandboxed
            | Self::TestIdentifierAdded
            | Self::TestIdentifierRemoved
            | Self::OtpSent
            | Self::Login
            | Self::Refresh
            | Self::Logout
            | Self::SessionRevoked
            | Self::TenantCreated
            | Self::RoleAssigned
            | Self::RoleRevoked
            | Self::LicenseGenerated
            | Self::LicenseActivated
            | Self::LicenseDeactivated
            | Self::LicenseSuspended
            | Self::LicenseReinstated
            | Self::LicenseRevoked
            | Self::AuditArchived => Outcome::Success,
            Self::AppAuthFailed
            | Self::SandboxRefused
            | Self::OtpDeliveryFailed
            | Self::SmsCountryRefused
            | Self::DeliveryCapReached
            | Self::OtpVerifyFailed
            | Self::OtpLocked
            | Self::RefreshReuseDetected
            | Self::RateLimited
            | Self::LicenseActivationFailed
            | Self::LicenseVerifyFailed => Outcome::Failure,
        }
    }
}

/// Whether the event records something that was allowed or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// Who caused a request, as the integrating backend reported it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditContext {
    pub request_id: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
}

/// One record. `details` holds ids and counts only, never a secret.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: EventId,
    pub app_id: Option<AppId>,
    pub kind: AuditKind,
    /// Who acted: a user id, or `app` for app-level calls.
    pub actor: Option<String>,
    /// What it acted on: a session, an OTP request, an app.
    pub subject: Option<String>,
    pub context: AuditContext,
    pub details: serde_json::Value,
    pub occurred_at: OffsetDateTime,
}

impl AuditEvent {
    /// An event with no actor, subject or details yet.
    #[must_use]
    pub fn new(
        id: EventId,
        app_id: Option<AppId>,
        kind: AuditKind,
        context: AuditContext,
        occurred_at: OffsetDateTime,
    ) -> Self {
        Self {
            id,
            app_id,
            kind,
            actor: None,
            subject: None,
            context,
            details: serde_json::Value::Object(serde_json::Map::new()),
            occurred_at,
        }
    }

    #[must_use]
    pub fn actor(mut self, actor: impl Into<String>) -> Self {
        self.actor = Some(actor.into());
        self
    }

    /// Sets the actor unless one is already named.
    #[must_use]
    pub fn actor_or(mut self, actor: impl Into<String>) -> Self {
        if self.actor.is_none() {
            self.actor = Some(actor.into());
        }
        self
    }

    #[must_use]
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    #[must_use]
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }

    /// The same event re-labelled, for a port that decides which of several outcomes happened.
    #[must_use]
    pub fn with_kind(mut self, kind: AuditKind) -> Self {
        self.kind = kind;
        self
    }
}

impl AuditKind {
    /// Every event the engine writes: the catalogue, which docs/audit-log.md documents.
    pub const ALL: [Self; 37] = [
        Self::AppCreated,
        Self::AppSecretRotated,
        Self::AppKeyRotated,
        Self::AppKeyRevoked,
        Self::AppDisabled,
        Self::AppEnabled,
        Self::AppSettingsChanged,
        Self::AppAuthFailed,
        Self::AppApproved,
        Self::AppSandboxed,
        Self::TestIdentifierAdded,
        Self::TestIdentifierRemoved,
        Self::SandboxRefused,
        Self::OtpSent,
        Self::OtpDeliveryFailed,
        Self::SmsCountryRefused,
        Self::DeliveryCapReached,
        Self::OtpVerifyFailed,
        Self::OtpLocked,
        Self::Login,
        Self::Refresh,
        Self::RefreshReuseDetected,
        Self::Logout,
        Self::SessionRevoked,
        Self::RateLimited,
        Self::TenantCreated,
        Self::RoleAssigned,
        Self::RoleRevoked,
        Self::LicenseGenerated,
        Self::LicenseActivated,
        Self::LicenseActivationFailed,
        Self::LicenseVerifyFailed,
        Self::LicenseDeactivated,
        Self::LicenseSuspended,
        Self::LicenseReinstated,
        Self::LicenseRevoked,
        Self::AuditArchived,
    ];
}

#[cfg(test)]
mod tests {
    use super::AuditKind;
    use std::collections::BTreeSet;

    /// Names a kind by exhaustive match: a new variant does not compile until it is placed here,
    /// and so until it is in [`AuditKind::ALL`] and the documented catalogue.
    fn listed(kind: AuditKind) -> bool {
        match kind {
            AuditKind::AppCreated
            | AuditKind::AppSecretRotated
            | AuditKind::AppKeyRotated
            | AuditKind::AppKeyRevoked
            | AuditKind::AppDisabled
            | AuditKind::AppEnabled
            | AuditKind::AppSettingsChanged
            | AuditKind::AppAuthFailed
            | AuditKind::AppApproved
            | AuditKind::AppSandboxed
            | AuditKind::TestIdentifierAdded
            | AuditKind::TestIdentifierRemoved
            | AuditKind::SandboxRefused
            | AuditKind::OtpSent
            | AuditKind::OtpDeliveryFailed
            | AuditKind::SmsCountryRefused
            | AuditKind::DeliveryCapReached
            | AuditKind::OtpVerifyFailed
            | AuditKind::OtpLocked
            | AuditKind::Login
            | AuditKind::Refresh
            | AuditKind::RefreshReuseDetected
            | AuditKind::Logout
            | AuditKind::SessionRevoked
            | AuditKind::RateLimited
            | AuditKind::TenantCreated
            | AuditKind::RoleAssigned
            | AuditKind::RoleRevoked
            | AuditKind::LicenseGenerated
            | AuditKind::LicenseActivated
            | AuditKind::LicenseActivationFailed
            | AuditKind::LicenseVerifyFailed
            | AuditKind::LicenseDeactivated
            | AuditKind::LicenseSuspended
            | AuditKind::LicenseReinstated
            | AuditKind::LicenseRevoked
            | AuditKind::AuditArchived => AuditKind::ALL.contains(&kind),
        }
    }

    /// Every record is written from an `AuditKind`, so the names the engine can write are exactly
    /// `ALL`'s; docs/audit-log.md's catalogue must list the same names.
    #[test]
    fn the_engine_writes_only_catalogued_event_names() {
        assert!(AuditKind::ALL.iter().all(|kind| listed(*kind)));
        let written: BTreeSet<&str> = AuditKind::ALL.iter().map(|kind| kind.as_str()).collect();
        assert_eq!(
            written.len(),
            AuditKind::ALL.len(),
            "two kinds share a name"
        );
        let doc = include_str!("../../../docs/audit-log.md");
        // The catalogue is the table under the first heading that names it, up to the next heading.
        let start = doc
            .lines()
            .position(|l| l.starts_with('#') && l.to_lowercase().contains("catalogue"))
            .unwrap();
        let catalogued: BTreeSet<&str> = doc
            .lines()
            .skip(start + 1)
            .take_while(|line| !line.starts_with('#'))
            .filter_map(|line| line.strip_prefix("| `")?.split('`').next())
            .filter(|name| name.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
            .collect();
        assert_eq!(catalogued, written);
    }
}
