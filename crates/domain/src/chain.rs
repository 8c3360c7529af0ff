//! The audit log's hash chain: each app's records, in the order they were sealed, linked by
//! SHA-256 over a canonical encoding, so any edit, deletion, reordering or insertion shows; and
//! each link sealed with a key only the master key opens, so a rewritten chain shows too.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A record as stored, read back for sealing, listing or verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: i64,
    pub id: String,
    pub app_id: Option<String>,
    pub event: String,
    pub outcome: String,
    pub actor: Option<String>,
    pub subject: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// The stored JSON text of `details`.
    pub details: String,
    /// Microseconds since the Unix epoch.
    pub occurred_at: i64,
}

/// The link before the first record of a chain.
pub const GENESIS: [u8; 32] = [0; 32];

impl StoredEvent {
    /// The canonical encoding a link covers: compact JSON, keys in byte order, `details` re-encoded
    /// the same way, times as integer microseconds, absent values as `null`.
    #[must_use]
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.details.len());
        self.write_canonical(&mut out);
        out
    }

    /// Writes [`StoredEvent::canonical`] to `out`: field by field, in the byte order of the key
    /// names, each value encoded exactly as `serde_json` encodes a `Value` (the encoding verify
    /// and third parties recompute).
    fn write_canonical(&self, out: &mut Vec<u8>) {
        fn text(out: &mut Vec<u8>, key: &str, value: Option<&str>) {
            out.extend_from_slice(key.as_bytes());
            match value {
                // Writing JSON into a Vec cannot fail.
                Some(value) => drop(serde_json::to_writer(&mut *out, value)),
                None => out.extend_from_slice(b"null"),
            }
        }
        fn number(out: &mut Vec<u8>, key: &str, value: i64) {
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(value.to_string().as_bytes());
        }
        text(out, "{\"actor\":", self.actor.as_deref());
        text(out, ",\"app_id\":", self.app_id.as_deref());
        text(out, ",\"client_ip\":", self.client_ip.as_deref());
        out.extend_from_slice(b",\"details\":");
        // serde_json's default map is ordered by key, so re-encoding a parsed value is canonical.
        drop(serde_json::to_writer(&mut *out, &self.details_value()));
        text(out, ",\"event\":", Some(&self.event));
        text(out, ",\"id\":", Some(&self.id));
        number(out, ",\"occurred_at\":", self.occurred_at);
        text(out, ",\"outcome\":", Some(&self.outcome));
        text(out, ",\"request_id\":", self.request_id.as_deref());
        number(out, ",\"seq\":", self.seq);
        text(out, ",\"subject\":", self.subject.as_deref());
        text(out, ",\"user_agent\":", self.user_agent.as_deref());
        out.push(b'}');
    }

    /// `details` as JSON: the stored object, or (for text that is not JSON, which only tampering
    /// produces) that text as a JSON string — the same value the canonical encoding covers.
    #[must_use]
    pub fn details_value(&self) -> Value {
        serde_json::from_str(&self.details).unwrap_or_else(|_| Value::String(self.details.clone()))
    }

    /// The bytes hashed to make this record's link: the previous link, then the canonical record.
    #[must_use]
    pub fn link_input(&self, previous: &[u8; 32]) -> Vec<u8> {
        let mut input = Vec::with_capacity(32 + 256 + self.details.len());
        input.extend_from_slice(previous);
        self.write_canonical(&mut input);
        input
    }
}

/// One sealed position of an app's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainLink {
    /// 1, 2, 3 … within the chain, with no gaps.
    pub position: i64,
    pub event_seq: i64,
    pub link: [u8; 32],
    /// The keyed digest of [`seal_input`]: `None` only for a link sealed before seals existed
    /// (or stripped of its seal).
    pub seal: Option<[u8; 32]>,
}

/// What a link's seal covers: the chain, the position and the link, so no link can be moved to
/// another place or chain and keep its seal. A fixed label, then the chain's length (4 bytes,
/// big-endian), the chain, the position (8 bytes, big-endian) and the link.
#[must_use]
pub fn seal_input(chain: &str, position: i64, link: &[u8; 32]) -> Vec<u8> {
    labelled(SEAL_LABEL, chain, position, link)
}

/// What the seal of a chain's **legacy head** covers: the last link written before seals existed,
/// sealed by the engine run that added seals, so that it vouches (through its link) for every link
/// before it. Laid out as [`seal_input`], under another label, so neither seal can pass for the
/// other.
#[must_use]
pub fn legacy_head_input(chain: &str, position: i64, link: &[u8; 32]) -> Vec<u8> {
    labelled(LEGACY_HEAD_LABEL, chain, position, link)
}

