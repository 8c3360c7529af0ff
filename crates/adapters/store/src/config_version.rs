//! SQLite: the configuration version read on a connection of its own, in line. Every request
//! that uses a kept app or key first checks this version; through the pool it would queue behind
//! the one connection every other call uses, and hop to a blocking thread and back, each time.
//! Reading one row of a one-row table in WAL mode takes microseconds and never waits for a writer,
//! so it runs on the caller's thread.

use std::sync::Mutex;

use diesel::connection::SimpleConnection as _;
use diesel::{Connection as _, QueryDsl as _, RunQueryDsl as _, SqliteConnection};

use crate::schema::config_version;
use crate::{read_only_uri, statements};

/// How long the read may wait for a lock: only a checkpoint's reset of the log ever holds one.
const BUSY_TIMEOUT_MS: u32 = 50;

/// A lazily opened reading connection to one SQLite file.
pub(crate) struct VersionReader {
    path: String,
    connection: Mutex<Option<SqliteConnection>>,
}

impl VersionReader {
    pub(crate) fn new(path: String) -> Self {
        Self {
            path,
            connection: Mutex::new(None),
        }
    }

    /// The version the database holds now, or `None` when this connection cannot tell (it could
    /// not open, or the read failed): the caller then asks through the pool, under its deadline.
    pub(crate) fn read(&self) -> Option<i64> {
        let mut held = self
            .connection
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.is_none() {
            *held = self.open();
        }
        let version = config_version::table
            .select(config_version::version)
            .first::<i64>(held.as_mut()?)
            .ok();
        if version.is_none() {
            // Opened afresh next time: whatever went wrong may have left the connection unusable.
            *held = None;
        }
        version
    }

    fn open(&self) -> Option<SqliteConnection> {
        // Read-only, so it never creates the file or writes to it.
        let mut connection = SqliteConnection::establish(&read_only_uri(&self.path, "")).ok()?;
        connection
            .batch_execute(&format!("PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};"))
            .ok()?;
        connection.set_instrumentation(statements::Trace);
        Some(connection)
    }
}
