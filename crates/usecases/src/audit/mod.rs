//! The audit log: sealing records into each app's hash chain, listing and exporting them;
//! verifying it is in [`verify`].

mod verify;

use auth_domain::App;
use auth_domain::chain::{
    ChainLink, Checkpoint, ExportClaims, ExportedRecord, GENESIS, StoredEvent, hex,
};
use auth_ports::{AuditPublicKey, EventFilter, StoreError};

use crate::tenants::Page;
use crate::{AppCredentials, AuthError, AuthService, Caller};

/// Records sealed per batch.
const SEAL_BATCH: u32 = 500;
/// Links read per batch when verifying or exporting.
const READ_BATCH: u32 = 2_000;
/// The most records one `/audit/events` page may ask for.
pub const MAX_EVENTS_PAGE: u32 = 1000;

pub use verify::{ChainBreak, ChainReport};

/// Why an export stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExportError {
    /// Nothing from the break on is exported, and the export is not signed.
    #[error(
        "the chain is broken {0}; nothing from there on was exported (run `auth-engine audit verify`)"
    )]
    Broken(ChainBreak),
    #[error(transparent)]
    Failed(#[from] AuthError),
}

impl From<StoreError> for ExportError {
    fn from(error: StoreError) -> Self {
        Self::Failed(error.into())
    }
}

/// Where the links a chain still holds begin: after its newest checkpoint, or at the genesis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainOrigin {
    pub checkpoint: Option<Checkpoint>,
    /// The first position still held.
    pub position: i64,
    /// The link before it.
    pub previous: [u8; 32],
}

impl AuthService {
    /// Seals every record of `chain` that is waiting, in the order they are found; safe to run in
    /// any number of processes at once (a sealer that loses a race re-reads and goes on).
    ///
    /// It stops at the first batch that is not full: what arrives while it seals waits for the
    /// next round. Chasing each write as it lands would seal a busy chain a dozen records at a
    /// time, a transaction each, for as long as the writes go on.
    ///
    /// # Errors
    /// Store failures.
    pub async fn seal(&self, chain: &str) -> Result<u64, AuthError> {
        let audit = &self.ports.chain;
        let mut sealed = 0;
        let mut lost_races = 0;
        loop {
            let head = audit.chain_head(chain).await?;
            let batch = audit.pending(chain, SEAL_BATCH).await?;
            if batch.is_empty() {
                return Ok(sealed);
            }
            let (mut position, mut previous) = match head {
                Some(head) => (head.position, head.link),
                // No link held: a new chain, or one archived to its end, which goes on after
                // its checkpoint.
                None => {
                    let origin = self.chain_origin(chain).await?;
                    (origin.position - 1, origin.previous)
                }
            };
            let mut links = Vec::with_capacity(batch.len());
            for event in &batch {
                position += 1;
                previous = self.ports.mac.sha256(&event.link_input(&previous));
                links.push(ChainLink {
                    position,
                    event_seq: event.seq,
                    link: previous,
                    seal: Some(self.seal_of(chain, position, &previous)),
                });
            }
            let count = links.len() as u64;
            if audit.append_links(chain, links).await? {
                sealed += count;
                if count < u64::from(SEAL_BATCH) {
                    return Ok(sealed);
                }
            } else {
                lost_races += 1;
                if lost_races > 10 {
                    return Ok(sealed);
                }
            }
        }
    }

    /// Seals every chain with waiting records.
    ///
    /// # Errors
    /// Store failures.
    pub async fn seal_all(&self) -> Result<u64, AuthError> {
        let mut sealed = 0;
        for chain in self.ports.chain.pending_chains(1000).await? {
            sealed += self.seal(&chain).await?;
        }
        Ok(sealed)
    }

    /// A page of the app's records, oldest first, in chain order: a page never skips or repeats a
    /// record, because positions are only ever appended.
    ///
    /// # Errors
    /// Credential errors, store failures.
    pub async fn audit_events(
        &self,
        credentials: &AppCredentials,
        filter: EventFilter,
        cursor: Option<i64>,
        limit: u32,
        caller: &Caller,
    ) -> Result<Page<(i64, StoredEvent)>, AuthError> {
        let app = self.authenticate(credentials, caller).await?;
        self.events_of(&app, filter, cursor, limit).await
    }

    /// A page of `app`'s records, as [`AuthService::audit_events`] lists them.
    pub(crate) async fn events_of(
        &self,
        app: &App,
        filter: EventFilter,
        cursor: Option<i64>,
        limit: u32,
    ) -> Result<Page<(i64, StoredEvent)>, AuthError> {
        // Seal first, so what committed before this call is listed now.
        self.seal(app.id.as_str()).await?;
        let events = self
            .ports
            .chain
            .sealed_events(app.id.as_str(), cursor.unwrap_or(0), &filter, limit + 1)
            .await?;
        Ok(Page::from_overfetch(events, limit, |(position, _)| {
            position.to_string()
        }))
    }

