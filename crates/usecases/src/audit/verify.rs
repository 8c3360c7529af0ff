//! Verifying a chain: every link's seal, every record against its link, the checkpoint it starts
//! from, and what waits or was slipped in beside it; and vouching, once, for links from before seals.

use auth_domain::chain::{
    ChainLink, Checkpoint, CheckpointClaims, StoredEvent, legacy_head_input, seal_input,
};
use auth_domain::ct::constant_time_eq;
use auth_ports::MacPurpose;

use super::READ_BATCH;
use crate::{AuthError, AuthService};

/// Where a chain stops being what was sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub position: Option<i64>,
    pub event_id: Option<String>,
    pub problem: String,
}

impl std::fmt::Display for ChainBreak {
    /// `at position P (record evt_…): what is wrong`, leaving out what is not known.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut place = Vec::new();
        if let Some(position) = self.position {
            place.push(format!("at position {position}"));
        }
        if let Some(record) = &self.event_id {
            place.push(format!("(record {record})"));
        }
        match place.is_empty() {
            true => f.write_str(&self.problem),
            false => write!(f, "{}: {}", place.join(" "), self.problem),
        }
    }
}

/// What verifying one chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub chain: String,
    /// Sealed records verified after the checkpoint (or from the genesis).
    pub records: u64,
    /// Records waiting to be sealed: committed, not yet in the chain; the next seal pass (every
    /// engine runs one each second) chains them.
    pub unsealed: u64,
    /// The last position archived behind the newest checkpoint, if anything was archived.
    pub archived_through: Option<i64>,
    pub first_break: Option<ChainBreak>,
}

/// Where a walk stands with links from before seals.
#[derive(Debug, Default)]
struct Legacy {
    /// The first of the links seen without a seal and not yet vouched for by a legacy head.
    unvouched_from: Option<i64>,
    /// Past the legacy head, or past the first sealed link: every link from here is sealed.
    closed: bool,
}

/// The break of links without a seal that no legacy head vouches for.
fn unvouched(from: i64) -> ChainBreak {
    ChainBreak {
        position: Some(from),
        event_id: None,
        problem: "the links from here carry no seal, and no head sealed by the engine that added seals vouches for them: their seals were stripped".to_owned(),
    }
}

