//! Several engine processes on one Postgres database write and seal at the same time: one chain per
//! app, gapless, never forked. Skipped (with a note) when `TEST_DATABASE_URL` is not set.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::backend::{Backend, Deployment};
use super::{
    GENESIS, Reader, assert_export_verifies, events_of, export, ints, one_to, subset, text, texts,
    verify,
};
use crate::support::{AppCreds, TestServer, fire_at_once, unique_phone};

const SENDS: usize = 40;
const READS: usize = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_writing_and_sealing_at_once_build_one_gapless_chain() {
    // Arrange: two processes on one database; 40 sends (each writes `otp_sent`) and 10 readers
    // (each seals before it reads), split across both and released together, while both
    // processes' background sealers run too.
    let builder = TestServer::builder().env("AUTH_OTP_SENDS_PER_IP_PER_HOUR", "1000");
    let Some(mut deployment) = Deployment::start_with(Backend::Postgres, builder).await else {
        return;
    };
    let h = &deployment.h;
    let mut second = h.server.start_sibling().await;
    let processes = [&h.server, &second];
    let mut posts: Vec<_> = (0..SENDS)
        .map(|i| {
            let fields = h.app.body(json!({ "phone": unique_phone() }));
            processes[i % 2].prepare_post("/auth/send-otp", fields)
        })
        .collect();
    posts.extend((0..READS).map(|i| {
        let fields = h.app.body(json!({ "limit": 1000 }));
        processes[i % 2].prepare_post("/audit/events", fields)
    }));

    // Act
    let replies = fire_at_once(posts).await;
    let (sends, reads) = replies.split_at(SENDS);
    let send_ids: BTreeSet<String> = sends
        .iter()
        .map(|reply| {
            reply.assert_ok();
            reply.header("x-request-id").unwrap_or_default().to_owned()
        })
        .collect();
    let events = listing_with_every_send(&processes, &h.app, &send_ids).await;

    // Assert: every listing, even those taken mid-race, is a gapless prefix of one chain.
    for read in reads {
        let seen = events_of(read);
        assert_eq!(ints(seen, "seq"), one_to(seen.len()), "{}", read.text);
        assert_eq!(
            seen,
            &events[..seen.len()],
            "two readers saw different chains"
        );
    }
    assert_eq!(ints(&events, "seq"), one_to(events.len()));
    let ids: BTreeSet<String> = texts(&events, "id").into_iter().collect();
    assert_eq!(ids.len(), events.len(), "a record is listed twice");
    let sent = subset(&events, |e| e["event"] == "otp_sent");
    assert_eq!(sent.len(), SENDS, "otp_sent records: {sent:?}");
    let sent_by: BTreeSet<String> = texts(&sent, "request_id").into_iter().collect();
    assert_eq!(sent_by, send_ids, "otp_sent records do not match the sends");
    let from_second = Reader::new(&second, &h.app).all(json!({})).await;
    assert_eq!(from_second, events, "the processes list different chains");
    verify(&h.server, Some(&h.app.app_slug))
        .await
        .assert_intact();
    let lines = export(&h.server, &h.app.app_slug, None).await;
    assert_eq!(texts(&lines, "id"), texts(&events, "id"));
    assert_export_verifies(&lines, GENESIS);
    second.stop().await;
    deployment.h.server.stop().await;
}

/// Lists the app's records from each process in turn until every send's `otp_sent` is there.
async fn listing_with_every_send(
    processes: &[&TestServer],
    app: &AppCreds,
    send_ids: &BTreeSet<String>,
) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut turn = 0;
    loop {
        turn += 1;
        let events = Reader::new(processes[turn % processes.len()], app)
            .all(json!({ "limit": 1000 }))
            .await;
        let complete = {
            let listed: BTreeSet<&str> = events
                .iter()
                .filter(|e| e["event"] == "otp_sent")
                .map(|e| text(e, "request_id"))
                .collect();
            send_ids.iter().all(|id| listed.contains(id.as_str()))
        };
        if complete || Instant::now() >= deadline {
            return events;
        }
        // Waiting on real time is the point: a sealer that lost a race finishes later.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
