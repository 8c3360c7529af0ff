//! Appending to the audit log, inside the transaction of the change it records.

use async_trait::async_trait;
use auth_domain::AuditEvent;
use auth_ports::{AuditLog, Digest, StoreError, StoreHealth};

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::{QueryResult, SqliteConnection};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use std::sync::LazyLock;

use crate::Store;
use crate::conn::{Prepared, SqliteConn, query_error, transaction, with_conn};
use crate::models::NewAuditRow;
use crate::schema::{audit_events, audit_pending};

/// Appends `event` on `$conn`, in whatever transaction `$conn` is in, and queues it for sealing in
/// the same transaction; evaluates to `Result<(), diesel::result::Error>`.
macro_rules! append {
    ($conn:expr, $event:expr) => {
        $crate::audit::Append::append_row($conn, $crate::models::NewAuditRow::from_domain($event))
            .await
    };
}
pub(crate) use append;

/// Writing one record and its entry in the sealing queue, as each backend does it best. Only the
/// engine queues records: one written behind its back stays outside the chain, where the
/// verifier finds it.
pub(crate) trait Append {
    async fn append_row(&mut self, row: NewAuditRow) -> QueryResult<()>;
}

impl Append for AsyncPgConnection {
    /// One statement for both rows: one round trip, not two.
    async fn append_row(&mut self, row: NewAuditRow) -> QueryResult<()> {
        static STATEMENT: LazyLock<String> =
            LazyLock::new(|| format!("WITH {} {QUEUE_RECORD}", record_cte(1)));
        let query = diesel::sql_query(STATEMENT.as_str()).into_boxed();
        Prepared(bind_record(query, row))
            .execute(self)
            .await
            .map(|_| ())
    }
}

/// A `WITH` clause's `record` query, for a PostgreSQL statement that writes an audit record beside
/// other rows: it inserts the record from the 11 parameters numbered from `first` on (bound by
/// [`bind_record`], in order) and returns its `seq` and `app_id`.
pub(crate) fn record_cte(first: usize) -> String {
    let values: Vec<String> = (first..first + 11).map(|n| format!("${n}")).collect();
    format!(
        "record AS (INSERT INTO audit_events (id, app_id, event, outcome, actor, subject, \
         client_ip, user_agent, request_id, details, occurred_at) VALUES ({}) \
         RETURNING seq, app_id)",
        values.join(", ")
    )
}

/// Queues the record [`record_cte`] wrote for sealing.
pub(crate) const QUEUE_RECORD: &str =
    "INSERT INTO audit_pending (seq, chain) SELECT seq, app_id FROM record";

/// Binds `row` to the parameters of a [`record_cte`], which must be the next ones `query` takes.
pub(crate) fn bind_record(
    query: BoxedSqlQuery<'static, Pg, SqlQuery>,
    row: NewAuditRow,
) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
    query
        .bind::<Text, _>(row.id)
        .bind::<Text, _>(row.app_id)
        .bind::<Text, _>(row.event)
        .bind::<Text, _>(row.outcome)
        .bind::<Nullable<Text>, _>(row.actor)
        .bind::<Nullable<Text>, _>(row.subject)
        .bind::<Nullable<Text>, _>(row.client_ip)
        .bind::<Nullable<Text>, _>(row.user_agent)
        .bind::<Nullable<Text>, _>(row.request_id)
        .bind::<Text, _>(row.details)
        .bind::<BigInt, _>(row.occurred_at)
}

impl Append for SqliteConn {
    /// In one trip to the thread that runs SQLite's statements: see [`append_in_process`].
    async fn append_row(&mut self, row: NewAuditRow) -> QueryResult<()> {
        self.spawn_blocking(move |conn| append_in_process(conn, row))
            .await
    }
}

/// Writes one record and its entry in the sealing queue on SQLite's own connection, for code that
/// already runs on the thread that runs its statements: two statements (SQLite has no
/// data-modifying `WITH`).
pub(crate) fn append_in_process(conn: &mut SqliteConnection, row: NewAuditRow) -> QueryResult<()> {
    let chain = row.app_id.clone();
    let seq: i64 = diesel::RunQueryDsl::get_result(
        Prepared(
            diesel::insert_into(audit_events::table)
                .values(row)
                .returning(audit_events::seq),
        ),
        conn,
    )?;
    diesel::RunQueryDsl::execute(
        Prepared(
            diesel::insert_into(audit_pending::table)
                .values((audit_pending::seq.eq(seq), audit_pending::chain.eq(chain))),
        ),
        conn,
    )
    .map(|_| ())
}

#[async_trait]
impl AuditLog for Store {
    async fn append(&self, event: AuditEvent) -> Result<(), StoreError> {
        transaction!(self, |conn| { append!(conn, event) }).map_err(query_error)
    }
}

#[async_trait]
impl StoreHealth for Store {
    /// A write, not a read: a database that answers but cannot store (a full disk, a read-only
    /// file or replica) is not ready. The row is a counter whose window has ended, so the periodic
    /// purge removes it.
    async fn ping(&self) -> Result<(), StoreError> {
        with_conn!(self, |conn| {
            diesel_async::SimpleAsyncConnection::batch_execute(
                conn,
                "INSERT INTO rate_counters (key, window_start, window_end, hits) \
                 VALUES ('readyz-probe', 0, 0, 1) \
                 ON CONFLICT (key) DO UPDATE SET hits = rate_counters.hits + 1",
            )
            .await
        })
        .map_err(query_error)
    }

    async fn master_key_check(&self, check: Digest) -> Result<Digest, StoreError> {
        self.setting_kept_once(MASTER_KEY_CHECK, &check)
            .await?
            .try_into()
            .map_err(|_| StoreError::Internal("the stored master key check is not 32 bytes".into()))
    }

    fn unavailable_within(&self, window: std::time::Duration) -> std::time::Duration {
        self.outages.within(window)
    }
}

/// The `engine_settings` row that holds the master key's check value.
pub(crate) const MASTER_KEY_CHECK: &str = "master_key_check";
