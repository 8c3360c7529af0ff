//! The audit log: sealing records into each app's hash chain, listing them, verifying and exporting
//! the chain.

use auth_domain::App;
use auth_domain::chain::{ChainLink, Checkpoint, ExportedRecord, GENESIS, StoredEvent};
use auth_domain::ct::constant_time_eq;
use auth_ports::EventFilter;

use crate::tenants::Page;
use crate::{AppCredentials, AuthError, AuthService, Caller};

/// Records sealed per batch.
const SEAL_BATCH: u32 = 500;
/// Links read per batch when verifying or exporting.
const READ_BATCH: u32 = 2_000;
/// The most records one `/audit/events` page may ask for.
pub const MAX_EVENTS_PAGE: u32 = 1000;

/// Where a chain stops being what was sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub position: Option<i64>,
    pub event_id: Option<String>,
    pub problem: String,
}

/// What verifying one chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub chain: String,
    /// Records verified after the checkpoint (or from the genesis).
    pub records: u64,
    /// The last position archived behind the newest checkpoint, if anything was archived.
    pub archived_through: Option<i64>,
    pub first_break: Option<ChainBreak>,
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

    /// Why the chain's checkpoint cannot be trusted, if it cannot: it must carry a valid signature
    /// of one of the chain's app's own keys over exactly what the database says.
    pub(crate) async fn checkpoint_break(
        &self,
        checkpoint: &Checkpoint,
    ) -> Result<Option<ChainBreak>, AuthError> {
        let key = match self.ports.tokens.peek_kid(&checkpoint.token) {
            Some(kid) => self.ports.apps.find_key(&kid).await?,
            None => None,
        };
        let claims = key
            .filter(|key| key.app_id.as_str() == checkpoint.chain)
            .and_then(|key| {
                self.ports
                    .tokens
                    .verify_checkpoint(&checkpoint.token, &key)
                    .ok()
            });
        let problem = match claims {
            None => "the checkpoint here does not carry a valid signature of this app's key",
            Some(claims) if !checkpoint.matches(&claims) => {
                "the checkpoint here says something other than what its signature covers"
            }
            Some(_) => return Ok(None),
        };
        Ok(Some(ChainBreak {
            position: Some(checkpoint.position),
            event_id: None,
            problem: problem.to_owned(),
        }))
    }

    /// Recomputes a chain from its newest checkpoint (or its first link) and reports the first
    /// place it breaks.
    ///
    /// # Errors
    /// Store failures.
    pub async fn verify_chain(&self, chain: &str) -> Result<ChainReport, AuthError> {
        let origin = self.chain_origin(chain).await?;
        let mut report = ChainReport {
            chain: chain.to_owned(),
            records: 0,
            archived_through: origin.checkpoint.as_ref().map(|c| c.position),
            first_break: None,
        };
        if let Some(checkpoint) = &origin.checkpoint {
            report.first_break = self.checkpoint_break(checkpoint).await?;
            if report.first_break.is_some() {
                return Ok(report);
            }
        }
        let (mut expected, mut previous) = (origin.position, origin.previous);
        loop {
            let batch = self.ports.chain.links(chain, expected, READ_BATCH).await?;
            if batch.is_empty() {
                break;
            }
            for (link, event) in batch {
                if let Err(broken) = self.check_link(&link, event.as_ref(), expected, &previous) {
                    report.first_break = Some(broken);
                    return Ok(report);
                }
                previous = link.link;
                expected += 1;
                report.records += 1;
            }
        }
        if let Some(stray) = self
            .ports
            .chain
            .outside_chain(chain, 1)
            .await?
            .into_iter()
            .next()
        {
            report.first_break = Some(ChainBreak {
                position: None,
                event_id: Some(stray.id.clone()),
                problem: format!(
                    "record {} (seq {}) is in the log but was never sealed: inserted behind the engine's back",
                    stray.id, stray.seq
                ),
            });
        }
        Ok(report)
    }

    /// Whether `link` is the `expected` position, its record is there, and the record hashes with
    /// `previous` to the link.
    pub(crate) fn check_link(
        &self,
        link: &ChainLink,
        event: Option<&StoredEvent>,
        expected: i64,
        previous: &[u8; 32],
    ) -> Result<(), ChainBreak> {
        let broken = |problem: String, event_id: Option<String>| ChainBreak {
            position: Some(link.position),
            event_id,
            problem,
        };
        if link.position != expected {
            return Err(broken(
                format!("position {expected} is missing from the chain"),
                None,
            ));
        }
        let Some(event) = event else {
            return Err(broken(
                format!(
                    "the record sealed here (seq {}) has been deleted",
                    link.event_seq
                ),
                None,
            ));
        };
        let recomputed = self.ports.mac.sha256(&event.link_input(previous));
        if !constant_time_eq(&recomputed, &link.link) {
            // Edited, or swapped with another record: either way this record is not what was sealed here.
            let problem = "the record differs from what was sealed here".to_owned();
            return Err(broken(problem, Some(event.id.clone())));
        }
        Ok(())
    }

    /// Sealed records of a chain from `from_position` on, with their links, for export.
    ///
    /// # Errors
    /// Store failures; `internal_error` for a link whose record is gone (verify names it).
    pub async fn export_chain(
        &self,
        chain: &str,
        from_position: i64,
        previous: [u8; 32],
    ) -> Result<Vec<ExportedRecord>, AuthError> {
        let mut previous = previous;
        let mut records = Vec::new();
        for (link, event) in self
            .ports
            .chain
            .links(chain, from_position, READ_BATCH)
            .await?
        {
            let event = event.ok_or(AuthError::Internal)?;
            records.push(ExportedRecord {
                previous,
                event,
                link: link.clone(),
            });
            previous = link.link;
        }
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::SEAL_BATCH;
    use crate::test_kit::{Kit, fold_hash as fold, stored_login};
    use auth_domain::chain::{ChainLink, GENESIS, StoredEvent};
    use std::sync::{Arc, Mutex};

    fn event(seq: i64) -> StoredEvent {
        stored_login(seq, "app_a", seq * 1_000_000)
    }

    #[tokio::test]
    async fn sealing_links_each_record_to_the_one_before_from_the_head_on() {
        // Arrange
        let mut kit = Kit::new();
        kit.mac.expect_sha256().returning(fold);
        let head = ChainLink {
            position: 4,
            event_seq: 3,
            link: [1; 32],
        };
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
                ChainLink {
                    position: 5,
                    event_seq: 9,
                    link: first
                },
                ChainLink {
                    position: 6,
                    event_seq: 7,
                    link: second
                },
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
            [ChainLink {
                position: 8,
                event_seq: 30,
                link: fold(&event(30).link_input(&[4; 32])),
            }]
        );
    }

    #[tokio::test]
    async fn a_sealer_that_loses_a_race_rereads_the_head_and_goes_on() {
        // Arrange: the first append loses to another process, which moved the head.
        let mut kit = Kit::new();
        kit.mac.expect_sha256().returning(fold);
        kit.chain.expect_latest_checkpoint().returning(|_| Ok(None));
        let heads = Arc::new(Mutex::new(vec![
            Some(ChainLink {
                position: 1,
                event_seq: 1,
                link: [2; 32],
            }),
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

    #[tokio::test]
    async fn verifying_names_the_first_record_that_differs_from_its_link() {
        // Arrange: three sealed records; the second was edited after sealing.
        let mut kit = Kit::new();
        kit.mac.expect_sha256().returning(fold);
        let l1 = fold(&event(1).link_input(&GENESIS));
        let l2 = fold(&event(2).link_input(&l1));
        let l3 = fold(&event(3).link_input(&l2));
        let mut edited = event(2);
        edited.details = r#"{"forged":true}"#.into();
        let mut served = false;
        kit.chain.expect_links().returning(move |_, _, _| {
            let batch = if served {
                vec![]
            } else {
                vec![
                    (
                        ChainLink {
                            position: 1,
                            event_seq: 1,
                            link: l1,
                        },
                        Some(event(1)),
                    ),
                    (
                        ChainLink {
                            position: 2,
                            event_seq: 2,
                            link: l2,
                        },
                        Some(edited.clone()),
                    ),
                    (
                        ChainLink {
                            position: 3,
                            event_seq: 3,
                            link: l3,
                        },
                        Some(event(3)),
                    ),
                ]
            };
            served = true;
            Ok(batch)
        });
        kit.chain
            .expect_outside_chain()
            .returning(|_, _| Ok(vec![]));
        kit.chain.expect_latest_checkpoint().returning(|_| Ok(None));

        // Act
        let report = kit.service().verify_chain("app_a").await.unwrap();

        // Assert
        let broken = report.first_break.unwrap();
        assert_eq!(report.records, 1);
        assert_eq!(broken.position, Some(2));
        assert_eq!(broken.event_id.as_deref(), Some("evt_2"));
    }
}
