//! `POST /audit/events`: an app reads its own records, oldest first, filtered and paginated, and
//! never a secret or another app's record.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::{
    LISTED, Reader, Session, events_of, ints, occurred_at, one_to, subset, text, texts,
    whole_session,
};
use crate::support::docs::AUDIT_LOG;
use crate::support::{Harness, login, unique_phone, unique_slug};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_is_listed_in_order_with_the_request_ids_that_caused_it() {
    // Arrange
    let h = Harness::start().await;
    let context = [
        ("client_ip", "203.0.113.7"),
        ("user_agent", "Backend-Test/1.0"),
    ];
    let session = whole_session(&h, &unique_phone(), &context).await;

    // Act: at once, without waiting for any background work.
    let reply = Reader::of(&h).page(json!({})).await;

    // Assert
    let events = events_of(&reply);
    assert_eq!(
        texts(events, "event"),
        ["app_created", "otp_sent", "login", "refresh", "logout"],
        "{}",
        reply.text
    );
    assert_eq!(ints(events, "seq"), one_to(events.len()));
    assert!(reply.body["next_cursor"].is_null(), "{}", reply.text);
    for event in events {
        for field in LISTED {
            assert!(
                event.get(field).is_some(),
                "a record without `{field}`: {event}"
            );
        }
        assert!(text(event, "id").starts_with("evt_"), "{event}");
        assert_eq!(event["outcome"], "success", "{event}");
        assert!(
            event["details"].is_object(),
            "details is not an object: {event}"
        );
        let _ = occurred_at(event);
    }
    let causes = [
        &session.sent,
        &session.login,
        &session.refreshed,
        &session.logged_out,
    ];
    for (event, cause) in events[1..].iter().zip(causes) {
        assert_eq!(
            event["request_id"].as_str(),
            cause.header("x-request-id"),
            "the record's request_id is not the X-Request-Id of the call that caused it: {event}"
        );
    }
    let sent = &events[1];
    assert_eq!(sent["client_ip"], "203.0.113.7", "{sent}");
    assert_eq!(sent["user_agent"], "Backend-Test/1.0", "{sent}");
    assert_eq!(sent["details"]["channel"], "sms", "{sent}");
    let user_id = text(&session.login.body["user"], "id");
    let session_id = session.login.str("session_id");
    for event in &events[2..] {
        assert_eq!(event["actor"], user_id, "{event}");
        assert_eq!(event["subject"], session_id.as_str(), "{event}");
    }
    assert_eq!(events[2]["details"]["is_new_user"], true, "{}", events[2]);
    assert_no_secrets(&h, &session, &reply.text);
}

/// Neither the code, nor the app secret, nor any token of the session is in `listing`.
#[track_caller]
fn assert_no_secrets(h: &Harness, session: &Session, listing: &str) {
    let signature = |jwt: &str| jwt.rsplit('.').next().unwrap_or_default().to_owned();
    let secrets = [
        ("the app secret", h.app.app_secret.clone()),
        (
            "the first refresh token",
            session.login.str("refresh_token"),
        ),
        (
            "the rotated refresh token",
            session.refreshed.str("refresh_token"),
        ),
        ("the first access token", session.login.str("access_token")),
        (
            "the rotated access token",
            session.refreshed.str("access_token"),
        ),
        (
            "an access token's signature",
            signature(&session.login.str("access_token")),
        ),
    ];
    for (what, secret) in secrets {
        assert!(
            !listing.contains(&secret),
            "{what} appears in the audit log: {listing}"
        );
    }
    assert!(
        !mentions_number(listing, &session.code),
        "the code {} appears in the audit log: {listing}",
        session.code
    );
}

