//! docs/04-license-keys.md stays true: the examples it marks with `<!-- example:NAME -->` are sent
//! as real requests, and the real answers must have exactly the documented shape.

use serde_json::{Value, json};
use time::Duration;

use super::{Vendor, assert_key_format, check_holds, now, rfc3339, user_id_of};
use crate::support::{Harness, unique_phone};

const DOC: &str = include_str!("../../../docs/04-license-keys.md");

/// Fields whose documented value must be the real one, not just of the same JSON type.
const EXACT: [&str; 3] = ["code", "status", "valid"];

/// The JSON of the ```json block right after `<!-- example:NAME -->`.
#[track_caller]
fn example(name: &str) -> Value {
    let marker = format!("<!-- example:{name} -->");
    let mut lines = DOC.lines().skip_while(|line| line.trim() != marker).skip(1);
    assert_eq!(
        lines.next().map(str::trim),
        Some("```json"),
        "docs/04 has no `{marker}` right before a ```json block"
    );
    let block: Vec<&str> = lines.take_while(|line| line.trim() != "```").collect();
    serde_json::from_str(&block.join("\n"))
        .unwrap_or_else(|error| panic!("docs/04 example {name} is not JSON: {error}"))
}

/// A documented request without its placeholder credentials (the test's app sends real ones).
#[track_caller]
fn request(name: &str) -> Value {
    let mut fields = example(name);
    let Some(map) = fields.as_object_mut() else {
        panic!("docs/04 example {name} is not a JSON object");
    };
    map.remove("app_id");
    map.remove("app_secret");
    fields
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Where `real` does not have the shape of `documented`: the same keys at every level, the same
/// JSON types, and equal values for the `EXACT` fields.
fn differences(documented: &Value, real: &Value) -> Vec<String> {
    let mut found = Vec::new();
    compare("$", documented, real, &mut found);
    found
}

fn compare(path: &str, documented: &Value, real: &Value, found: &mut Vec<String>) {
    if kind(documented) != kind(real) {
        found.push(format!(
            "{path}: documented as {}, answered as {} ({real})",
            kind(documented),
            kind(real)
        ));
        return;
    }
    match (documented, real) {
        (Value::Object(doc), Value::Object(answer)) => {
            for name in doc.keys().filter(|name| !answer.contains_key(*name)) {
                found.push(format!("{path}.{name}: documented but not answered"));
            }
            for name in answer.keys().filter(|name| !doc.contains_key(*name)) {
                found.push(format!("{path}.{name}: answered but not documented"));
            }
            for (name, doc_value) in doc {
                let Some(real_value) = answer.get(name) else {
                    continue;
                };
                let here = format!("{path}.{name}");
                if EXACT.contains(&name.as_str()) && doc_value != real_value {
                    found.push(format!(
                        "{here}: documented {doc_value}, answered {real_value}"
                    ));
                }
                compare(&here, doc_value, real_value, found);
            }
        }
        (Value::Array(doc), Value::Array(answer)) => {
            if doc.len() == answer.len() {
                for (i, (doc_item, real_item)) in doc.iter().zip(answer).enumerate() {
                    compare(&format!("{path}[{i}]"), doc_item, real_item, found);
                }
            } else {
                found.push(format!(
                    "{path}: {} items documented, {} answered",
                    doc.len(),
                    answer.len()
                ));
            }
        }
        _ => {}
    }
}

#[track_caller]
fn assert_same_shape(name: &str, real: &Value) {
    let found = differences(&example(name), real);
    assert!(
        found.is_empty(),
        "docs/04 example {name} is not what the engine answers:\n{}\nthe real answer: {real}",
        found.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_documented_examples_have_the_shape_of_real_answers() {
    // Arrange: the documented generate request, with a real user, its tenant created, and an expiry
    // a year from now instead of the document's fixed date.
    let h = Harness::start().await;
    let vendor = Vendor::of(&h);
    let mut generate = request("generate-request");
    if let Some(tenant) = generate["tenant"].as_str() {
        h.post("/tenants/create", json!({ "slug": tenant, "name": "Docs" }))
            .await
            .assert_ok();
    }
    if generate.get("user_id").is_some() {
        generate["user_id"] = json!(user_id_of(&h.login(&unique_phone()).await));
    }
    if generate.get("expires_at").is_some() {
        generate["expires_at"] = json!(rfc3339(now() + Duration::days(365)));
    }

    // Act
    let generated = vendor.generate(generate).await;
    generated.assert_ok();
    let key = generated.body["license"]["key"].clone();
    let mut activate = request("activate-request");
    activate["key"] = key.clone();
    let activated = vendor.post("/licenses/activate", activate).await;
    let mut verify = request("verify-request");
    verify["key"] = key;
    let verified = vendor.post("/licenses/verify", verify).await;
    let not_found = vendor
        .post("/licenses/verify", request("verify-not-found-request"))
        .await;
    let claims = vendor.token_claims(&activated).await;

    // Assert
    for (name, reply) in [
        ("generate-response", &generated),
        ("activate-response", &activated),
        ("verify-response", &verified),
        ("verify-not-found-response", &not_found),
    ] {
        reply.assert_ok();
        assert_same_shape(name, &reply.body);
    }
    assert_same_shape("license-token-claims", &claims);
    // The documented `device` is SHA-256 of the documented fingerprint, worked out by hand.
    assert_eq!(
        claims["device"],
        example("license-token-claims")["device"],
        "the device claim is not base64url(SHA-256(device_fingerprint))"
    );
}

#[test]
fn the_documented_keys_obey_the_documented_check() {
    // Arrange
    let documented_key = example("generate-response")["license"]["key"].clone();
    let documented_typo = example("verify-not-found-request")["key"].clone();

    // Act
    let key = documented_key.as_str().unwrap_or_default();
    let typo = documented_typo.as_str().unwrap_or_default();

    // Assert
    assert_key_format(key);
    for name in ["activate-request", "verify-request"] {
        assert_eq!(example(name)["key"], key, "example {name} uses another key");
    }
    assert!(
        !check_holds(typo),
        "the documented typo {typo} passes the check"
    );
    let changed = key
        .chars()
        .zip(typo.chars())
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(
        (changed, key.len()),
        (1, typo.len()),
        "the documented typo {typo} is not one symbol off {key}"
    );
}