impl AuthService {
    /// Why the chain's checkpoint cannot be trusted, if it cannot: it must carry a valid signature
    /// of the engine's audit key (or, made before the audit key, of one of the chain's app's own
    /// keys) over exactly what the database says.
    pub(crate) async fn checkpoint_break(
        &self,
        checkpoint: &Checkpoint,
    ) -> Result<Option<ChainBreak>, AuthError> {
        let claims = match self.ports.audit_key.verify_checkpoint(&checkpoint.token) {
            Ok(claims) => Some(claims),
            Err(_) => self.app_signed_checkpoint(checkpoint).await?,
        };
        let problem = match claims {
            None => {
                "the checkpoint here does not carry a valid signature of the engine's audit key (nor, from before it, of this app's key)"
            }
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

    /// The claims of a checkpoint made before the audit key, signed with one of the chain's app's
    /// keys, if it verifies with one.
    async fn app_signed_checkpoint(
        &self,
        checkpoint: &Checkpoint,
    ) -> Result<Option<CheckpointClaims>, AuthError> {
        let key = match self.ports.tokens.peek_kid(&checkpoint.token) {
            Some(kid) => self.ports.apps.find_key(&kid).await?,
            None => None,
        };
        // A withdrawn key may have leaked: nothing it signed counts any more.
        Ok(key
            .filter(|key| key.app_id.as_str() == checkpoint.chain && key.withdrawn_at.is_none())
            .and_then(|key| {
                self.ports
                    .tokens
                    .verify_checkpoint(&checkpoint.token, &key)
                    .ok()
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
            unsealed: self.ports.chain.waiting(chain).await?,
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
        let mut legacy = Legacy::default();
        loop {
            let batch = self.ports.chain.links(chain, expected, READ_BATCH).await?;
            if batch.is_empty() {
                break;
            }
            for (link, event) in batch {
                let checked = self.check_in_order(
                    chain,
                    &mut legacy,
                    &link,
                    event.as_ref(),
                    expected,
                    &previous,
                );
                if let Err(broken) = checked {
                    report.first_break = Some(broken);
                    return Ok(report);
                }
                previous = link.link;
                expected += 1;
                report.records += 1;
            }
        }
        if let Some(from) = legacy.unvouched_from {
            report.first_break = Some(unvouched(from));
            return Ok(report);
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

    /// Vouches for the links written before seals existed: for each chain whose links carry no
    /// seal, once they all check out against their records, seals its last link as the chain's
    /// **legacy head** (through its link it covers every link before it). Run by the engine run
    /// that added seals to the schema, and only then: anything the database says later could have
    /// been arranged by whoever holds it. A chain that does not check out is left as it is, and
    /// verify reports where it breaks. Returns the chains vouched for.
    ///
    /// # Errors
    /// Store failures.
    pub async fn seal_legacy_heads(&self) -> Result<Vec<String>, AuthError> {
        let mut vouched = Vec::new();
        for chain in self.audit_chains().await? {
            let origin = self.chain_origin(&chain).await?;
            if let Some(checkpoint) = &origin.checkpoint
                && self.checkpoint_break(checkpoint).await?.is_some()
            {
                continue;
            }
            let (mut expected, mut previous) = (origin.position, origin.previous);
            let mut head = None;
            'walk: loop {
                let batch = self.ports.chain.links(&chain, expected, READ_BATCH).await?;
                if batch.is_empty() {
                    break;
                }
                for (link, event) in batch {
                    let legacy = link.seal.is_none()
                        && self
                            .check_record(&link, event.as_ref(), expected, &previous)
                            .is_ok();
                    if !legacy {
                        head = None;
                        break 'walk;
                    }
                    (previous, expected) = (link.link, expected + 1);
                    head = Some(link);
                }
            }
            if let Some(head) = head {
                let seal = self.ports.mac.mac(
                    MacPurpose::AuditSeal,
                    &legacy_head_input(&chain, head.position, &head.link),
                );
                self.ports
                    .chain
                    .give_seals(&chain, vec![(head.position, seal)])
                    .await?;
                vouched.push(chain);
            }
        }
        Ok(vouched)
    }

    /// Checks `link` at its place in the walk: links from before seals carry none, until the
    /// chain's legacy head, which vouches for them; every link after it is sealed.
    fn check_in_order(
        &self,
        chain: &str,
        legacy: &mut Legacy,
        link: &ChainLink,
        event: Option<&StoredEvent>,
        expected: i64,
        previous: &[u8; 32],
    ) -> Result<(), ChainBreak> {
        if !legacy.closed {
            let head = link.seal.is_some_and(|seal| {
                let vouching = legacy_head_input(chain, link.position, &link.link);
                constant_time_eq(&seal, &self.ports.mac.mac(MacPurpose::AuditSeal, &vouching))
            });
            if link.seal.is_none() || head {
                self.check_record(link, event, expected, previous)?;
                legacy.unvouched_from = if head {
                    None
                } else {
                    legacy.unvouched_from.or(Some(link.position))
                };
                legacy.closed = head;
                return Ok(());
            }
            legacy.closed = true;
            if let Some(from) = legacy.unvouched_from {
                return Err(unvouched(from));
            }
        }
        self.check_link(chain, link, event, expected, previous)
    }

    /// The seal of `link` at `position` of `chain`.
    pub(crate) fn seal_of(&self, chain: &str, position: i64, link: &[u8; 32]) -> [u8; 32] {
        self.ports
            .mac
            .mac(MacPurpose::AuditSeal, &seal_input(chain, position, link))
    }

    /// Whether `link` carries the engine's seal, is the `expected` position, its record is there,
    /// and the record hashes with `previous` to the link.
    pub(crate) fn check_link(
        &self,
        chain: &str,
        link: &ChainLink,
        event: Option<&StoredEvent>,
        expected: i64,
        previous: &[u8; 32],
    ) -> Result<(), ChainBreak> {
        let problem = match &link.seal {
            None => Some("the link here carries no seal: its seal was stripped"),
            Some(seal)
                if !constant_time_eq(seal, &self.seal_of(chain, link.position, &link.link)) =>
            {
                Some(
                    "the link here does not carry the engine's seal: the chain was rewritten from here",
                )
            }
            Some(_) => None,
        };
        if let Some(problem) = problem {
            return Err(ChainBreak {
                position: Some(link.position),
                event_id: event.map(|event| event.id.clone()),
                problem: problem.to_owned(),
            });
        }
        self.check_record(link, event, expected, previous)
    }

    /// Whether `link` is the `expected` position, its record is there, and the record hashes with
    /// `previous` to the link; the seal is not looked at.
    fn check_record(
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
}

#[cfg(test)]
mod tests {
    use crate::test_kit::{Kit, fake_mac, fold_hash as fold, sealed_link, stored_login};
    use auth_domain::chain::{ChainLink, GENESIS, StoredEvent, legacy_head_input};
    use auth_ports::MacPurpose;
    use std::sync::{Arc, Mutex};

    fn event(seq: i64) -> StoredEvent {
        stored_login(seq, "app_a", seq * 1_000_000)
    }

    /// Records 1–3 sealed at positions 1–3 as the sealer seals them.
    fn sealed_chain() -> Vec<(ChainLink, Option<StoredEvent>)> {
        let mut previous = GENESIS;
        (1..=3)
            .map(|seq| {
                previous = fold(&event(seq).link_input(&previous));
                (sealed_link("app_a", seq, seq, previous), Some(event(seq)))
            })
            .collect()
    }

    /// A kit whose app_a chain holds `links` from the genesis, with `waiting` records queued.
    fn kit_over(links: Vec<(ChainLink, Option<StoredEvent>)>, waiting: u64) -> Kit {
        let mut kit = Kit::new();
        kit.mac.expect_sha256().returning(fold);
        kit.chain.expect_links().returning(move |_, from, _| {
            Ok(links
                .iter()
                .filter(|(link, _)| link.position >= from)
                .cloned()
                .collect())
        });
        kit.chain
            .expect_outside_chain()
            .returning(|_, _| Ok(vec![]));
        kit.chain.expect_latest_checkpoint().returning(|_| Ok(None));
        kit.chain.expect_waiting().returning(move |_| Ok(waiting));
        kit
    }

    #[tokio::test]
    async fn an_intact_chain_verifies_and_its_waiting_records_are_counted() {
        // Arrange
        let kit = kit_over(sealed_chain(), 4);

        // Act
        let report = kit.service().verify_chain("app_a").await.unwrap();

        // Assert
        assert_eq!(report.first_break, None);
        assert_eq!((report.records, report.unsealed), (3, 4));
    }

    #[tokio::test]
    async fn verifying_names_the_first_record_that_differs_from_its_link() {
        // Arrange: the second record was edited after sealing.
        let mut links = sealed_chain();
        links[1].1.as_mut().unwrap().details = r#"{"forged":true}"#.into();
        let kit = kit_over(links, 0);

        // Act
        let report = kit.service().verify_chain("app_a").await.unwrap();

        // Assert
        let broken = report.first_break.unwrap();
        assert_eq!(report.records, 1);
        assert_eq!(broken.position, Some(2));
        assert_eq!(broken.event_id.as_deref(), Some("evt_2"));
        assert!(broken.problem.contains("differs"), "{}", broken.problem);
    }

    #[tokio::test]
    async fn a_chain_rewritten_with_every_link_recomputed_breaks_at_the_edit() {
        // Arrange: record 2 edited and links 2 and 3 recomputed; the seals cannot be.
        let mut links = sealed_chain();
        links[1].1.as_mut().unwrap().details = r#"{"forged":true}"#.into();
        let mut previous = links[0].0.link;
        for (link, event) in &mut links[1..] {
            previous = fold(&event.as_ref().unwrap().link_input(&previous));
            link.link = previous;
        }
        let kit = kit_over(links, 0);

        // Act
        let report = kit.service().verify_chain("app_a").await.unwrap();

        // Assert
        let broken = report.first_break.unwrap();
        assert_eq!(broken.position, Some(2));
        assert!(broken.problem.contains("rewritten"), "{}", broken.problem);
    }

    #[tokio::test]
    async fn a_link_without_its_seal_is_a_break() {
        // Arrange
        let mut links = sealed_chain();
        links[2].0.seal = None;
        let kit = kit_over(links, 0);

        // Act
        let report = kit.service().verify_chain("app_a").await.unwrap();

        // Assert
        let broken = report.first_break.unwrap();
        assert_eq!(broken.position, Some(3));
        assert!(broken.problem.contains("no seal"), "{}", broken.problem);
    }

    /// Records 1–4 chained, 1–3 from before seals (3 the legacy head), 4 sealed.
    fn upgraded_chain() -> Vec<(ChainLink, Option<StoredEvent>)> {
        let mut links = sealed_chain();
        let mut previous = links[2].0.link;
        previous = fold(&event(4).link_input(&previous));
        links.push((sealed_link("app_a", 4, 4, previous), Some(event(4))));
        for (link, _) in &mut links[..2] {
            link.seal = None;
        }
        let head = &mut links[2].0;
        let input = legacy_head_input("app_a", 3, &head.link);
        head.seal = Some(fake_mac(MacPurpose::AuditSeal, &input));
        links
    }

    #[tokio::test]
    async fn links_from_before_seals_verify_through_their_sealed_legacy_head() {
        let kit = kit_over(upgraded_chain(), 0);

        let report = kit.service().verify_chain("app_a").await.unwrap();

        assert_eq!(report.first_break, None);
        assert_eq!(report.records, 4);
    }

    #[tokio::test]
    async fn links_stripped_of_their_seals_are_vouched_for_by_nothing() {
        // Arrange: every seal taken away, the legacy head's too.
        let mut links = upgraded_chain();
        for (link, _) in &mut links {
            link.seal = None;
        }
        let kit = kit_over(links, 0);

        // Act
        let report = kit.service().verify_chain("app_a").await.unwrap();

        // Assert
        let broken = report.first_break.unwrap();
        assert_eq!(broken.position, Some(1));
        assert!(broken.problem.contains("stripped"), "{}", broken.problem);
    }

    #[tokio::test]
    async fn the_run_that_adds_seals_seals_each_chains_last_link_as_its_legacy_head() {
        // Arrange: a chain of three links, none sealed.
        let mut links = sealed_chain();
        for (link, _) in &mut links {
            link.seal = None;
        }
        let head = links[2].0.clone();
        let mut kit = kit_over(links, 0);
        kit.chain
            .expect_chains()
            .returning(|| Ok(vec!["app_a".into()]));
        let given = Arc::new(Mutex::new(Vec::new()));
        let keep = Arc::clone(&given);
        kit.chain.expect_give_seals().returning(move |_, seals| {
            keep.lock().unwrap().extend(seals);
            Ok(1)
        });

        // Act
        let vouched = kit.service().seal_legacy_heads().await.unwrap();

        // Assert
        let input = legacy_head_input("app_a", 3, &head.link);
        assert_eq!(vouched, ["app_a"]);
        assert_eq!(
            *given.lock().unwrap(),
            [(3, fake_mac(MacPurpose::AuditSeal, &input))]
        );
    }
}
