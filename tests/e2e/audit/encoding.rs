//! The encoding a link covers, three ways that must agree: the worked example in
//! docs/audit-log.md, this suite's own encoder (the one every export check uses) and the engine's.

use auth_domain::chain::{GENESIS as ENGINE_GENESIS, StoredEvent};
use serde_json::{Value, json};

use super::{GENESIS, canonical};
use crate::support::docs::AUDIT_LOG;
use crate::support::sha256::{hex, sha256, unhex};

const DOC: &str = include_str!("../../../docs/audit-log.md");

/// The documented example record, already canonical, and its link at position 1.
const EXAMPLE: &str = r#"{"actor":"usr_a","app_id":"app_a","client_ip":null,"details":{"a":{"b":3,"y":2},"z":1},"event":"login","id":"evt_a","occurred_at":1700000000000000,"outcome":"success","request_id":"req_a","seq":7,"subject":null,"user_agent":null}"#;
const EXAMPLE_LINK: &str = "4a5b2fef8db132240f15505f7103d6f892565a0b59fe314e6143ed77ea739d5b";

#[test]
fn the_documented_example_is_canonical_and_has_the_documented_link() {
    // Arrange
    let record: Value = serde_json::from_str(EXAMPLE).expect("the example is JSON");
    let mut input = unhex(GENESIS).expect("hex");

    // Act
    let encoded = canonical(&record);
    input.extend_from_slice(encoded.as_bytes());

    // Assert
    assert!(
        DOC.contains(EXAMPLE),
        "docs/audit-log.md no longer shows the example record"
    );
    assert!(
        DOC.contains(EXAMPLE_LINK),
        "docs/audit-log.md no longer shows the example link"
    );
    assert_eq!(AUDIT_LOG.example("audit-record"), record);
    assert_eq!(encoded, EXAMPLE);
    assert_eq!(hex(&sha256(&input)), EXAMPLE_LINK);
}

#[test]
fn this_suites_encoder_and_the_engines_agree_on_an_awkward_record() {
    // Arrange: details stored with unsorted keys at several levels, arrays, non-ASCII keys and
    // strings that need escaping; nulls; a user agent with quotes, a tab and non-ASCII text.
    let stored_details =
        r#"{"z":[3,{"b":1,"a":2}],"é":"x","a":{"y":null,"b":"\u0001\"/\\"},"n":-5}"#;
    let user_agent = "Tést/1.0 (\"q\"\t日本語) \\ /";
    let engine = StoredEvent {
        seq: 42,
        id: "evt_x".to_owned(),
        app_id: None,
        event: "rate_limited".to_owned(),
        outcome: "failure".to_owned(),
        actor: None,
        subject: Some("otp_y".to_owned()),
        client_ip: Some("2001:db8::1".to_owned()),
        user_agent: Some(user_agent.to_owned()),
        request_id: None,
        details: stored_details.to_owned(),
        occurred_at: 1_764_460_800_123_456,
    };
    let exported = json!({
        "position": 1,
        "seq": 42,
        "id": "evt_x",
        "app_id": null,
        "occurred_at": 1_764_460_800_123_456_i64,
        "event": "rate_limited",
        "outcome": "failure",
        "actor": null,
        "subject": "otp_y",
        "client_ip": "2001:db8::1",
        "user_agent": user_agent,
        "request_id": null,
        "details": serde_json::from_str::<Value>(stored_details).expect("details are JSON"),
    });

    // Act
    let ours = canonical(&exported);
    let theirs = String::from_utf8(engine.canonical()).expect("the encoding is UTF-8");

    // Assert
    assert_eq!(ours, theirs);
    assert!(
        ours.contains(
            r#""details":{"a":{"b":"\u0001\"/\\","y":null},"n":-5,"z":[3,{"a":2,"b":1}],"é":"x"}"#
        ),
        "{ours}"
    );
    assert!(
        ours.contains("\"user_agent\":\"Tést/1.0 (\\\"q\\\"\\t日本語) \\\\ /\""),
        "{ours}"
    );
    let mut input = ENGINE_GENESIS.to_vec();
    input.extend_from_slice(ours.as_bytes());
    assert_eq!(engine.link_input(&ENGINE_GENESIS), input);
}