/// Whether `number` stands on its own in `text`: not part of a longer number, and not the fraction
/// digits of a timestamp, which could hold a 6-digit code by chance.
fn mentions_number(text: &str, number: &str) -> bool {
    text.match_indices(number).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + number.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == '.')
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn filters_pick_records_by_event_user_and_time_window() {
    // Arrange: two people, one refresh and one logout.
    let h = Harness::start().await;
    let alice = h.login(&unique_phone()).await;
    let bob = h.login(&unique_phone()).await;
    h.refresh(&alice.str("refresh_token")).await.assert_ok();
    h.logout(&bob.str("refresh_token"), false).await.assert_ok();
    let reader = Reader::of(&h);
    let all = reader.all(json!({})).await;
    let (alice_id, bob_id) = (
        text(&alice.body["user"], "id"),
        text(&bob.body["user"], "id"),
    );
    let (first, last) = (&all[2], &all[all.len() - 1]);

    // Act
    let logins = reader.all(json!({ "event": "login" })).await;
    let of_alice = reader.all(json!({ "user_id": alice_id })).await;
    let window = reader
        .all(json!({ "since": first["occurred_at"], "until": last["occurred_at"] }))
        .await;

    // Assert
    assert_eq!(logins, subset(&all, |e| e["event"] == "login"));
    assert_eq!(logins.len(), 2, "{logins:?}");
    let alices = subset(&all, |e| e["actor"] == alice_id || e["subject"] == alice_id);
    assert!(alices.len() >= 2, "alice's login and refresh: {all:?}");
    assert_eq!(of_alice, alices);
    assert!(
        of_alice
            .iter()
            .all(|e| e["actor"] != bob_id && e["subject"] != bob_id),
        "{of_alice:?}"
    );
    let (since, until) = (occurred_at(first), occurred_at(last));
    let inside = subset(&all, |e| (since..until).contains(&occurred_at(e)));
    assert_eq!(window, inside);
    assert!(
        window.iter().any(|e| e["id"] == first["id"]),
        "since is inclusive: {window:?}"
    );
    assert!(
        window.iter().all(|e| e["id"] != last["id"]),
        "until is exclusive: {window:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_of_two_walk_the_whole_log_without_repeats_or_gaps() {
    // Arrange: 1 + 3 × 2 records.
    let h = Harness::start().await;
    for _ in 0..3 {
        h.login(&unique_phone()).await;
    }
    let reader = Reader::of(&h);
    let whole = events_of(&reader.page(json!({ "limit": 1000 })).await).to_vec();

    // Act
    let mut walked = Vec::new();
    let mut page_sizes = Vec::new();
    let mut cursor = Value::Null;
    loop {
        let mut fields = json!({ "limit": 2 });
        if !cursor.is_null() {
            fields["cursor"] = cursor.clone();
        }
        let reply = reader.page(fields).await;
        let events = events_of(&reply);
        page_sizes.push(events.len());
        walked.extend_from_slice(events);
        cursor = reply.body["next_cursor"].clone();
        if cursor.is_null() || page_sizes.len() > whole.len() {
            break;
        }
    }
    let otp_sent = reader.all(json!({ "event": "otp_sent", "limit": 1 })).await;

    // Assert
    assert_eq!(whole.len(), 7, "{whole:?}");
    assert_eq!(ints(&whole, "seq"), one_to(whole.len()));
    assert!(
        cursor.is_null(),
        "the walk did not end: pages {page_sizes:?}"
    );
    assert!(
        page_sizes.iter().all(|&size| size <= 2),
        "pages {page_sizes:?}"
    );
    assert_eq!(
        ints(&walked, "seq"),
        ints(&whole, "seq"),
        "pages {page_sizes:?}"
    );
    assert_eq!(walked, whole);
    assert_eq!(otp_sent, subset(&whole, |e| e["event"] == "otp_sent"));
    assert_eq!(otp_sent.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_limit_outside_1_to_1000_or_a_malformed_time_is_refused_naming_the_field() {
    // Arrange
    let h = Harness::start().await;
    let reader = Reader::of(&h);

    // Act
    let refused = [
        ("limit", reader.page(json!({ "limit": 0 })).await),
        ("limit", reader.page(json!({ "limit": 1001 })).await),
        ("since", reader.page(json!({ "since": "yesterday" })).await),
    ];
    let smallest = reader.page(json!({ "limit": 1 })).await;
    let largest = reader.page(json!({ "limit": 1000 })).await;
    let wrong_secret = h
        .server
        .post(
            "/audit/events",
            &json!({ "app_id": h.app.app_id, "app_secret": format!("{}x", h.app.app_secret) }),
        )
        .await;

    // Assert
    for (field, reply) in refused {
        reply.assert_error(400, "invalid_request");
        let names: Vec<String> = reply
            .field_problems()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        assert_eq!(names, [field], "{}", reply.text);
    }
    assert_eq!(events_of(&smallest).len(), 1, "{}", smallest.text);
    assert!(!events_of(&largest).is_empty(), "{}", largest.text);
    wrong_secret.assert_error(401, "invalid_app_credentials");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_app_never_sees_another_apps_records() {
    // Arrange: one person in each app of one server.
    let h = Harness::start().await;
    let other = h
        .server
        .create_app("Other App", &unique_slug("other"))
        .await;
    let alice = h.login(&unique_phone()).await;
    login(&h.server, &other, &h.sink, &unique_phone()).await;
    let alice_id = text(&alice.body["user"], "id");

    // Act
    let theirs = Reader::new(&h.server, &other).all(json!({})).await;
    let theirs_of_alice = Reader::new(&h.server, &other)
        .all(json!({ "user_id": alice_id }))
        .await;
    let ours = Reader::of(&h).all(json!({})).await;

    // Assert
    assert_eq!(
        texts(&theirs, "event"),
        ["app_created", "otp_sent", "login"]
    );
    assert_eq!(
        ints(&theirs, "seq"),
        one_to(theirs.len()),
        "each app has its own chain"
    );
    assert_eq!(texts(&ours, "event"), ["app_created", "otp_sent", "login"]);
    let our_ids: BTreeSet<String> = texts(&ours, "id").into_iter().collect();
    assert!(
        texts(&theirs, "id").iter().all(|id| !our_ids.contains(id)),
        "B's listing holds A's records: {theirs:?}"
    );
    assert!(theirs_of_alice.is_empty(), "{theirs_of_alice:?}");
    let listing = serde_json::to_string(&theirs).expect("serialize");
    assert!(
        !listing.contains(alice_id),
        "A's user appears in B's log: {listing}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_documented_page_is_what_the_engine_answers() {
    // Arrange: an app made with `apps create`, whose first record is its creation.
    let h = Harness::start().await;

    // Act
    let page = h
        .post("/audit/events", json!({ "event": "app_created" }))
        .await;

    // Assert
    page.assert_ok();
    AUDIT_LOG.assert_same_shape("audit-events", &page.body);
    assert_eq!(page.body["events"][0]["actor"], "operator");
    assert_eq!(
        page.body["events"][0]["details"]["slug"],
        h.app.app_slug.as_str()
    );
}
