//! `auth-engine audit export`: every sealed record with its links, which anyone can check with
//! SHA-256 and the documented encoding, without the engine.

use std::collections::BTreeSet;

use serde_json::json;

use super::{
    GENESIS, Reader, assert_export_verifies, export, int, ints, micros, occurred_at, one_to,
    rfc3339_of_micros, subset, text, texts, verify, whole_session,
};
use crate::support::docs::AUDIT_LOG;
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
