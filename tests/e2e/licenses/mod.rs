//! License keys: generating them, devices taking and freeing seats, checking a key online and a
//! license token offline, the states a license goes through, limits, and app isolation.

mod docs;
mod isolation;
mod keys;
mod lifecycle;
mod limits;
mod list;
mod postgres;
mod seats;
mod tokens;
mod validation;

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::support::http::PreparedPost;
use crate::support::jwt::verified_license_claims;
use crate::support::{AppCreds, Harness, Reply, TestServer, post};

/// The 31 key symbols in the order of their values, 0 to 30: no 0/O and no 1/I/L.
const ALPHABET: &str = "23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Symbols in a key, the check symbol (the last) included.
const KEY_SYMBOLS: usize = 25;

/// A well-formed `lic_…` id that no license has.
const UNKNOWN_LICENSE_ID: &str = "lic_nobodynobodynobodynobodynobody";

/// The backend of a software vendor that sells licenses through one app.
#[derive(Debug, Clone, Copy)]
struct Vendor<'a> {
    server: &'a TestServer,
    app: &'a AppCreds,
}

/// A license as `/licenses/generate` answered it: the only answer that ever shows the key.
#[derive(Debug, Clone)]
struct Issued {
    id: String,
    key: String,
    license: Value,
}

/// How a suspend, reinstate or revoke names its license.
#[derive(Debug, Clone, Copy)]
enum By<'a> {
    Key(&'a str),
    Id(&'a str),
}

impl By<'_> {
    fn fields(self) -> Value {
        match self {
            Self::Key(key) => json!({ "key": key }),
            Self::Id(id) => json!({ "license_id": id }),
        }
    }
}

impl<'a> Vendor<'a> {
    /// The backend of the harness's own app.
    fn of(h: &'a Harness) -> Self {
        Self {
            server: &h.server,
            app: &h.app,
        }
    }

    /// The backend of another app, possibly on another server process.
    fn for_app(server: &'a TestServer, app: &'a AppCreds) -> Self {
        Self { server, app }
    }

    async fn post(&self, path: &str, fields: Value) -> Reply {
        post(self.server, self.app, path, fields).await
    }

    /// A POST with this app's credentials, to be fired later together with others.
    fn prepare(&self, path: &str, fields: Value) -> PreparedPost {
        self.server.prepare_post(path, self.app.body(fields))
    }

    async fn generate(&self, fields: Value) -> Reply {
        self.post("/licenses/generate", fields).await
    }

    /// A new license; asserts it was generated.
    async fn issue(&self, fields: Value) -> Issued {
        let reply = self.generate(fields).await;
        reply.assert_ok();
        let license = reply.body["license"].clone();
        let text = |name: &str| match license[name].as_str() {
            Some(value) => value.to_owned(),
            None => panic!("generate answered no license.{name}: {}", reply.text),
        };
        let (id, key) = (text("id"), text("key"));
        Issued { id, key, license }
    }

    /// A license with `max_activations` seats and nothing else set.
    async fn issue_seats(&self, max_activations: u32) -> Issued {
        self.issue(json!({ "max_activations": max_activations }))
            .await
    }

    async fn activate(&self, key: &str, device: &str) -> Reply {
        self.post("/licenses/activate", activation(key, device))
            .await
    }

    /// `device` takes a seat; asserts it did, and returns the answer.
    async fn activated(&self, key: &str, device: &str) -> Reply {
        let reply = self.activate(key, device).await;
        reply.assert_ok();
        reply
    }

    async fn verify(&self, key: &str, device: Option<&str>) -> Reply {
        let mut fields = json!({ "key": key });
        if let Some(device) = device {
            fields["device_fingerprint"] = json!(device);
        }
        self.post("/licenses/verify", fields).await
    }

    async fn deactivate(&self, key: &str, device: &str) -> Reply {
        self.post("/licenses/deactivate", activation(key, device))
            .await
    }

    async fn suspend(&self, by: By<'_>) -> Reply {
        self.post("/licenses/suspend", by.fields()).await
    }

    async fn reinstate(&self, by: By<'_>) -> Reply {
        self.post("/licenses/reinstate", by.fields()).await
    }

    async fn revoke(&self, by: By<'_>) -> Reply {
        self.post("/licenses/revoke", by.fields()).await
    }

    async fn list(&self, fields: Value) -> Reply {
        self.post("/licenses/list", fields).await
    }

    /// The claims of an activation's `license_token`, verified offline against the app's JWKS.
    async fn token_claims(&self, activated: &Reply) -> Value {
        activated.assert_ok();
        verified_license_claims(self.server, self.app, &activated.str("license_token")).await
    }
}

fn activation(key: &str, device: &str) -> Value {
    json!({ "key": key, "device_fingerprint": device })
}

/// The `license` object of an answer; panics with the body when there is none.
#[track_caller]
fn license_of(reply: &Reply) -> &Value {
    let license = &reply.body["license"];
    assert!(
        license["id"]
            .as_str()
            .is_some_and(|id| id.starts_with("lic_")),
        "no license object: {} {}",
        reply.status,
        reply.text
    );
    license
}

/// Seats in use according to the answer's `license`.
#[track_caller]
fn seats(reply: &Reply) -> i64 {
    match license_of(reply)["activations"].as_i64() {
        Some(seats) => seats,
        None => panic!("license without integer activations: {}", reply.text),
    }
}

