//! `auth-engine audit export`: every sealed record with its links, which anyone can check with
//! SHA-256 and the documented encoding, without the engine.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::backend::{Backend, Deployment};
use super::{
    GENESIS, Reader, assert_export_verifies, canonical, export, export_file, int, ints, micros,
    occurred_at, one_to, rfc3339_of_micros, subset, text, texts, verify, whole_session,
};
use crate::support::docs::AUDIT_LOG;
use crate::support::jwt::{EXPORT_TYP, fetch_audit_keys, verify_audit_statement};
use crate::support::sha256::{hex, sha256, unhex};
use crate::support::{Harness, unique_phone, wrong_code};

/// An end user's browser as a backend might forward it: quotes, a backslash and non-ASCII text,
/// each of which the canonical encoding must spell out exactly. (Control characters such as a tab
/// never get this far: the API refuses them in every string field.)
const AGENT: &str = "Tést-Browser/1.0 (\"quoted\" back\\slash; 日本語)";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_export_verifies_with_sha256_and_the_documented_encoding_alone() {
    // Arrange: records with nulls, a failure, details of several shapes and an unusual user agent.
    let h = Harness::start().await;
    let context = [("client_ip", "2001:db8::7"), ("user_agent", AGENT)];
    whole_session(&h, &unique_phone(), &context).await;
    let (otp_request_id, code) = h.request_code(&unique_phone()).await;
    let mut login = json!({ "otp_request_id": otp_request_id, "otp": code });
    for (name, value) in context {
        login[name] = json!(value);
    }
    h.post("/auth/verify-otp", login).await.assert_ok();
    let (otp_request_id, code) = h.request_code(&unique_phone()).await;
    h.verify_otp(&otp_request_id, &wrong_code(&code))
        .await
        .assert_error(401, "otp_invalid");
    h.post("/tenants/create", json!({ "slug": "acme", "name": "Acme" }))
        .await
        .assert_ok();
    // Listing seals what has been written.
    let listed = Reader::of(&h).all(json!({})).await;

    // Act
    let lines = export(&h.server, &h.app.app_slug, None).await;

    // Assert
    assert_eq!(ints(&lines, "position"), one_to(listed.len()));
    assert_eq!(texts(&lines, "id"), texts(&listed, "id"));
    for (line, event) in lines.iter().zip(&listed) {
        assert_eq!(line["position"], event["seq"], "{line}");
        assert_eq!(line["app_id"], h.app.app_id.as_str(), "{line}");
        assert_eq!(
            int(line, "occurred_at"),
            micros(occurred_at(event)),
            "{line}"
        );
        for field in [
            "event",
            "outcome",
            "actor",
            "subject",
            "client_ip",
            "user_agent",
            "request_id",
            "details",
        ] {
            assert_eq!(
                line[field], event[field],
                "`{field}` differs from the listing: {line}"
            );
        }
        for link in ["prev_link", "link"] {
            let value = text(line, link);
            assert!(
                value.len() == 64
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{link} is not 64 lowercase hex digits: {line}"
            );
        }
    }
    let seqs: BTreeSet<i64> = ints(&lines, "seq").into_iter().collect();
    assert_eq!(seqs.len(), lines.len(), "two lines carry one seq: {seqs:?}");
    assert!(
        lines.iter().any(|line| line["outcome"] == "failure"),
        "no failure recorded"
    );
    assert!(
        lines.iter().any(|line| line["actor"].is_null()),
        "no record without an actor"
    );
    assert!(
        lines.iter().any(|line| line["user_agent"] == AGENT),
        "the agent was not kept as sent"
    );
    let login = lines
        .iter()
        .find(|line| {
            line["event"] == "login"
                && line["client_ip"].is_string()
                && line["user_agent"].is_string()
        })
        .expect("the login with the end user's context is exported");
    AUDIT_LOG.assert_same_shape("audit-export-line", login);
    assert_export_verifies(&lines, GENESIS);
    verify(&h.server, None).await.assert_intact();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_export_since_an_instant_starts_mid_chain_and_still_verifies() {
    // Arrange
    let h = Harness::start().await;
    for _ in 0..3 {
        h.login(&unique_phone()).await;
    }
    Reader::of(&h).all(json!({})).await;
    let full = export(&h.server, &h.app.app_slug, None).await;
    let (before, cut) = (&full[2], &full[3]);
    let since = rfc3339_of_micros(int(cut, "occurred_at"));

    // Act
    let tail = export(&h.server, &h.app.app_slug, Some(&since)).await;

    // Assert
    let expected = subset(&full, |line| {
        int(line, "occurred_at") >= int(cut, "occurred_at")
    });
    assert_eq!(tail, expected, "--since {since}");
    assert_eq!(tail.first(), Some(cut), "--since {since}");
    assert_eq!(tail[0]["prev_link"], before["link"]);
    assert_export_verifies(&tail, text(before, "link"));
    assert_export_verifies(&full, GENESIS);
}

/// The documented offline check of an export file (audit-log.md, "Checking an export offline"),
/// with nothing but the file, the audit key set kept from the engine, SHA-256 and an EdDSA JWS
/// library: the signed last line vouches for the first `prev_link`, the last `link` and the count,
/// and the records chain between them.
fn offline_check(lines: &[Value], keys: &Value, app_id: &str) -> Result<(), String> {
    let (last, body) = lines.split_last().ok_or("an empty export")?;
    let token = last["export"].as_str().ok_or("no signed last line")?;
    let claims = verify_audit_statement(token, EXPORT_TYP, keys)?;
    let records: Vec<&Value> = body
        .iter()
        .filter(|l| l.get("position").is_some())
        .collect();
    let (first, end) = match (records.first(), records.last()) {
        (Some(first), Some(end)) => (*first, *end),
        _ => return Err("no record line".into()),
    };
    let vouched = [
        ("app_id", json!(app_id)),
        ("from_position", first["position"].clone()),
        ("prev_link", first["prev_link"].clone()),
        ("position", end["position"].clone()),
        ("link", end["link"].clone()),
        ("records", json!(records.len())),
    ];
    for (claim, expected) in vouched {
        if claims[claim] != expected {
            return Err(format!(
                "`{claim}` is {} but the file says {expected}",
                claims[claim]
            ));
        }
    }
    let mut previous = text(first, "prev_link").to_owned();
    for (line, position) in records.iter().zip(int(first, "position")..) {
        if int(line, "position") != position || text(line, "prev_link") != previous {
            return Err(format!(
                "position {position} does not follow the line before"
            ));
        }
        let mut input = unhex(&previous).ok_or("prev_link is not hex")?;
        input.extend_from_slice(canonical(line).as_bytes());
        previous = hex(&sha256(&input));
        if text(line, "link") != previous {
            return Err(format!(
                "position {position}: the link does not cover the record"
            ));
        }
    }
    Ok(())
}

/// `lines` with the record at `index` edited and every link from it on recomputed, as whoever
/// holds the file (or the database) can.
fn rewritten(lines: &[Value], index: usize) -> Vec<Value> {
    let mut lines = lines.to_vec();
    lines[index]["details"] = json!({ "tampered": true });
    let mut previous = text(&lines[index], "prev_link").to_owned();
    for line in lines[index..]
        .iter_mut()
        .filter(|l| l.get("position").is_some())
    {
        line["prev_link"] = json!(previous);
        let mut input = unhex(&previous).unwrap_or_default();
        input.extend_from_slice(canonical(line).as_bytes());
        previous = hex(&sha256(&input));
        line["link"] = json!(previous);
    }
    lines
}

async fn an_export_verifies_offline_with_the_published_audit_key(backend: Backend) {
    // Arrange: the audit key set kept from the engine, and an export of a few sessions.
    let Some(mut deployment) = Deployment::start(backend).await else {
        return;
    };
    let h = &deployment.h;
    let keys = fetch_audit_keys(&h.server).await;
    let by_cli = h.server.run_cli(&["audit", "key"]).await;
    for _ in 0..2 {
        h.login(&unique_phone()).await;
    }
    Reader::of(h).all(json!({})).await;
    let app_id = h.app.app_id.clone();
    let app_id = app_id.as_str();

    // Act
    let lines = export_file(&h.server, &h.app.app_slug, None).await;
    deployment.h.server.stop().await;

    // Assert: the file checks out offline, and neither a rewrite nor another key does.
    let printed: Value = serde_json::from_slice(&by_cli.stdout).unwrap_or_default();
    assert_eq!(printed, keys, "the CLI prints the published key set");
    offline_check(&lines, &keys, app_id).unwrap_or_else(|error| panic!("{error}"));
    AUDIT_LOG.assert_same_shape("audit-keys", &keys);
    AUDIT_LOG.assert_same_shape("audit-export-seal-line", &lines[lines.len() - 1]);
    assert_eq!(lines.last().map(|l| &l["key"]), keys["keys"].get(0));
    let second = rewritten(&lines, 1);
    assert_export_verifies(&second[..second.len() - 1], GENESIS);
    let refused = offline_check(&second, &keys, app_id);
    assert!(
        refused.is_err_and(|e| e.contains("link")),
        "a rewrite passed"
    );
    let shortened = [&lines[..lines.len() - 2], &lines[lines.len() - 1..]].concat();
    assert!(
        offline_check(&shortened, &keys, app_id).is_err(),
        "a cut passed"
    );
    let mut other = keys.clone();
    other["keys"][0]["x"] = json!("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    assert!(
        offline_check(&lines, &other, app_id).is_err(),
        "another key passed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_export_verifies_offline_with_the_published_audit_key_on_sqlite() {
    an_export_verifies_offline_with_the_published_audit_key(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_export_verifies_offline_with_the_published_audit_key_on_postgres() {
    an_export_verifies_offline_with_the_published_audit_key(Backend::Postgres).await;
}
