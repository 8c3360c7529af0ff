//! The sandbox an app made in the portal starts in: where it may send codes until the operator
//! approves it.

use async_trait::async_trait;
use auth_domain::ids::AppId;
use auth_domain::{App, AuditEvent, Identifier};
use time::OffsetDateTime;

use crate::StoreError;

/// What adding a test identifier did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddTestIdentifier {
    Added,
    /// It was on the list already; nothing changed.
    AlreadyListed,
    /// The app has the most it may have; nothing changed.
    Full,
}

/// Sandboxed apps' recipients, and the operator's approval.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SandboxStore: Send + Sync {
    /// Whether a sandboxed app may send to `identifier`: it is one of the app's test identifiers,
    /// or the sign-in identifier of the app's owner.
    async fn may_receive(&self, app: &App, identifier: &Identifier) -> Result<bool, StoreError>;

    /// The app's test identifiers, oldest first.
    async fn test_identifiers(&self, app_id: &AppId) -> Result<Vec<Identifier>, StoreError>;

    /// Adds a test identifier and appends `audit`, in one transaction that holds the app's row, so
    /// racing additions never take the app past `max`.
    ///
    /// MUST return [`AddTestIdentifier::Full`] (and change nothing) when the app has `max` already.
    async fn add_test_identifier(
        &self,
        app_id: &AppId,
        identifier: &Identifier,
        max: usize,
        now: OffsetDateTime,
        audit: AuditEvent,
    ) -> Result<AddTestIdentifier, StoreError>;

    /// Removes a test identifier and appends `audit` in one transaction; `false` (and no record)
    /// when it was not listed.
    async fn remove_test_identifier(
        &self,
        app_id: &AppId,
        identifier: &Identifier,
        audit: AuditEvent,
    ) -> Result<bool, StoreError>;

    /// Puts the app into the sandbox (`true`) or approves it (`false`) and appends `audit`, in one
    /// transaction; `false` when no such app exists.
    async fn set_sandboxed(
        &self,
        app_id: &AppId,
        sandboxed: bool,
        audit: AuditEvent,
    ) -> Result<bool, StoreError>;
}
