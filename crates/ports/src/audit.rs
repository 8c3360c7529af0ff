//! The audit log's hash chain and its readers.

use async_trait::async_trait;
use auth_domain::AuditEvent;
use auth_domain::chain::{ChainLink, Checkpoint, StoredEvent};
use time::OffsetDateTime;

use crate::StoreError;

/// Which records a reader wants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub event: Option<String>,
    /// Records whose actor or subject is this user.
    pub user_id: Option<String>,
}

/// Sealing and reading the chains. A chain is an app id, or `""` for records of no app.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AuditChain: Send + Sync {
    /// Chains that have records waiting to be sealed.
    async fn pending_chains(&self, limit: u32) -> Result<Vec<String>, StoreError>;
    /// The last sealed link of a chain.
    async fn chain_head(&self, chain: &str) -> Result<Option<ChainLink>, StoreError>;
    /// Records of a chain waiting to be sealed, oldest insert first.
    async fn pending(&self, chain: &str, limit: u32) -> Result<Vec<StoredEvent>, StoreError>;
    /// Appends links and marks their records sealed, atomically.
    ///
    /// MUST return `Ok(false)` and write nothing when another sealer took any of these positions
    /// or records first.
    async fn append_links(&self, chain: &str, links: Vec<ChainLink>) -> Result<bool, StoreError>;
    /// Sealed records after position `after`, in position order, that match `filter`.
    async fn sealed_events(
        &self,
        chain: &str,
        after: i64,
        filter: &EventFilter,
        limit: u32,
    ) -> Result<Vec<(i64, StoredEvent)>, StoreError>;
    /// Links from position `from` on, each with its record if that still exists.
    async fn links(
        &self,
        chain: &str,
        from: i64,
        limit: u32,
    ) -> Result<Vec<(ChainLink, Option<StoredEvent>)>, StoreError>;
    /// Every chain that has links or records.
    async fn chains(&self) -> Result<Vec<String>, StoreError>;
    /// How many records of a chain wait to be sealed.
    async fn waiting(&self, chain: &str) -> Result<u64, StoreError>;
    /// Gives links that lack a seal the seals in `seals` (position, seal); how many it gave.
    /// A link that has a seal keeps it.
    async fn give_seals(&self, chain: &str, seals: Vec<(i64, [u8; 32])>)
    -> Result<u64, StoreError>;
    /// Records of a chain that are neither sealed nor waiting to be: put there behind the engine's back.
    async fn outside_chain(&self, chain: &str, limit: u32) -> Result<Vec<StoredEvent>, StoreError>;
    /// The newest checkpoint of a chain: its links start after it.
    async fn latest_checkpoint(&self, chain: &str) -> Result<Option<Checkpoint>, StoreError>;
    /// Stores `checkpoint`, drops the records and links it covers and appends `audit`, atomically.
    ///
    /// MUST return `Ok(false)` and write nothing when the chain's newest checkpoint does not end
    /// right before `checkpoint.from_position` (another archive got there first).
    async fn archive(&self, checkpoint: Checkpoint, audit: AuditEvent) -> Result<bool, StoreError>;
}
