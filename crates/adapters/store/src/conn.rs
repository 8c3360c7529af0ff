//! The two backends behind one store: a pool per backend, and a macro that runs the same query
//! code on whichever is configured. Nothing outside this crate knows which one runs.

use auth_ports::StoreError;
use diesel::SqliteConnection;
use diesel::dsl::AsExprOf;
use diesel::expression::{SqlLiteral, UncheckedBind};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::BigInt;
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
///
/// The wait for a connection and the body share the store's deadline. A body that misses it is
/// abandoned with its connection, which never returns to the pool (it may be mid-transaction), and
/// the call fails as unavailable: `503` with `Retry-After` for the caller, never a hang.
macro_rules! with_conn {
    ($store:expr, |$conn:ident| $body:expr) => {
        match &$store.pools {
            $crate::conn::Pools::Postgres(pool) => {
                $crate::conn::bounded!($store, pool, |$conn: diesel_async::AsyncPgConnection| $body)
            }
            $crate::conn::Pools::Sqlite(pool) => {
                $crate::conn::bounded!($store, pool, |$conn: $crate::conn::SqliteConn| $body)
            }
        }
    };
}

/// [`with_conn`]'s deadline, the same for either backend's pool.
macro_rules! bounded {
    ($store:expr, $pool:expr, |$conn:ident: $connection:ty| $body:expr) => {{
        let started = std::time::Instant::now();
        // One bound for the whole wait: a slot, a health check, a new connection.
        let mut pooled = match tokio::time::timeout($store.timeout, $pool.get()).await {
            Ok(Ok(pooled)) => pooled,
            Ok(Err(error)) => {
                $store.outages.failed(started);
                return Err($crate::conn::pool_error(error).into());
            }
            Err(_) => {
                $store.outages.failed(started);
                return Err($crate::conn::timed_out($store.timeout).into());
            }
        };
        let left = $store.timeout.saturating_sub(started.elapsed());
        let outcome = {
            let $conn: &mut $connection = &mut pooled;
            tokio::time::timeout(left, async { $body }).await
        };
        match outcome {
            Ok(result) => {
                $store.outages.answered();
                result
            }
            Err(_) => {
                $store.outages.failed(started);
                drop(deadpool::managed::Object::take(pooled));
                return Err($crate::conn::timed_out($store.timeout).into());
            }
        }
    }};
}
pub(crate) use bounded;
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
    /// The database's own clock, in microseconds since the Unix epoch.
    const CLOCK_MICROS: &'static str;
    /// The larger of two whole numbers.
    const GREATEST: &'static str;
}

impl Dialect for AsyncPgConnection {
    const DEFER_FOREIGN_KEYS: &'static str = "SET CONSTRAINTS ALL DEFERRED";
    const CLOCK_MICROS: &'static str = "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT";
    const GREATEST: &'static str = "GREATEST";
}

impl Dialect for SqliteConnection {
    const DEFER_FOREIGN_KEYS: &'static str = "PRAGMA defer_foreign_keys = ON";
    /// SQLite's clock has millisecond precision: rounded up, never earlier than the moment.
    const CLOCK_MICROS: &'static str =
        "(CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER) + 1000)";
    const GREATEST: &'static str = "MAX";
}

/// The async wrapper speaks the dialect of the connection it runs.
impl Dialect for SqliteConn {
    const DEFER_FOREIGN_KEYS: &'static str = <SqliteConnection as Dialect>::DEFER_FOREIGN_KEYS;
    const CLOCK_MICROS: &'static str = <SqliteConnection as Dialect>::CLOCK_MICROS;
    const GREATEST: &'static str = <SqliteConnection as Dialect>::GREATEST;
}

/// The later of `at` (microseconds) and the database's clock when the statement runs: when a
/// change took effect, even if the database applied it long after the engine asked (a frozen
/// database). `at` is bound, so the statement's text is the same every time and is prepared once.
pub(crate) fn no_earlier_than_now<C: Dialect>(
    _conn: &C,
    at: i64,
) -> SqlLiteral<Micros, UncheckedBind<SqlLiteral<Micros>, AsExprOf<i64, BigInt>>> {
    diesel::dsl::sql::<Micros>(&format!("{}(", C::GREATEST))
        .bind::<BigInt, _>(at)
        .sql(&format!(", {})", C::CLOCK_MICROS))
}

/// A nullable time column's type: microseconds since the Unix epoch.
type Micros = diesel::sql_types::Nullable<BigInt>;

/// A wrapper that runs a statement as it is and decides one thing: whether the connection keeps it
/// prepared (`$keep`). Neither has a type-keyed cache entry; a kept statement is keyed by its text.
macro_rules! statement_wrapper {
    ($(#[$doc:meta])* $name:ident, keep: $keep:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub(crate) struct $name<Q>(pub(crate) Q);

        impl<Q> diesel::query_builder::QueryId for $name<Q> {
            type QueryId = ();
            const HAS_STATIC_QUERY_ID: bool = false;
        }

        impl<Q, DB> diesel::query_builder::QueryFragment<DB> for $name<Q>
        where
            Q: diesel::query_builder::QueryFragment<DB>,
            DB: diesel::backend::Backend,
        {
            fn walk_ast<'b>(
                &'b self,
                pass: diesel::query_builder::AstPass<'_, 'b, DB>,
            ) -> diesel::QueryResult<()> {
                self.0.walk_ast(pass)
            }

            fn is_safe_to_cache_prepared(&self, _backend: &DB) -> diesel::QueryResult<bool> {
                Ok($keep)
            }
        }

        impl<Q: diesel::query_builder::Query> diesel::query_builder::Query for $name<Q> {
            type SqlType = Q::SqlType;
        }

        /// Runs on a synchronous connection too: SQLite's, on the thread that runs its statements.
        impl<Q, Conn> diesel::RunQueryDsl<Conn> for $name<Q> {}
    };
}

statement_wrapper!(
    /// A statement prepared once per connection and reused after, keyed by its SQL text and bind
    /// types. Diesel declines to reuse UPDATEs, upserts, raw SQL and inserts with optional columns,
    /// because their text may differ from call to call under one Rust type; on Postgres each call
    /// would then cost a round trip to prepare before the one to run. Keyed by the text itself,
    /// each shape gets a statement of its own, so reuse is always right. Only for statements whose
    /// every value is bound, never spliced into the text, or each call would prepare (and keep)
    /// another.
    Prepared,
    keep: true
);

statement_wrapper!(
    /// A statement planned afresh each time it runs, never kept prepared: for a read whose tables
    /// swing from empty to large within a process's life. PostgreSQL keeps one plan for a kept
    /// statement after its fifth run; made while the tables were small, it would go on scanning
    /// the whole of one for each row of the other. A fresh plan sees each table's size now. It
    /// costs a round trip to prepare, so only for calls that are not on a request's path.
    PlannedEachTime,
    keep: false
);

/// [`Dialect::DEFER_FOREIGN_KEYS`] of `conn`'s backend.
pub(crate) fn defer_foreign_keys<C: Dialect>(_conn: &C) -> &'static str {
    C::DEFER_FOREIGN_KEYS
}

/// A call that missed the store's deadline.
pub(crate) fn timed_out(timeout: std::time::Duration) -> StoreError {
    StoreError::Unavailable(format!(
        "the database did not answer within {} ms",
        timeout.as_millis()
    ))
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
        "database or disk is full",
        "disk i/o error",
        "readonly database",
        "read-only transaction",
        "no space left",
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