fn labelled(label: &[u8], chain: &str, position: i64, link: &[u8; 32]) -> Vec<u8> {
    let mut input = Vec::with_capacity(label.len() + 4 + chain.len() + 8 + 32);
    input.extend_from_slice(label);
    input.extend_from_slice(&u32::try_from(chain.len()).unwrap_or(u32::MAX).to_be_bytes());
    input.extend_from_slice(chain.as_bytes());
    input.extend_from_slice(&position.to_be_bytes());
    input.extend_from_slice(link);
    input
}

const SEAL_LABEL: &[u8] = b"auth-engine audit seal v1\0";
const LEGACY_HEAD_LABEL: &[u8] = b"auth-engine audit legacy head v1\0";

/// The chain of an app, or `""` for records of no app (credential failures for unknown apps).
#[must_use]
pub fn chain_key(app_id: Option<&str>) -> String {
    app_id.unwrap_or_default().to_owned()
}

/// A sealed record with its place in the chain: one line of an export or an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedRecord {
    pub link: ChainLink,
    /// The link of the position before (the genesis before position 1).
    pub previous: [u8; 32],
    pub event: StoredEvent,
}

impl ExportedRecord {
    /// The documented export line: the covered fields, `position`, `prev_link` and `link`.
    #[must_use]
    pub fn to_line(&self) -> Value {
        let event = &self.event;
        json!({
            "position": self.link.position,
            "seq": event.seq,
            "id": event.id,
            "app_id": event.app_id,
            "occurred_at": event.occurred_at,
            "event": event.event,
            "outcome": event.outcome,
            "actor": event.actor,
            "subject": event.subject,
            "client_ip": event.client_ip,
            "user_agent": event.user_agent,
            "request_id": event.request_id,
            "details": event.details_value(),
            "prev_link": hex(&self.previous),
            "link": hex(&self.link.link),
        })
    }
}

/// The JOSE `typ` of a signed checkpoint.
pub const CHECKPOINT_TYP: &str = "audit-checkpoint+jwt";

/// What a checkpoint vouches for, signed with the app's key: positions `from_position..=position`
/// of the app's chain followed `prev_link`, ended with `link`, and have been archived. Whatever
/// remains of the chain continues from `link`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointClaims {
    pub iss: String,
    /// The chain: the app's id.
    pub app_id: String,
    pub iat: i64,
    pub from_position: i64,
    /// Hex of the link before `from_position`.
    pub prev_link: String,
    pub position: i64,
    /// Hex of the link at `position`.
    pub link: String,
    /// Records archived: `position - from_position + 1`.
    pub records: i64,
    /// The archive took records that occurred before this instant (microseconds since the epoch).
    pub before: i64,
}

/// The JOSE `typ` of the signed last line of an export.
pub const EXPORT_TYP: &str = "audit-export+jwt";

/// What the last line of an export vouches for, signed with the engine's audit key once every line
/// before it was checked against its seal: positions `from_position..=position` of the app's chain
/// followed `prev_link` and ended with `link`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportClaims {
    pub iss: String,
    /// The chain: the app's id.
    pub app_id: String,
    pub iat: i64,
    pub from_position: i64,
    /// Hex of the link before `from_position`.
    pub prev_link: String,
    pub position: i64,
    /// Hex of the link at `position`.
    pub link: String,
    /// Records exported: `position - from_position + 1`.
    pub records: i64,
}

/// A chain's archived prefix, as the database keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub chain: String,
    pub from_position: i64,
    pub position: i64,
    pub link: [u8; 32],
    /// The compact JWS of the [`CheckpointClaims`].
    pub token: String,
}

impl Checkpoint {
    /// The line that stands for this checkpoint in an export or an archive.
    #[must_use]
    pub fn to_line(&self) -> Value {
        json!({ "checkpoint": self.token })
    }

    /// Whether `claims` say exactly what this stored checkpoint says.
    #[must_use]
    pub fn matches(&self, claims: &CheckpointClaims) -> bool {
        claims.app_id == self.chain
            && claims.from_position == self.from_position
            && claims.position == self.position
            && claims.link == hex(&self.link)
            && claims.records == self.position - self.from_position + 1
    }
}

