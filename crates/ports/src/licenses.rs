//! Licenses and device activations, per app. Every method filters by app.

use async_trait::async_trait;
use auth_domain::ids::{ActivationId, AppId, LicenseId, UserId};
use auth_domain::license::{License, LicenseAction, VerifyCode};
use auth_domain::{AuditEvent, TenantSlug};
use time::OffsetDateTime;

use crate::{Digest, StoreError};

/// A new license and the keyed hash of its key (the key itself is never stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewLicense {
    pub license: License,
    pub key_hash: Digest,
}

/// Why a license could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateLicenseError {
    #[error("no such user in this app")]
    UserNotFound,
    #[error("no such tenant in this app")]
    TenantNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How an operator names a license.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LicenseRef {
    Key(Digest),
    Id(LicenseId),
}

/// One device taking a seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activate {
    pub app_id: AppId,
    pub key_hash: Digest,
    /// Keyed hash of the device fingerprint, as stored.
    pub device_hash: Digest,
    pub device_name: Option<String>,
    /// The id a new activation gets.
    pub activation_id: ActivationId,
    pub now: OffsetDateTime,
}

/// A device's seat on a license.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    pub id: ActivationId,
    pub license_id: LicenseId,
    pub device_name: Option<String>,
    pub created_at: OffsetDateTime,
}

/// How an activation ended. Audit: `license_activated` when a seat was taken,
/// `license_activation_failed` for every refusal (none for an idempotent repeat).
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one short-lived value per request; boxing buys nothing"
)]
pub enum ActivateOutcome {
    /// The device holds a seat; `new` is false when it already did.
    Activated {
        license: License,
        activation: Activation,
        new: bool,
    },
    NotFound,
    /// Revoked, suspended or expired (the code says which).
    Refused(VerifyCode),
    LimitReached,
}

/// How a deactivation ended. Audit: `license_deactivated` when a seat was freed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeactivateOutcome {
    Deactivated(License),
    NotFound,
    NotActivated,
}

/// How a state change ended. Audit: `license_suspended`, `license_reinstated` or `license_revoked`
/// when the state changed (the adapter labels the event from the action).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusOutcome {
    /// The license as it now is, whether or not this call changed it.
    Done(License),
    NotFound,
    /// The license is revoked, and revoked is final.
    Revoked,
}

/// Licenses and who holds a seat on them.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait LicenseStore: Send + Sync {
    /// Stores the license and `license_generated`.
    ///
    /// MUST return [`CreateLicenseError::UserNotFound`] / [`CreateLicenseError::TenantNotFound`] for
    /// a user or tenant that is not the app's.
    async fn create_license(
        &self,
        new: NewLicense,
        audit: AuditEvent,
    ) -> Result<(), CreateLicenseError>;
    /// Gives the device a seat. MUST be exact under concurrency: with one seat left, exactly one of
    /// any number of concurrent activations from different devices succeeds.
    async fn activate(
        &self,
        cmd: Activate,
        audit: AuditEvent,
    ) -> Result<ActivateOutcome, StoreError>;
    /// Checks a key (and, if given, a device) at `now`; writes `license_verify_failed` with the code
    /// unless it is `Valid`.
    async fn check(
        &self,
        app_id: &AppId,
        key_hash: Digest,
        device_hash: Option<Digest>,
        now: OffsetDateTime,
        audit: AuditEvent,
    ) -> Result<(Option<License>, VerifyCode), StoreError>;
    /// Frees the device's seat.
    async fn deactivate(
        &self,
        app_id: &AppId,
        key_hash: Digest,
        device_hash: Digest,
        now: OffsetDateTime,
        audit: AuditEvent,
    ) -> Result<DeactivateOutcome, StoreError>;
    /// Suspends, reinstates or revokes (idempotent; revoked is final).
    async fn change_status(
        &self,
        app_id: &AppId,
        license: LicenseRef,
        action: LicenseAction,
        now: OffsetDateTime,
        audit: AuditEvent,
    ) -> Result<StatusOutcome, StoreError>;
    /// The app's licenses in id order, optionally one user's or one tenant's, after `after`.
    async fn list_licenses(
        &self,
        app_id: &AppId,
        user_id: Option<UserId>,
        tenant: Option<TenantSlug>,
        after: Option<LicenseId>,
        limit: u32,
    ) -> Result<Vec<License>, StoreError>;
}
