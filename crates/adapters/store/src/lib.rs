#![doc = include_str!("../README.md")]

mod apps;
mod audit;
mod cache;
mod chain;
mod config_version;
mod conn;
mod keyring;
mod licenses;
mod limits;
mod link_batch;
mod listener;
mod migrate;
mod models;
mod otp_writes;
mod otps;
mod outages;
mod postgres;
mod private_files;
mod roles;
mod rotation;
mod sandbox;
mod schema;
mod sessions;
mod statements;
mod tenants;
#[cfg(feature = "test-support")]
pub mod test_support;

pub use migrate::SEALS_MIGRATION;
pub use roles::{GrantError, RuntimeGrants};

use auth_ports::StoreError;
use conn::Pools;
use deadpool::Runtime;
use diesel::connection::SimpleConnection as _;
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use std::time::Duration;

/// A pool whose every wait (for a free connection, a new one, or a health check) is bounded by
/// the store's deadline, so an unreachable database answers quickly instead of hanging requests.
macro_rules! build_pool {
    ($manager:expr, $size:expr, $timeout:expr) => {
        Pool::builder($manager)
            .max_size($size)
            .wait_timeout(Some($timeout))
            .create_timeout(Some($timeout))
            .recycle_timeout(Some($timeout))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|error| StoreError::Internal(error.to_string()))
    };
}

/// The engine's storage on Postgres or embedded SQLite. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pools: Pools,
    /// A SQLite file this process cannot write (a backup on read-only storage): readable by the
    /// commands that only read, never migrated.
    read_only: bool,
    /// When the database did not answer lately, as this process saw it.
    outages: std::sync::Arc<outages::Outages>,
    /// The most one database call may take, from waiting for a connection to its last row.
    timeout: Duration,
    /// Apps and signing keys, kept while no change is heard of.
    cache: std::sync::Arc<cache::Cache>,
    /// Postgres: where the cache's listener connects, taken by the first read that would use it.
    listen_to: std::sync::Arc<std::sync::Mutex<Option<String>>>,
    /// A writable SQLite file: where the cache's version is read in line.
    version_reader: Option<std::sync::Arc<config_version::VersionReader>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.pools {
            Pools::Postgres(_) => "postgres",
            Pools::Sqlite(_) => "sqlite",
        };
        f.debug_struct("Store").field("backend", &backend).finish()
    }
}

/// Which database a URL names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    /// A file path (created if missing).
    Sqlite(String),
}

impl DatabaseUrl {
    /// Accepts `postgres://…`, `postgresql://…`, libpq's key-value form (`host=a,b port=5432
    /// target_session_attrs=read-write …`) or `sqlite://PATH`. Either Postgres form may name
    /// several hosts, tried in order for one that takes writes: the engine follows a failover.
    ///
    /// # Errors
    /// A message naming what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            Ok(Self::Postgres(raw.to_owned()))
        } else if is_key_value(raw) {
            raw.parse::<tokio_postgres::Config>()
                .map_err(|e| format!("not a PostgreSQL connection string: {e}"))?;
            Ok(Self::Postgres(raw.to_owned()))
        } else if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err("sqlite:// needs a file path".to_owned());
            }
            Ok(Self::Sqlite(path.to_owned()))
        } else {
            Err("must start with postgres://, postgresql:// or sqlite://".to_owned())
        }
    }
}

/// Whether `raw` is in libpq's key-value form: it begins with `key=`.
fn is_key_value(raw: &str) -> bool {
    raw.split_once('=').is_some_and(|(key, _)| {
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
    })
}

/// A pool manager that hands a pooled connection out without a test query (diesel-async's
/// default runs `SELECT 1` at every checkout: a round trip per database call). A connection whose
/// socket closed, or whose transaction broke, is still dropped at checkout; one that fails on
/// first use answers `503`, is dropped, and the next call gets a new one.
fn checked_out_as_is<C: diesel_async::AsyncConnection + 'static>() -> ManagerConfig<C> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    config
}

