//! The tamper-evident audit log: what an app reads with `/audit/events`, what an operator exports
//! and verifies with `auth-engine audit`, what a third party can check with SHA-256 alone, and what
//! editing the database behind the engine's back looks like to `audit verify`.

mod archive;
mod backend;
mod catalogue;
mod encoding;
mod export;
mod listing;
mod processes;
mod roles;
mod tamper;
mod unsealed;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::support::sha256::{hex, sha256, unhex};
use crate::support::{AppCreds, Harness, Reply, TestServer, post};

/// The link before the first record of every chain: 32 zero bytes, in hex.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields a link covers, in the documented (byte) order.
const COVERED: [&str; 12] = [
    "actor",
    "app_id",
    "client_ip",
    "details",
    "event",
    "id",
    "occurred_at",
    "outcome",
    "request_id",
    "seq",
    "subject",
    "user_agent",
];

/// The fields of an `/audit/events` record.
const LISTED: [&str; 11] = [
    "id",
    "seq",
    "occurred_at",
    "event",
    "outcome",
    "actor",
    "subject",
    "client_ip",
    "user_agent",
    "request_id",
    "details",
];

/// An integrating backend reading one app's audit log.
#[derive(Debug, Clone, Copy)]
struct Reader<'a> {
    server: &'a TestServer,
    app: &'a AppCreds,
}

impl<'a> Reader<'a> {
    fn new(server: &'a TestServer, app: &'a AppCreds) -> Self {
        Self { server, app }
    }

    /// The reader of the harness's own app.
    fn of(h: &'a Harness) -> Self {
        Self::new(&h.server, &h.app)
    }

    async fn page(&self, fields: Value) -> Reply {
        post(self.server, self.app, "/audit/events", fields).await
    }

    /// Every record `fields` selects, following `next_cursor` to the end.
    async fn all(&self, fields: Value) -> Vec<Value> {
        let mut events = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let mut body = fields.clone();
            if let Some(cursor) = &cursor {
                body["cursor"] = json!(cursor);
            }
            let reply = self.page(body).await;
            events.extend_from_slice(events_of(&reply));
            match &reply.body["next_cursor"] {
                Value::Null => return events,
                Value::String(next) => {
                    assert_ne!(
                        cursor.as_deref(),
                        Some(next.as_str()),
                        "the cursor did not move: {}",
                        reply.text
                    );
                    cursor = Some(next.clone());
                }
                other => panic!("next_cursor is neither a string nor null: {other}"),
            }
        }
        panic!("the listing never ended")
    }
}

/// The `events` of a 200 answer of `/audit/events`.
#[track_caller]
fn events_of(reply: &Reply) -> &[Value] {
    reply.assert_ok();
    match reply.body["events"].as_array() {
        Some(events) => events.as_slice(),
        None => panic!("no `events` array: {}", reply.text),
    }
}

/// A string field of a record; panics with the record when it is not a string.
#[track_caller]
fn text<'v>(record: &'v Value, field: &str) -> &'v str {
    match record[field].as_str() {
        Some(value) => value,
        None => panic!("`{field}` is not a string: {record}"),
    }
}

/// An integer field of a record; panics with the record when it is not an integer.
#[track_caller]
fn int(record: &Value, field: &str) -> i64 {
    match record[field].as_i64() {
        Some(value) => value,
        None => panic!("`{field}` is not an integer: {record}"),
    }
}

fn texts(records: &[Value], field: &str) -> Vec<String> {
    records
        .iter()
        .map(|record| text(record, field).to_owned())
        .collect()
}

fn ints(records: &[Value], field: &str) -> Vec<i64> {
    records.iter().map(|record| int(record, field)).collect()
}

/// 1, 2, … n: a chain's positions, with no gaps and no repeats.
fn one_to(n: usize) -> Vec<i64> {
    (1..=i64::try_from(n).expect("a small count")).collect()
}

/// The records `keep` selects, in their order.
fn subset(records: &[Value], keep: impl Fn(&Value) -> bool) -> Vec<Value> {
    records
        .iter()
        .filter(|record| keep(record))
        .cloned()
        .collect()
}

/// The `occurred_at` of a listed record.
#[track_caller]
fn occurred_at(record: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(text(record, "occurred_at"), &Rfc3339)
        .unwrap_or_else(|_| panic!("occurred_at is not RFC 3339: {record}"))
}

fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1000).expect("a representable instant")
}

fn rfc3339_of_micros(micros: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1000)
        .expect("a representable instant")
        .format(&Rfc3339)
        .expect("format an RFC 3339 instant")
}

/// One person's whole session, each answer kept for its `X-Request-Id`.
#[derive(Debug)]
struct Session {
    code: String,
    sent: Reply,
    login: Reply,
    refreshed: Reply,
    logged_out: Reply,
}

/// A code sent (with `context`, e.g. `client_ip`, on the send), verified, refreshed, logged out.
async fn whole_session(h: &Harness, phone: &str, context: &[(&str, &str)]) -> Session {
    let mut fields = json!({ "phone": phone });
    for (name, value) in context {
        fields[*name] = json!(value);
    }
    let sent = h.send_otp(fields).await;
    sent.assert_ok();
    let code = h.sink.code_for(&sent.str("otp_request_id")).await;
    let login = h.verify_otp(&sent.str("otp_request_id"), &code).await;
    login.assert_ok();
    let refreshed = h.refresh(&login.str("refresh_token")).await;
    refreshed.assert_ok();
    let logged_out = h.logout(&refreshed.str("refresh_token"), false).await;
    logged_out.assert_ok();
    Session {
        code,
        sent,
        login,
        refreshed,
        logged_out,
    }
}

