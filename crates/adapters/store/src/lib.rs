#![doc = include_str!("../README.md")]

mod apps;
mod audit;
mod chain;
mod conn;
mod licenses;
mod limits;
mod migrate;
mod models;
mod otps;
mod private_files;
mod sandbox;
mod schema;
mod sessions;
mod tenants;
#[cfg(feature = "test-support")]
pub mod test_support;

use auth_ports::StoreError;
use conn::Pools;
use deadpool::Runtime;
use diesel::connection::SimpleConnection as _;
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use std::time::Duration;

/// How long a request waits for a connection, or for a new one to be made, before it is
/// answered `service_unavailable`.
const POOL_TIMEOUT: Duration = Duration::from_secs(5);

/// A pool with timeouts, so an unreachable database answers quickly instead of hanging requests.
macro_rules! build_pool {
    ($manager:expr, $size:expr) => {
        Pool::builder($manager)
            .max_size($size)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .recycle_timeout(Some(POOL_TIMEOUT))
            .runtime(Runtime::Tokio1)
            .build()
            .map_err(|error| StoreError::Internal(error.to_string()))
    };
}

/// The engine's storage on Postgres or embedded SQLite. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pools: Pools,
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
    /// Accepts `postgres://…`, `postgresql://…` or `sqlite://PATH`.
    ///
    /// # Errors
    /// A message naming what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
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

impl Store {
    /// Opens a pool on the database. Postgres connections are made lazily, so a database that is
    /// down now does not stop the engine from starting; SQLite uses one connection, since its
    /// writes are serialized anyway and one connection keeps every transaction free of lock upgrades.
    ///
    /// # Errors
    /// [`StoreError`] when the pool cannot be built.
    pub fn connect(url: &DatabaseUrl, pool_size: usize) -> Result<Self, StoreError> {
        let pools = match url {
            DatabaseUrl::Postgres(url) => {
                let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url.clone());
                Pools::Postgres(build_pool!(manager, pool_size.max(1))?)
            }
            DatabaseUrl::Sqlite(path) => {
                let mut config = ManagerConfig::default();
                config.custom_setup = Box::new(|path| Box::pin(open_sqlite(path.to_owned())));
                let manager = AsyncDieselConnectionManager::<conn::SqliteConn>::new_with_config(
                    path.clone(),
                    config,
                );
                Pools::Sqlite(build_pool!(manager, 1)?)
            }
        };
        Ok(Self { pools })
    }
}

async fn open_sqlite(path: String) -> diesel::ConnectionResult<conn::SqliteConn> {
    use diesel::Connection as _;
    tokio::task::spawn_blocking(move || {
        private_files::prepare(std::path::Path::new(&path)).map_err(|e| {
            diesel::ConnectionError::BadConnection(format!("{path}: {e}"))
        })?;
        let mut connection = diesel::SqliteConnection::establish(&path)?;
        connection
            .batch_execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
            .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
        Ok(conn::SqliteConn::new(connection))
    })
    .await
    .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?
}
