//! Appending to the audit log, inside the transaction of the change it records.

use async_trait::async_trait;
use auth_domain::AuditEvent;
use auth_ports::{AuditLog, Digest, StoreError, StoreHealth};

use crate::Store;
use crate::conn::{query_error, transaction, with_conn};

/// Appends `event` on `$conn`, in whatever transaction `$conn` is in, and queues it for sealing in
/// the same transaction; evaluates to `Result<(), diesel::result::Error>`. A macro so it compiles
/// for each backend's connection.
macro_rules! append {
    ($conn:expr, $event:expr) => {{
        let row = $crate::models::NewAuditRow::from_domain($event);
        let chain = row.app_id.clone().unwrap_or_default();
        match diesel_async::RunQueryDsl::get_result::<i64>(
            diesel::insert_into($crate::schema::audit_events::table)
                .values(row)
                .returning($crate::schema::audit_events::seq),
            $conn,
        )
        .await
        {
            Ok(seq) => diesel_async::RunQueryDsl::execute(
                diesel::insert_into($crate::schema::audit_pending::table).values((
                    diesel::ExpressionMethods::eq($crate::schema::audit_pending::seq, seq),
                    diesel::ExpressionMethods::eq($crate::schema::audit_pending::chain, chain),
                )),
                $conn,
            )
            .await
            .map(|_| ()),
            Err(error) => Err(error),
        }
    }};
}
pub(crate) use append;

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
