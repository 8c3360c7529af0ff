//! The two databases the log must hold up on, and how someone with the database owner's rights gets
//! past the append-only triggers that stop everybody else.

use crate::support::database::scratch_database;
use auth_store::Store;
use auth_store::test_support::ScratchDatabase;

use crate::support::database::sql;
use crate::support::{Harness, TestServer, TestServerBuilder};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Backend {
    Sqlite,
    Postgres,
}

/// A server with one app on a database of its own.
#[derive(Debug)]
pub(super) struct Deployment {
    pub(super) h: Harness,
    // Declared after the harness, so it is dropped after the server.
    _database: Option<ScratchDatabase>,
}

impl Deployment {
    /// None when Postgres is asked for and `TEST_DATABASE_URL` is not set (the test is skipped).
    pub(super) async fn start(backend: Backend) -> Option<Self> {
        Self::start_with(backend, TestServer::builder()).await
    }

    pub(super) async fn start_with(backend: Backend, builder: TestServerBuilder) -> Option<Self> {
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(scratch_database().await?),
        };
        let builder = match &database {
            Some(database) => builder.postgres(database.url()),
            None => builder,
        };
        let h = Harness::start_with(builder).await;
        Some(Self {
            h,
            _database: database,
        })
    }
}

impl Backend {
    /// Lets UPDATE and DELETE through on `audit_events`, as the owner of the tables can.
    pub(super) async fn lift_append_only(self, store: &Store) {
        match self {
            Self::Sqlite => {
                sql(store, "DROP TRIGGER audit_events_no_update").await;
                sql(store, "DROP TRIGGER audit_events_no_delete").await;
            }
            Self::Postgres => {
                sql(store, "ALTER TABLE audit_events DISABLE TRIGGER USER").await;
            }
        }
    }

    /// Lets UPDATE through on `audit_chain`, as the owner of the tables can.
    pub(super) async fn lift_chain_append_only(self, store: &Store) {
        match self {
            Self::Sqlite => sql(store, "DROP TRIGGER audit_chain_no_update").await,
            Self::Postgres => sql(store, "ALTER TABLE audit_chain DISABLE TRIGGER USER").await,
        };
    }

    /// `bytes` as an SQL literal of this backend.
    pub(super) fn blob(self, bytes: &[u8]) -> String {
        let hex = crate::support::sha256::hex(bytes);
        match self {
            Self::Sqlite => format!("X'{hex}'"),
            Self::Postgres => format!("decode('{hex}', 'hex')"),
        }
    }

    /// Lets a sealed record be deleted although `audit_chain` still refers to it. On Postgres the
    /// owner drops the foreign key (disabling its internal triggers would need a superuser); on
    /// SQLite foreign keys are a setting of each connection, here the test's own.
    pub(super) async fn allow_dangling_links(self, store: &Store) {
        match self {
            Self::Sqlite => {
                sql(store, "PRAGMA foreign_keys = OFF").await;
            }
            Self::Postgres => {
                let drop_key = "ALTER TABLE audit_chain DROP CONSTRAINT audit_chain_event_seq_fkey";
                sql(store, drop_key).await;
            }
        }
    }
}