/// A 200 whose `license` has `status`.
#[track_caller]
fn assert_status(reply: &Reply, status: &str) {
    reply.assert_ok();
    assert_eq!(license_of(reply)["status"], status, "{}", reply.text);
}

/// A verify answer: always 200, `code` as expected, `valid` exactly when the code is VALID, and a
/// license except for NOT_FOUND.
#[track_caller]
fn assert_verdict(reply: &Reply, code: &str) {
    assert_eq!(
        reply.status, 200,
        "verify must always answer 200: {}",
        reply.text
    );
    assert_eq!(reply.body["code"], code, "{}", reply.text);
    assert_eq!(reply.body["valid"], code == "VALID", "{}", reply.text);
    if code == "NOT_FOUND" {
        assert!(
            reply.body["license"].is_null(),
            "NOT_FOUND with a license: {}",
            reply.text
        );
    } else {
        license_of(reply);
    }
}

/// The answer does not contain `key`, in its printed form or without dashes.
#[track_caller]
fn assert_no_key(reply: &Reply, key: &str) {
    let bare = key.replace('-', "");
    assert!(
        !reply.text.contains(key) && !reply.text.contains(&bare),
        "the key was shown again: {}",
        reply.text
    );
}

/// Exactly one reply is a 200 and all the others are `409 activation_limit_reached`; the index of
/// the one that got the seat.
#[track_caller]
fn the_only_winner(replies: &[Reply]) -> usize {
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    let winners: Vec<usize> = replies
        .iter()
        .enumerate()
        .filter(|(_, reply)| reply.status == 200)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "seats handed out: {statuses:?}");
    for loser in replies.iter().filter(|reply| reply.status != 200) {
        loser.assert_error(409, "activation_limit_reached");
    }
    winners[0]
}

/// The value of each symbol of `key` (dashes skipped), or None for a symbol not in the alphabet.
fn symbol_values(key: &str) -> Option<Vec<usize>> {
    key.chars()
        .filter(|c| *c != '-')
        .map(|c| ALPHABET.find(c))
        .collect()
}

/// The documented check: the values weighted 1..=25 sum to 0 modulo 31.
fn check_holds(key: &str) -> bool {
    symbol_values(key).is_some_and(|values| {
        let weighted: usize = values.iter().zip(1..).map(|(v, w)| v * w).sum();
        values.len() == KEY_SYMBOLS && weighted.is_multiple_of(31)
    })
}

/// Five groups of five alphabet symbols joined by dashes, and the check holds.
#[track_caller]
fn assert_key_format(key: &str) {
    let groups: Vec<&str> = key.split('-').collect();
    assert!(
        groups.len() == 5
            && groups
                .iter()
                .all(|g| g.len() == 5 && g.chars().all(|c| ALPHABET.contains(c))),
        "not XXXXX-XXXXX-XXXXX-XXXXX-XXXXX over {ALPHABET}: {key}"
    );
    assert!(check_holds(key), "the check symbol does not match: {key}");
}

/// The key written from symbol values, in five dashed groups.
fn key_from_values(values: &[usize]) -> String {
    let symbols: Vec<char> = values
        .iter()
        .map(|&v| char::from(ALPHABET.as_bytes()[v % 31]))
        .collect();
    symbols
        .chunks(5)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// `key` with the symbol at `position` (0–24) replaced by the next one in the alphabet: a typo.
fn mistype(key: &str, position: usize) -> String {
    let mut values = symbol_values(key).expect("a key over the alphabet");
    values[position] = (values[position] + 1) % 31;
    key_from_values(&values)
}

/// A key nobody issued but that passes the check: `key`'s first symbols changed, the check
/// symbol recomputed.
fn well_formed_stranger(key: &str) -> String {
    let mut values = symbol_values(key).expect("a key over the alphabet");
    for value in &mut values[..3] {
        *value = (*value + 7) % 31;
    }
    let weighted: usize = values[..KEY_SYMBOLS - 1]
        .iter()
        .zip(1..)
        .map(|(v, w)| v * w)
        .sum();
    values[KEY_SYMBOLS - 1] = (0..31)
        .find(|check| (weighted + 25 * check).is_multiple_of(31))
        .expect("31 is prime, so one check symbol fits");
    let stranger = key_from_values(&values);
    assert!(check_holds(&stranger) && stranger != key);
    stranger
}

/// The wall clock, rounded down to a whole second. The server runs on this machine's clock, and a
/// black-box test has no clock to hand it, so expiry instants are built from the real one.
#[expect(
    clippy::disallowed_methods,
    reason = "a black-box test cannot inject a clock into the server process it drives"
)]
fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    OffsetDateTime::from_unix_timestamp(now.unix_timestamp()).expect("a representable instant")
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).expect("format an RFC 3339 instant")
}

/// An RFC 3339 string field of a JSON object, parsed; panics with the object otherwise.
#[track_caller]
fn instant(object: &Value, field: &str) -> OffsetDateTime {
    object[field]
        .as_str()
        .and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
        .unwrap_or_else(|| panic!("`{field}` is not an RFC 3339 instant: {object}"))
}

/// The `user.id` of a login answer.
#[track_caller]
fn user_id_of(login: &Reply) -> String {
    match login.body["user"]["id"].as_str() {
        Some(id) => id.to_owned(),
        None => panic!("login without user.id: {}", login.text),
    }
}

/// The names that an `invalid_request` answer rejects.
#[track_caller]
fn rejected_fields(reply: &Reply) -> Vec<String> {
    reply.assert_error(400, "invalid_request");
    reply
        .field_problems()
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}
