//! Apps and their signing keys, kept in process: every request reads them and almost nothing
//! changes them. Every change to either bumps `config_version` by trigger (migration 17), so no
//! writer can forget, in this process or another.
//!
//! - On SQLite the version is read (in process, no round trip) before what is kept is used, so an
//!   operator command run beside the server takes effect at its next request.
//! - On Postgres a listener connection hears `auth_engine_config`, notified by the same triggers,
//!   and drops everything at once; it also compares the version every [`RECHECK`], and while it
//!   is not listening (starting, or its connection lost) nothing is kept and every read goes to
//!   the database. A change therefore takes effect in every process as soon as it is heard, and
//!   within [`RECHECK`] if its notification was lost with the connection.
//!
//! A read that began before a drop is not kept after it, so a stale row can never be put back.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use auth_domain::{App, SigningKey};

/// How often the Postgres listener compares the version, in case a notification was missed.
pub(crate) const RECHECK: Duration = Duration::from_secs(5);

/// The channel the version triggers notify on Postgres.
pub(crate) const CHANNEL: &str = "auth_engine_config";

#[derive(Debug, Default)]
pub(crate) struct Cache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Bumped by every drop: a read that began under another generation is not kept.
    generation: u64,
    /// Whether what is kept may be used: the listener hears changes (Postgres), or the version
    /// it was kept at is still the database's (SQLite).
    trusted: bool,
    version: Option<i64>,
    apps: HashMap<String, App>,
    keys_of: HashMap<String, Vec<SigningKey>>,
    keys: HashMap<String, SigningKey>,
}

/// Permission to keep what one read found, if nothing changed meanwhile.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

impl Inner {
    fn drop_all(&mut self) {
        self.generation += 1;
        self.apps.clear();
        self.keys_of.clear();
        self.keys.clear();
    }

    /// The database is at `version`: what was kept at another is dropped.
    fn at_version(&mut self, version: i64) {
        if self.version != Some(version) {
            self.drop_all();
            self.version = Some(version);
        }
    }
}

impl Cache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Drops everything kept: something changed, or may have.
    pub(crate) fn drop_all(&self) {
        self.lock().drop_all();
    }

    /// Whether what is kept may be used (the Postgres listener hears changes); drops everything
    /// either way, since changes may have gone unheard until now.
    pub(crate) fn set_trusted(&self, trusted: bool) {
        let mut inner = self.lock();
        inner.drop_all();
        inner.trusted = trusted;
    }

    /// The listener's periodic comparison: drops everything when `version` moved.
    pub(crate) fn seen_version(&self, version: i64) {
        self.lock().at_version(version);
    }

    /// A ticket while what is kept may be used, `None` otherwise.
    pub(crate) fn ticket(&self) -> Option<Ticket> {
        let inner = self.lock();
        inner.trusted.then_some(Ticket(inner.generation))
    }

    /// A ticket for the database at `version` (SQLite): what was kept at another is dropped.
    pub(crate) fn ticket_at(&self, version: i64) -> Ticket {
        let mut inner = self.lock();
        inner.at_version(version);
        Ticket(inner.generation)
    }

    pub(crate) fn app(&self, id: &str) -> Option<App> {
        self.lock().apps.get(id).cloned()
    }

    pub(crate) fn keys_of(&self, app_id: &str) -> Option<Vec<SigningKey>> {
        self.lock().keys_of.get(app_id).cloned()
    }

    pub(crate) fn key(&self, kid: &str) -> Option<SigningKey> {
        self.lock().keys.get(kid).cloned()
    }

    /// Keeps `app`, unless something changed since `ticket` was taken.
    pub(crate) fn keep_app(&self, ticket: Ticket, app: &App) {
        let mut inner = self.lock();
        if inner.generation == ticket.0 {
            inner.apps.insert(app.id.as_str().to_owned(), app.clone());
        }
    }

    /// Keeps an app's keys, newest first, unless something changed since `ticket` was taken.
    pub(crate) fn keep_keys_of(&self, ticket: Ticket, app_id: &str, keys: &[SigningKey]) {
        let mut inner = self.lock();
        if inner.generation == ticket.0 {
            inner.keys_of.insert(app_id.to_owned(), keys.to_vec());
        }
    }

    /// Keeps one key, unless something changed since `ticket` was taken.
    pub(crate) fn keep_key(&self, ticket: Ticket, key: &SigningKey) {
        let mut inner = self.lock();
        if inner.generation == ticket.0 {
            inner.keys.insert(key.kid.clone(), key.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_domain::ids::{AppId, RANDOM_ID_BYTES};
    use time::OffsetDateTime;

    fn key(kid: &str) -> SigningKey {
        SigningKey {
            kid: kid.to_owned(),
            app_id: AppId::from_random(&[1; RANDOM_ID_BYTES]),
            encrypted_private_key: vec![1],
            public_key_der: vec![2],
            created_at: OffsetDateTime::UNIX_EPOCH,
            retired_at: None,
            withdrawn_at: None,
        }
    }

    #[test]
    fn nothing_is_used_until_the_listener_vouches_and_a_drop_forgets_everything() {
        let cache = Cache::default();
        assert!(cache.ticket().is_none(), "kept before anyone listens");

        cache.set_trusted(true);
        let ticket = cache.ticket().unwrap();
        cache.keep_key(ticket, &key("k1"));
        assert_eq!(cache.key("k1"), Some(key("k1")));

        cache.drop_all();
        assert_eq!(cache.key("k1"), None);
        cache.set_trusted(false);
        assert!(cache.ticket().is_none());
    }

    #[test]
    fn a_read_that_began_before_a_drop_is_not_kept_after_it() {
        let cache = Cache::default();
        cache.set_trusted(true);
        let before = cache.ticket().unwrap();

        cache.drop_all();
        cache.keep_key(before, &key("stale"));

        assert_eq!(cache.key("stale"), None);
    }

    #[test]
    fn a_new_version_drops_what_was_kept_at_the_old_one() {
        let cache = Cache::default();
        let ticket = cache.ticket_at(7);
        cache.keep_keys_of(ticket, "app", &[key("k1")]);
        assert_eq!(cache.ticket_at(7).0, ticket.0, "the same version keeps it");
        assert_eq!(cache.keys_of("app"), Some(vec![key("k1")]));

        let after = cache.ticket_at(8);

        assert_eq!(cache.keys_of("app"), None);
        cache.keep_keys_of(ticket, "app", &[key("stale")]);
        assert_eq!(cache.keys_of("app"), None, "a ticket of the old version");
        cache.keep_keys_of(after, "app", &[key("k2")]);
        assert_eq!(cache.keys_of("app"), Some(vec![key("k2")]));
    }
}