/// Lower-case hex, as links are written in exports.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, byte| {
        let _ = write!(out, "{byte:02x}");
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> StoredEvent {
        StoredEvent {
            seq: 7,
            id: "evt_a".into(),
            app_id: Some("app_a".into()),
            event: "login".into(),
            outcome: "success".into(),
            actor: Some("usr_a".into()),
            subject: None,
            client_ip: None,
            user_agent: None,
            request_id: Some("req_a".into()),
            details: r#"{"z": 1, "a": {"y": 2, "b": 3}}"#.into(),
            occurred_at: 1_700_000_000_000_000,
        }
    }

    #[test]
    fn the_canonical_encoding_sorts_keys_at_every_level_and_spells_out_nulls() {
        let text = String::from_utf8(event().canonical()).unwrap();
        assert_eq!(
            text,
            r#"{"actor":"usr_a","app_id":"app_a","client_ip":null,"details":{"a":{"b":3,"y":2},"z":1},"event":"login","id":"evt_a","occurred_at":1700000000000000,"outcome":"success","request_id":"req_a","seq":7,"subject":null,"user_agent":null}"#
        );
    }

    /// The encoding as `serde_json` makes it from a `Value`: what the docs tell third parties to do.
    fn through_value(event: &StoredEvent) -> Vec<u8> {
        json!({
            "actor": event.actor,
            "app_id": event.app_id,
            "client_ip": event.client_ip,
            "details": event.details_value(),
            "event": event.event,
            "id": event.id,
            "occurred_at": event.occurred_at,
            "outcome": event.outcome,
            "request_id": event.request_id,
            "seq": event.seq,
            "subject": event.subject,
            "user_agent": event.user_agent,
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn the_canonical_encoding_spells_strings_exactly_as_serde_json_does() {
        let awkward = [
            "plain",
            "\"quoted\" back\\slash",
            "tab\tnew\nline\u{0}nul\u{1f}",
            "日本語 é \u{2028} \u{1F600}",
            "</script>",
            "",
        ];
        for text in awkward {
            let event = StoredEvent {
                seq: -3,
                id: text.into(),
                app_id: None,
                event: text.into(),
                outcome: text.into(),
                actor: Some(text.into()),
                subject: None,
                client_ip: Some(text.into()),
                user_agent: Some(text.into()),
                request_id: None,
                details: json!({ "z": text, "a": [text, 1.5, null] }).to_string(),
                occurred_at: i64::MIN,
            };
            assert_eq!(
                String::from_utf8(event.canonical()).unwrap(),
                String::from_utf8(through_value(&event)).unwrap()
            );
        }
        let not_json = StoredEvent {
            details: "not json {".into(),
            ..event()
        };
        assert_eq!(not_json.canonical(), through_value(&not_json));
    }

    #[test]
    fn hex_is_two_lower_case_digits_a_byte() {
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
    }

    #[test]
    fn a_checkpoint_matches_only_claims_that_say_the_same() {
        let checkpoint = Checkpoint {
            chain: "app_a".into(),
            from_position: 1,
            position: 3,
            link: [7; 32],
            token: "t".into(),
        };
        let claims = CheckpointClaims {
            iss: "https://auth.example".into(),
            app_id: "app_a".into(),
            iat: 0,
            from_position: 1,
            prev_link: hex(&GENESIS),
            position: 3,
            link: hex(&[7; 32]),
            records: 3,
            before: 0,
        };
        assert!(checkpoint.matches(&claims));
        for changed in [
            CheckpointClaims {
                app_id: "app_b".into(),
                ..claims.clone()
            },
            CheckpointClaims {
                position: 4,
                ..claims.clone()
            },
            CheckpointClaims {
                link: hex(&[8; 32]),
                ..claims.clone()
            },
            CheckpointClaims {
                records: 2,
                ..claims.clone()
            },
        ] {
            assert!(!checkpoint.matches(&changed), "{changed:?}");
        }
    }

    #[test]
    fn a_seal_covers_the_chain_the_position_and_the_link_unambiguously() {
        let base = seal_input("app_a", 3, &[1; 32]);
        for other in [
            seal_input("app_b", 3, &[1; 32]),
            seal_input("app_a", 4, &[1; 32]),
            seal_input("app_a", 3, &[2; 32]),
            // The chain's length keeps a longer name from running into the position.
            seal_input("app_a\0", 3, &[1; 32]),
        ] {
            assert_ne!(base, other);
        }
        assert!(base.ends_with(&[1; 32]));
        assert_ne!(base, legacy_head_input("app_a", 3, &[1; 32]));
    }

    #[test]
    fn the_link_input_is_the_previous_link_then_the_record() {
        let input = event().link_input(&[9; 32]);
        assert_eq!(&input[..32], &[9; 32]);
        assert_eq!(&input[32..], event().canonical().as_slice());
    }
}