    /// The chain names: an app id each, `""` for records of no app.
    ///
    /// # Errors
    /// Store failures.
    pub async fn audit_chains(&self) -> Result<Vec<String>, AuthError> {
        Ok(self.ports.chain.chains().await?)
    }

    /// The chain of the app with this slug.
    ///
    /// # Errors
    /// `invalid_request` for an unknown slug; store failures.
    pub async fn audit_chain_of(&self, slug: &str) -> Result<String, AuthError> {
        let app = self.ports.apps.find_app_by_slug(slug).await?;
        app.map(|app| app.id.as_str().to_owned())
            .ok_or_else(|| AuthError::invalid_field("app", "no app has this slug"))
    }

    /// Where the chain's held links begin, as the database says; [`AuthService::checkpoint_break`]
    /// says whether its checkpoint can be trusted.
    ///
    /// # Errors
    /// Store failures.
    pub async fn chain_origin(&self, chain: &str) -> Result<ChainOrigin, AuthError> {
        let checkpoint = self.ports.chain.latest_checkpoint(chain).await?;
        Ok(match checkpoint {
            None => ChainOrigin {
                checkpoint: None,
                position: 1,
                previous: GENESIS,
            },
            Some(checkpoint) => ChainOrigin {
                position: checkpoint.position + 1,
                previous: checkpoint.link,
                checkpoint: Some(checkpoint),
            },
        })
    }

    /// Where an export of `chain` starts: its origin, once the checkpoint it starts from (if any)
    /// verifies.
    ///
    /// # Errors
    /// [`ExportError::Broken`] for a checkpoint that does not verify; store failures.
    pub async fn export_origin(&self, chain: &str) -> Result<ChainOrigin, ExportError> {
        let origin = self.chain_origin(chain).await?;
        if let Some(checkpoint) = &origin.checkpoint
            && let Some(broken) = self.checkpoint_break(checkpoint).await?
        {
            return Err(ExportError::Broken(broken));
        }
        Ok(origin)
    }

    /// The next sealed records of a chain from `from_position` on (empty at its end), each checked
    /// against its seal and its link, with `previous` the link before `from_position`.
    ///
    /// # Errors
    /// [`ExportError::Broken`] at the first record that does not verify; store failures.
    pub async fn export_chain(
        &self,
        chain: &str,
        from_position: i64,
        previous: [u8; 32],
    ) -> Result<Vec<ExportedRecord>, ExportError> {
        let (mut expected, mut previous) = (from_position, previous);
        let mut records = Vec::new();
        for (link, event) in self
            .ports
            .chain
            .links(chain, from_position, READ_BATCH)
            .await?
        {
            self.check_link(chain, &link, event.as_ref(), expected, &previous)
                .map_err(ExportError::Broken)?;
            let event = event.ok_or(AuthError::Internal)?;
            let next = link.link;
            records.push(ExportedRecord {
                previous,
                event,
                link,
            });
            (expected, previous) = (expected + 1, next);
        }
        Ok(records)
    }

    /// The signed last line of an export whose records ran from `first` to `last`, all checked.
    ///
    /// # Errors
    /// `internal_error` when signing fails.
    pub fn seal_export(
        &self,
        chain: &str,
        first: &ExportedRecord,
        last: &ExportedRecord,
    ) -> Result<String, AuthError> {
        let claims = ExportClaims {
            iss: self.settings.issuer.clone(),
            app_id: chain.to_owned(),
            iat: self.now().unix_timestamp(),
            from_position: first.link.position,
            prev_link: hex(&first.previous),
            position: last.link.position,
            link: hex(&last.link.link),
            records: last.link.position - first.link.position + 1,
        };
        self.ports
            .audit_key
            .sign_export(&claims)
            .map_err(|_| AuthError::Internal)
    }

    /// The public half of the engine's audit key, which checkpoints and exports are signed with.
    #[must_use]
    pub fn audit_public_key(&self) -> AuditPublicKey {
        self.ports.audit_key.public_key()
    }
}

#[cfg(test)]
mod tests {
    use super::SEAL_BATCH;
    use crate::test_kit::{Kit, fold_hash as fold, sealed_link, stored_login};
    use auth_domain::chain::StoredEvent;
    use std::sync::{Arc, Mutex};

    fn event(seq: i64) -> StoredEvent {
        stored_login(seq, "app_a", seq * 1_000_000)
    }