impl Store {
    /// Opens a pool on the database. Postgres connections are made lazily, so a database that is
    /// down now does not stop the engine from starting; SQLite uses one connection, since its
    /// writes are serialized anyway and one connection keeps every transaction free of lock upgrades.
    /// No database call takes longer than `timeout`: past it the call fails as unavailable.
    ///
    /// # Errors
    /// [`StoreError`] when the pool cannot be built.
    pub fn connect(
        url: &DatabaseUrl,
        pool_size: usize,
        timeout: Duration,
    ) -> Result<Self, StoreError> {
        let mut read_only = false;
        let mut listen_to = None;
        let mut version_reader = None;
        let pools = match url {
            DatabaseUrl::Postgres(url) => {
                let mut config = checked_out_as_is();
                config.custom_setup =
                    Box::new(move |url| Box::pin(postgres::open(url.to_owned(), timeout)));
                let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
                    url.clone(),
                    config,
                );
                listen_to = Some(url.clone());
                Pools::Postgres(build_pool!(manager, pool_size.max(1), timeout)?)
            }
            DatabaseUrl::Sqlite(path) => {
                let access = private_files::read_only(std::path::Path::new(path));
                read_only = matches!(
                    access,
                    Some(private_files::ReadOnly::File | private_files::ReadOnly::Storage)
                );
                if !read_only {
                    version_reader = Some(std::sync::Arc::new(config_version::VersionReader::new(
                        path.clone(),
                    )));
                }
                let mut config = checked_out_as_is();
                config.custom_setup =
                    Box::new(move |path| Box::pin(open_sqlite(path.to_owned(), access, timeout)));
                let manager = AsyncDieselConnectionManager::<conn::SqliteConn>::new_with_config(
                    path.clone(),
                    config,
                );
                Pools::Sqlite(build_pool!(manager, 1, timeout)?)
            }
        };
        Ok(Self {
            pools,
            read_only,
            outages: std::sync::Arc::default(),
            timeout,
            cache: std::sync::Arc::default(),
            listen_to: std::sync::Arc::new(std::sync::Mutex::new(listen_to)),
            version_reader,
        })
    }

    /// Permission to keep what a read of apps or keys finds, or `None` when nothing kept may be
    /// used now. Postgres: while the listener hears changes (started by the first call). SQLite:
    /// at the version the database holds now, read in process.
    async fn cache_ticket(&self) -> Result<Option<cache::Ticket>, StoreError> {
        if let Pools::Sqlite(_) = self.pools {
            if let Some(version) = self.version_reader.as_ref().and_then(|r| r.read()) {
                return Ok(Some(self.cache.ticket_at(version)));
            }
            let version: i64 = conn::with_conn!(self, |conn| {
                diesel_async::RunQueryDsl::first(
                    diesel::QueryDsl::select(
                        schema::config_version::table,
                        schema::config_version::version,
                    ),
                    conn,
                )
                .await
            })
            .map_err(conn::query_error)?;
            return Ok(Some(self.cache.ticket_at(version)));
        }
        let url = self
            .listen_to
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(url) = url {
            listener::spawn(url, self.timeout, std::sync::Arc::clone(&self.cache));
        }
        Ok(self.cache.ticket())
    }

    /// Forgets every app and key kept: this process just changed one. (Every process hears of it
    /// anyway; this one must not answer from before its own change even for a moment.)
    fn forget_config(&self) {
        self.cache.drop_all();
    }
}

/// SQLite's page cache on the serving connection, in KiB. Its default (2 MiB) holds a small
/// database's indexes; past a million sessions most lookups by a random key missed it and read
/// their pages through a system call each (in the scale benchmark a refresh then cost 13 % more
/// CPU than on an empty database; 0–6 % with this cache). Pages are taken only as they are read,
/// so a small database never uses it all.
const SQLITE_CACHE_KIB: u32 = 64 * 1024;

async fn open_sqlite(
    path: String,
    access: Option<private_files::ReadOnly>,
    timeout: Duration,
) -> diesel::ConnectionResult<conn::SqliteConn> {
    use diesel::Connection as _;
    use private_files::ReadOnly;
    tokio::task::spawn_blocking(move || {
        let bad = |e: &dyn std::fmt::Display| {
            // SQLite's own words ("unable to open database file") do not say which file.
            diesel::ConnectionError::BadConnection(format!("{path}: {e}"))
        };
        let busy = format!("PRAGMA busy_timeout = {};", timeout.as_millis());
        let (target, setup) = match access {
            Some(ReadOnly::File) => (read_only_uri(&path, ""), busy),
            Some(ReadOnly::Storage) => (read_only_uri(&path, "&immutable=1"), busy),
            Some(ReadOnly::No) | None => {
                private_files::prepare(std::path::Path::new(&path)).map_err(|e| bad(&e))?;
                let writable = format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                     PRAGMA cache_size = -{SQLITE_CACHE_KIB};"
                );
                (path.clone(), format!("{writable} {busy}"))
            }
        };
        let mut connection = diesel::SqliteConnection::establish(&target).map_err(|e| bad(&e))?;
        connection.batch_execute(&setup).map_err(|e| bad(&e))?;
        connection.set_instrumentation(statements::Trace);
        Ok(conn::SqliteConn::new(connection))
    })
    .await
    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?
}

/// A `file:` URI that opens `path` read-only, with `extra` query parameters.
fn read_only_uri(path: &str, extra: &str) -> String {
    let escaped = path
        .replace('%', "%25")
        .replace('?', "%3f")
        .replace('#', "%23");
    format!("file:{escaped}?mode=ro{extra}")
}

#[cfg(test)]
mod tests {
    use super::DatabaseUrl;

    #[test]
    fn postgres_is_named_by_url_or_key_value_form_with_one_host_or_several() {
        for raw in [
            "postgres://u@db:5432/auth",
            "postgresql://u@a:5432,b:5432/auth?target_session_attrs=read-write",
            "host=a,b port=5432,5433 user=u dbname=auth target_session_attrs=read-write",
        ] {
            assert_eq!(
                DatabaseUrl::parse(raw),
                Ok(DatabaseUrl::Postgres(raw.to_owned()))
            );
        }
        assert_eq!(
            DatabaseUrl::parse("sqlite://./data/a.db"),
            Ok(DatabaseUrl::Sqlite("./data/a.db".to_owned()))
        );
        assert!(DatabaseUrl::parse("host=a bogus").is_err());
        assert!(DatabaseUrl::parse("mysql://a/b").is_err());
        assert!(DatabaseUrl::parse("./data/a.db").is_err());
    }
}
