//! The two backends behind one store: a pool per backend, and a macro that runs the same query
//! code on whichever is configured. Nothing outside this crate knows which one runs.

use auth_ports::StoreError;
use diesel::SqliteConnection;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::AsyncPgConnection;
use diesel_async::pooled_connection::deadpool::{Pool, PoolError};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;

pub(crate) type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

/// The configured backend's connection pool.
#[derive(Clone)]
pub(crate) enum Pools {
    Postgres(Pool<AsyncPgConnection>),
    Sqlite(Pool<SqliteConn>),
}

/// Runs `$body` with `$conn: &mut <backend connection>` on the configured backend. The body is
/// compiled once per backend, so query code is written once and checked against both.
macro_rules! with_conn {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &$store.pools {
            $crate::conn::Pools::Postgres(pool) => {
                let mut pooled = pool.get().await.map_err($crate::conn::pool_error)?;
                let $conn: &mut diesel_async::AsyncPgConnection = &mut pooled;
                $body
            }
            $crate::conn::Pools::Sqlite(pool) => {
                let mut pooled = pool.get().await.map_err($crate::conn::pool_error)?;
                let $conn: &mut $crate::conn::SqliteConn = &mut pooled;
                $body
            }
        }
    };
}
pub(crate) use with_conn;

/// Runs `$body` in one transaction on the configured backend, with `$conn` the transaction's
/// connection; `$body` evaluates to `Result<T, diesel::result::Error>` and may move captured values.
macro_rules! transaction {
    ($store:expr, |$conn:ident| $body:block) => {
        $crate::conn::with_conn!($store, |outer| {
            diesel_async::AsyncConnection::transaction::<_, diesel::result::Error, _>(
                outer,
                async move |$conn| $body,
            )
            .await
        })
    };
}
pub(crate) use transaction;

/// What must be spelled differently on each backend.
pub(crate) trait Dialect {
    /// Makes foreign-key checks wait for commit, for the rest of the current transaction.
    const DEFER_FOREIGN_KEYS: &'static str;
}

impl Dialect for AsyncPgConnection {
    const DEFER_FOREIGN_KEYS: &'static str = "SET CONSTRAINTS ALL DEFERRED";
}

impl Dialect for SqliteConn {
    const DEFER_FOREIGN_KEYS: &'static str = "PRAGMA defer_foreign_keys = ON";
}

/// [`Dialect::DEFER_FOREIGN_KEYS`] of `conn`'s backend.
pub(crate) fn defer_foreign_keys<C: Dialect>(_conn: &C) -> &'static str {
    C::DEFER_FOREIGN_KEYS
}

pub(crate) fn pool_error(error: PoolError) -> StoreError {
    StoreError::Unavailable(error.to_string())
}

/// Maps a query failure to the port's error: lost connections and lock timeouts are retryable.
pub(crate) fn query_error(error: DieselError) -> StoreError {
    match &error {
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _)
        | DieselError::BrokenTransactionManager => StoreError::Unavailable(error.to_string()),
        DieselError::DatabaseError(_, info) if is_transient(info.message()) => {
            StoreError::Unavailable(error.to_string())
        }
        _ => StoreError::Internal(error.to_string()),
    }
}

fn is_transient(message: &str) -> bool {
    let message = message.to_ascii_lowercase();
    [
        "database is locked",
        "connection",
        "terminating",
        "shutting down",
        "timed out",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

/// Whether a query failed on a unique constraint.
pub(crate) fn is_unique_violation(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}