    #[tokio::test]
    async fn sealing_links_each_record_to_the_one_before_from_the_head_on() {
        // Arrange
        let mut kit = Kit::new();
        kit.mac.expect_sha256().returning(fold);
        let head = sealed_link("app_a", 4, 3, [1; 32]);
        kit.chain
            .expect_chain_head()
            .returning(move |_| Ok(Some(head.clone())));
        let mut served = false;
        kit.chain.expect_pending().returning(move |_, _| {
            let batch = if served {
                vec![]
            } else {
                vec![event(9), event(7)]
            };
            served = true;
            Ok(batch)
        });
        let appended = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&appended);
        kit.chain.expect_append_links().returning(move |_, links| {
            keep.lock().unwrap().extend(links);
            Ok(true)
        });

        // Act
        let sealed = kit.service().seal("app_a").await.unwrap();

        // Assert
        let links = appended.lock().unwrap().clone();
        let first = fold(&event(9).link_input(&[1; 32]));
        let second = fold(&event(7).link_input(&first));
        assert_eq!(sealed, 2);
        assert_eq!(
            links,
            [
                sealed_link("app_a", 5, 9, first),
                sealed_link("app_a", 6, 7, second),
            ]
        );
    }

    #[tokio::test]
    async fn a_round_seals_full_batches_on_and_leaves_what_arrives_after_a_short_one() {
        // Arrange: a full batch, then a short one; a record that lands while the short one is
        // sealed would be served next.
        let mut kit = Kit::new();
        kit.mac.expect_sha256().returning(fold);
        kit.chain.expect_chain_head().returning(|_| Ok(None));
        kit.chain.expect_latest_checkpoint().returning(|_| Ok(None));
        let full: Vec<StoredEvent> = (1..=i64::from(SEAL_BATCH)).map(event).collect();
        let short = vec![event(i64::from(SEAL_BATCH) + 1)];
        let late = vec![event(i64::from(SEAL_BATCH) + 2)];
        let pendings = Arc::new(Mutex::new(vec![late, short, full]));
        kit.chain
            .expect_pending()
            .returning(move |_, _| Ok(pendings.lock().unwrap().pop().unwrap_or_default()));
        kit.chain.expect_append_links().returning(|_, _| Ok(true));

        // Act
        let sealed = kit.service().seal("app_a").await.unwrap();

        // Assert: the full batch and the short one, not the late record.
        assert_eq!(sealed, u64::from(SEAL_BATCH) + 1);
    }

    #[tokio::test]
    async fn a_chain_archived_to_its_end_goes_on_after_its_checkpoint() {
        // Arrange: no link is held; positions 1–7 are behind a checkpoint.
        let mut kit = Kit::new();
        kit.mac.expect_sha256().returning(fold);
        kit.chain.expect_chain_head().returning(|_| Ok(None));
        kit.chain.expect_latest_checkpoint().returning(|_| {
            Ok(Some(auth_domain::chain::Checkpoint {
                chain: "app_a".into(),
                from_position: 1,
                position: 7,
                link: [4; 32],
                token: "t".into(),
            }))
        });
        let mut served = false;
        kit.chain.expect_pending().returning(move |_, _| {
            let batch = if served { vec![] } else { vec![event(30)] };
            served = true;
            Ok(batch)
        });
        let appended = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&appended);
        kit.chain.expect_append_links().returning(move |_, links| {
            keep.lock().unwrap().extend(links);
            Ok(true)
        });

        // Act
        kit.service().seal("app_a").await.unwrap();

        // Assert
        assert_eq!(
            *appended.lock().unwrap(),
            [sealed_link(
                "app_a",
                8,
                30,
                fold(&event(30).link_input(&[4; 32]))
            )]
        );
    }

    #[tokio::test]
    async fn a_sealer_that_loses_a_race_rereads_the_head_and_goes_on() {
        // Arrange: the first append loses to another process, which moved the head.
        let mut kit = Kit::new();
        kit.mac.expect_sha256().returning(fold);
        kit.chain.expect_latest_checkpoint().returning(|_| Ok(None));
        let heads = Arc::new(Mutex::new(vec![
            Some(sealed_link("app_a", 1, 1, [2; 32])),
            None,
        ]));
        kit.chain
            .expect_chain_head()
            .returning(move |_| Ok(heads.lock().unwrap().pop().unwrap_or(None)));
        let pendings = Arc::new(Mutex::new(vec![vec![], vec![event(2)], vec![event(2)]]));
        kit.chain
            .expect_pending()
            .returning(move |_, _| Ok(pendings.lock().unwrap().pop().unwrap_or_default()));
        let attempts = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&attempts);
        kit.chain.expect_append_links().returning(move |_, links| {
            let mut seen = keep.lock().unwrap();
            seen.push(links[0].position);
            Ok(seen.len() > 1)
        });

        // Act
        let sealed = kit.service().seal("app_a").await.unwrap();

        // Assert
        assert_eq!(sealed, 1);
        assert_eq!(*attempts.lock().unwrap(), [1, 2]);
    }
}
