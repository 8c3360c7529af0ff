//! Appending to the audit log, inside the transaction of the change it records.

use async_trait::async_trait;
use auth_domain::AuditEvent;
use auth_ports::{AuditLog, StoreError, StoreHealth};

use crate::Store;
use crate::conn::{query_error, with_conn};

/// Appends `event` on `$conn`, in whatever transaction `$conn` is in; evaluates to
/// `Result<(), diesel::result::Error>`. A macro so it compiles for each backend's connection.
macro_rules! append {
    ($conn:expr, $event:expr) => {
        diesel_async::RunQueryDsl::execute(
            diesel::insert_into($crate::schema::audit_events::table)
                .values($crate::models::NewAuditRow::from_domain($event)),
            $conn,
        )
        .await
        .map(|_| ())
    };
}
pub(crate) use append;

#[async_trait]
impl AuditLog for Store {
    async fn append(&self, event: AuditEvent) -> Result<(), StoreError> {
        with_conn!(self, |conn| append!(conn, event)).map_err(query_error)
    }
}

#[async_trait]
impl StoreHealth for Store {
    async fn ping(&self) -> Result<(), StoreError> {
        with_conn!(self, |conn| {
            diesel_async::SimpleAsyncConnection::batch_execute(conn, "SELECT 1").await
        })
        .map_err(query_error)
    }
}
