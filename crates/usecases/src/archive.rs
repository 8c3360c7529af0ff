//! Retention: moving the oldest records of an app's chain out of the database, behind a checkpoint
//! signed with the engine's audit key, so what stays behind still verifies.

use auth_domain::AuditKind;
use auth_domain::chain::{Checkpoint, CheckpointClaims, ExportedRecord, hex};
use auth_domain::ids::AppId;
use auth_ports::StoreError;
use time::OffsetDateTime;

use crate::{AuthError, AuthService, Caller};

/// The oldest records of a chain, verified, and the checkpoint that will stand for them once they
/// are dropped. The caller stores the records (and the checkpoint) safely, then calls
/// [`AuthService::drop_archived`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveChunk {
    pub records: Vec<ExportedRecord>,
    pub checkpoint: Checkpoint,
    /// The cut the records were taken before, in microseconds since the epoch.
    pub before: i64,
}

/// Why nothing was archived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// Archiving a broken chain would bury the break behind a fresh signature.
    #[error(
        "the chain is broken at position {position}: {problem}; nothing was archived (run `auth-engine audit verify`)"
    )]
    Broken { position: i64, problem: String },
    #[error(
        "another archive of this chain committed first; this one dropped nothing, run it again"
    )]
    Conflict,
    #[error(transparent)]
    Failed(#[from] AuthError),
}

impl From<StoreError> for ArchiveError {
    fn from(error: StoreError) -> Self {
        Self::Failed(error.into())
    }
}

fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

