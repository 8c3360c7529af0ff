//! The audit log's hash chain: each app's records, in the order they were sealed, linked by
//! SHA-256 over a canonical encoding, so any edit, deletion, reordering or insertion shows.

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
        let details = self.details_value();
        // serde_json's default map is ordered by key, so this encoding is canonical.
        let record = json!({
            "actor": self.actor,
            "app_id": self.app_id,
            "client_ip": self.client_ip,
            "details": details,
            "event": self.event,
            "id": self.id,
            "occurred_at": self.occurred_at,
            "outcome": self.outcome,
            "request_id": self.request_id,
            "seq": self.seq,
            "subject": self.subject,
            "user_agent": self.user_agent,
        });
        record.to_string().into_bytes()
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
        let mut input = previous.to_vec();
        input.extend_from_slice(&self.canonical());
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
}

/// The chain of an app, or `""` for records of no app (credential failures for unknown apps).
#[must_use]
pub fn chain_key(app_id: Option<&str>) -> String {
    app_id.unwrap_or_default().to_owned()
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

    #[test]
    fn the_link_input_is_the_previous_link_then_the_record() {
        let input = event().link_input(&[9; 32]);
        assert_eq!(&input[..32], &[9; 32]);
        assert_eq!(&input[32..], event().canonical().as_slice());
    }
}