/// What `auth-engine audit verify` said.
#[derive(Debug)]
struct Verdict {
    succeeded: bool,
    output: String,
}

impl Verdict {
    /// What a finished CLI run said, on standard output and standard error together.
    fn of(output: &std::process::Output) -> Self {
        Self {
            succeeded: output.status.success(),
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }

    #[track_caller]
    fn assert_intact(&self) {
        assert!(
            self.succeeded
                && self.output.lines().any(|line| line.contains("intact"))
                && !self.output.contains("BROKEN"),
            "audit verify should find the log intact:\n{}",
            self.output
        );
    }

    /// The line that reports the break; asserts that the command failed.
    #[track_caller]
    fn broken_line(&self) -> &str {
        assert!(
            !self.succeeded,
            "audit verify exited 0 on a tampered log:\n{}",
            self.output
        );
        match self.output.lines().find(|line| line.contains("BROKEN")) {
            Some(line) => line,
            None => panic!(
                "audit verify failed without a BROKEN line:\n{}",
                self.output
            ),
        }
    }
}

/// Runs `auth-engine audit verify`, for one app's chain or (without `slug`) every chain.
async fn verify(server: &TestServer, slug: Option<&str>) -> Verdict {
    let mut args = vec!["audit", "verify"];
    if let Some(slug) = slug {
        args.extend(["--app", slug]);
    }
    Verdict::of(&server.run_cli(&args).await)
}

/// Whether `line` names `position` (and not, say, position 31 when 3 is asked for).
fn mentions_position(line: &str, position: i64) -> bool {
    let needle = format!("position {position}");
    line.match_indices(&needle)
        .any(|(at, _)| !line[at + needle.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

/// Runs `auth-engine audit export --app SLUG [--since T]`: one JSON object a line, the signed last
/// line included.
async fn export_file(server: &TestServer, slug: &str, since: Option<&str>) -> Vec<Value> {
    let mut args = vec!["audit", "export", "--app", slug];
    if let Some(since) = since {
        args.extend(["--since", since]);
    }
    let output = server.run_cli(&args).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "audit export failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(object @ Value::Object(_)) => object,
            _ => panic!("an export line is not a JSON object: {line}"),
        })
        .collect()
}

/// The lines of an export before its signed last line: records, and a checkpoint first when part
/// of the chain was archived. Asserts the signed line ends every export that holds a record.
async fn export(server: &TestServer, slug: &str, since: Option<&str>) -> Vec<Value> {
    let mut lines = export_file(server, slug, since).await;
    if lines.iter().any(|line| line.get("position").is_some()) {
        let last = lines.pop().unwrap_or_default();
        assert!(
            last.get("export").is_some(),
            "an export ends with its signed line: {last}"
        );
    }
    lines
}

/// The documented canonical encoding of an exported record, built here from its fields: the 12
/// covered fields (absent ones as null), compact JSON, object keys in byte order at every level.
#[track_caller]
fn canonical(line: &Value) -> String {
    let record: Map<String, Value> = COVERED
        .iter()
        .map(|field| match line.get(*field) {
            Some(value) => ((*field).to_owned(), value.clone()),
            None => panic!("the export line has no `{field}`: {line}"),
        })
        .collect();
    compact_sorted(&Value::Object(record))
}

/// `value` as compact JSON with every object's keys sorted by their UTF-8 bytes, whatever order the
/// map type keeps: the test does not lean on serde_json's map being sorted.
fn compact_sorted(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            // `str` orders by bytes, which is the documented order.
            entries.sort_by(|(a, _), (b, _)| a.as_str().cmp(b.as_str()));
            let fields: Vec<String> = entries
                .into_iter()
                .map(|(key, value)| {
                    format!("{}:{}", Value::from(key.as_str()), compact_sorted(value))
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(compact_sorted).collect();
            format!("[{}]", items.join(","))
        }
        scalar => scalar.to_string(),
    }
}

/// Checks an export as a third party would, with SHA-256 and the documented encoding only: each
/// line's `prev_link` is the link before it (`start` for the first line), and each `link` is
/// SHA-256(prev_link's 32 bytes ‖ canonical(record)).
#[track_caller]
fn assert_export_verifies(lines: &[Value], start: &str) {
    let mut previous = start.to_owned();
    for line in lines {
        let position = &line["position"];
        let prev_link = text(line, "prev_link");
        assert_eq!(
            prev_link, previous,
            "position {position}: prev_link is not the link before it"
        );
        let mut input = match unhex(prev_link) {
            Some(bytes) if bytes.len() == 32 => bytes,
            _ => panic!("position {position}: prev_link is not 64 hex digits: {prev_link}"),
        };
        input.extend_from_slice(canonical(line).as_bytes());
        let link = text(line, "link");
        assert_eq!(
            hex(&sha256(&input)),
            link,
            "position {position}: the link does not cover this record: {line}"
        );
        previous = link.to_owned();
    }
}