impl AuthService {
    /// The next at most `limit` records of the app's chain that occurred before `before`, from
    /// its newest checkpoint on, each verified against its link, and a signed checkpoint after the
    /// last; `None` when no held record occurred before `before`. Stops at the first record at or
    /// after `before`, so the archived part is always a prefix of the chain.
    ///
    /// # Errors
    /// [`ArchiveError::Broken`] when the checkpoint or a link does not verify; store failures.
    pub async fn next_archive_chunk(
        &self,
        chain: &str,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<Option<ArchiveChunk>, ArchiveError> {
        let origin = self.chain_origin(chain).await?;
        if let Some(checkpoint) = &origin.checkpoint
            && let Some(broken) = self.checkpoint_break(checkpoint).await?
        {
            return Err(ArchiveError::Broken {
                position: checkpoint.position,
                problem: broken.problem,
            });
        }
        let cut = micros(before);
        let (mut expected, mut previous) = (origin.position, origin.previous);
        let mut records: Vec<ExportedRecord> = Vec::new();
        for (link, event) in self.ports.chain.links(chain, expected, limit).await? {
            if event.as_ref().is_some_and(|event| event.occurred_at >= cut) {
                break;
            }
            self.check_link(chain, &link, event.as_ref(), expected, &previous)
                .map_err(|broken| ArchiveError::Broken {
                    position: broken.position.unwrap_or(expected),
                    problem: broken.problem,
                })?;
            let Some(event) = event else {
                return Err(AuthError::Internal.into());
            };
            let next = link.link;
            records.push(ExportedRecord {
                link,
                previous,
                event,
            });
            previous = next;
            expected += 1;
        }
        let Some(last) = records.last() else {
            return Ok(None);
        };
        let claims = CheckpointClaims {
            iss: self.settings.issuer.clone(),
            app_id: chain.to_owned(),
            iat: self.now().unix_timestamp(),
            from_position: origin.position,
            prev_link: hex(&origin.previous),
            position: last.link.position,
            link: hex(&last.link.link),
            records: last.link.position - origin.position + 1,
            before: cut,
        };
        let token = self
            .ports
            .audit_key
            .sign_checkpoint(&claims)
            .map_err(|_| AuthError::Internal)?;
        let checkpoint = Checkpoint {
            chain: chain.to_owned(),
            from_position: origin.position,
            position: last.link.position,
            link: last.link.link,
            token,
        };
        Ok(Some(ArchiveChunk {
            records,
            checkpoint,
            before: cut,
        }))
    }

    /// Drops the records and links of a chunk the caller has stored, keeping its checkpoint and
    /// recording an `audit_archived` event, in one transaction.
    ///
    /// # Errors
    /// [`ArchiveError::Conflict`] when another archive of the chain committed since the chunk was
    /// read; store failures.
    pub async fn drop_archived(
        &self,
        chunk: &ArchiveChunk,
        caller: &Caller,
    ) -> Result<(), ArchiveError> {
        let checkpoint = &chunk.checkpoint;
        let app_id = AppId::from_trusted(checkpoint.chain.clone());
        let event = self
            .event(Some(&app_id), AuditKind::AuditArchived, caller, self.now())
            .actor("operator")
            .subject(app_id.as_str())
            .details(serde_json::json!({
                "from_position": checkpoint.from_position,
                "through_position": checkpoint.position,
                "records": chunk.records.len(),
                "before_micros": chunk.before,
            }));
        if self.ports.chain.archive(checkpoint.clone(), event).await? {
            Ok(())
        } else {
            Err(ArchiveError::Conflict)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_kit::{
        Kit, NOW, app, caller, fold_hash as fold, key, sealed_link, stored_login,
    };
    use auth_domain::chain::{ChainLink, GENESIS, StoredEvent};
    use std::sync::{Arc, Mutex};

    fn chain() -> String {
        app().id.as_str().to_owned()
    }

    /// A record that occurred `second` seconds after the epoch.
    fn event(seq: i64, second: i64) -> StoredEvent {
        stored_login(seq, &chain(), second * 1_000_000)
    }

    /// Positions `from..` sealed after `previous`, one record per entry of `seconds`.
    fn sealed(
        from: i64,
        previous: [u8; 32],
        seconds: &[i64],
    ) -> Vec<(ChainLink, Option<StoredEvent>)> {
        let mut previous = previous;
        (from..)
            .zip(seconds)
            .map(|(position, second)| {
                let record = event(position * 10, *second);
                previous = fold(&record.link_input(&previous));
                (
                    sealed_link(&chain(), position, record.seq, previous),
                    Some(record),
                )
            })
            .collect()
    }

    /// Claims that say exactly what `checkpoint` says, as a valid signature over it would.
    fn claims_of(checkpoint: &Checkpoint) -> CheckpointClaims {
        CheckpointClaims {
            iss: "x".into(),
            app_id: checkpoint.chain.clone(),
            iat: 0,
            from_position: checkpoint.from_position,
            prev_link: hex(&GENESIS),
            position: checkpoint.position,
            link: hex(&checkpoint.link),
            records: checkpoint.position - checkpoint.from_position + 1,
            before: 0,
        }
    }

    fn at_second(second: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(second).unwrap()
    }

    /// A kit whose chain holds `links` after `checkpoint`, and whose signer records what it signs.
    fn kit_with(
        checkpoint: Option<Checkpoint>,
        links: Vec<(ChainLink, Option<StoredEvent>)>,
    ) -> (Kit, Arc<Mutex<Vec<CheckpointClaims>>>) {
        let mut kit = Kit::new();
        kit.mac.expect_sha256().returning(fold);
        kit.chain
            .expect_latest_checkpoint()
            .returning(move |_| Ok(checkpoint.clone()));
        kit.chain.expect_links().returning(move |_, from, _| {
            Ok(links
                .iter()
                .filter(|(link, _)| link.position >= from)
                .cloned()
                .collect())
        });
        let signed = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&signed);
        kit.audit_key
            .expect_sign_checkpoint()
            .returning(move |claims| {
                keep.lock().unwrap().push(claims.clone());
                Ok(format!("signed-{}", claims.position))
            });
        (kit, signed)
    }

    #[tokio::test]
    async fn a_chunk_is_the_prefix_of_records_before_the_cut_with_a_checkpoint_after_it() {
        // Arrange: records at seconds 10, 20, 30, 25; the cut is at 26.
        let links = sealed(1, GENESIS, &[10, 20, 30, 25]);
        let second_link = links[1].0.link;
        let (kit, signed) = kit_with(None, links);

        // Act
        let chunk = kit
            .service()
            .next_archive_chunk(&chain(), at_second(26), 100)
            .await
            .unwrap()
            .unwrap();

        // Assert: the record at 25 stays, because the one before it (at 30) does.
        let positions: Vec<i64> = chunk.records.iter().map(|r| r.link.position).collect();
        assert_eq!(positions, [1, 2]);
        assert_eq!(chunk.records[0].previous, GENESIS);
        assert_eq!(
            chunk.checkpoint,
            Checkpoint {
                chain: chain(),
                from_position: 1,
                position: 2,
                link: second_link,
                token: "signed-2".into(),
            }
        );
        let claims = signed.lock().unwrap()[0].clone();
        assert_eq!(claims.prev_link, hex(&GENESIS));
        assert_eq!(claims.records, 2);
        assert_eq!(claims.before, 26_000_000);
        assert_eq!(claims.iat, NOW.unix_timestamp());
        assert!(chunk.checkpoint.matches(&claims));
    }

    #[tokio::test]
    async fn a_chunk_goes_on_from_the_newest_checkpoint() {
        // Arrange: positions 1–3 were archived behind a checkpoint whose signature verifies.
        let archived = sealed(1, GENESIS, &[1, 2, 3]);
        let head = archived[2].0.link;
        let checkpoint = Checkpoint {
            chain: chain(),
            from_position: 1,
            position: 3,
            link: head,
            token: "cp".into(),
        };
        let (mut kit, _) = kit_with(Some(checkpoint.clone()), sealed(4, head, &[4, 5]));
        let claims = claims_of(&checkpoint);
        kit.audit_key
            .expect_verify_checkpoint()
            .returning(move |_| Ok(claims.clone()));

        // Act
        let chunk = kit
            .service()
            .next_archive_chunk(&chain(), at_second(100), 100)
            .await
            .unwrap()
            .unwrap();

        // Assert
        assert_eq!(chunk.records[0].previous, head);
        assert_eq!(chunk.checkpoint.from_position, 4);
        assert_eq!(chunk.checkpoint.position, 5);
    }

    #[tokio::test]
    async fn nothing_before_the_cut_is_no_chunk() {
        let (kit, signed) = kit_with(None, sealed(1, GENESIS, &[50, 60]));

        let chunk = kit
            .service()
            .next_archive_chunk(&chain(), at_second(50), 100)
            .await
            .unwrap();

        assert_eq!(chunk, None);
        assert!(signed.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_tampered_record_is_not_archived_and_nothing_is_signed() {
        // Arrange: position 2 was edited after sealing.
        let mut links = sealed(1, GENESIS, &[1, 2, 3]);
        if let Some(record) = links[1].1.as_mut() {
            record.details = r#"{"forged":true}"#.into();
        }
        let (kit, signed) = kit_with(None, links);

        // Act
        let refused = kit
            .service()
            .next_archive_chunk(&chain(), at_second(100), 100)
            .await;

        // Assert
        assert!(
            matches!(refused, Err(ArchiveError::Broken { position: 2, .. })),
            "{refused:?}"
        );
        assert!(signed.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_checkpoint_signed_with_another_apps_key_stops_the_archive() {
        // Arrange: the newest checkpoint verifies, but only with a key of another app.
        let checkpoint = Checkpoint {
            chain: chain(),
            from_position: 1,
            position: 3,
            link: [9; 32],
            token: "forged".into(),
        };
        let claims = claims_of(&checkpoint);
        let (mut kit, signed) = kit_with(Some(checkpoint), sealed(4, [9; 32], &[4]));
        kit.audit_key
            .expect_verify_checkpoint()
            .returning(|_| Err(auth_ports::TokenError::Invalid));
        kit.tokens
            .expect_peek_kid()
            .returning(|_| Some("kid-other".into()));
        kit.apps.expect_find_key().returning(|_| {
            Ok(Some(auth_domain::SigningKey {
                kid: "kid-other".into(),
                app_id: AppId::from_trusted("app_other".into()),
                ..key()
            }))
        });
        // The signature itself is fine, and says what the database says.
        kit.tokens
            .expect_verify_checkpoint()
            .returning(move |_, _| Ok(claims.clone()));

        // Act
        let refused = kit
            .service()
            .next_archive_chunk(&chain(), at_second(100), 100)
            .await;

        // Assert
        assert!(
            matches!(refused, Err(ArchiveError::Broken { position: 3, .. })),
            "{refused:?}"
        );
        assert!(signed.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn dropping_records_the_archive_as_an_event_and_reports_a_lost_race() {
        // Arrange
        let mut kit = Kit::new();
        let events = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&events);
        let mut first = true;
        kit.chain.expect_archive().returning(move |_, event| {
            keep.lock().unwrap().push(event);
            let won = first;
            first = false;
            Ok(won)
        });
        let chunk = ArchiveChunk {
            records: Vec::new(),
            checkpoint: Checkpoint {
                chain: chain(),
                from_position: 1,
                position: 2,
                link: [1; 32],
                token: "t".into(),
            },
            before: 7,
        };
        let service = kit.service();

        // Act
        let won = service.drop_archived(&chunk, &caller()).await;
        let lost = service.drop_archived(&chunk, &caller()).await;

        // Assert
        assert_eq!(won, Ok(()));
        assert_eq!(lost, Err(ArchiveError::Conflict));
        let event = events.lock().unwrap()[0].clone();
        assert_eq!(event.kind, AuditKind::AuditArchived);
        assert_eq!(event.app_id, Some(app().id));
        assert_eq!(event.details["through_position"], 2);
        assert_eq!(event.details["before_micros"], 7);
    }
}
