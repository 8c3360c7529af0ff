//! Schema migrations, one folder per backend, embedded in the binary.
//!
//! Whether any is pending is read with a plain `SELECT`, so an engine whose database role may only
//! read and write rows (not own the schema) starts on a current schema without attempting DDL;
//! only a schema that is behind is migrated, which takes the owner's role.

use auth_ports::StoreError;
use diesel::QueryableByName;
use diesel::backend::Backend;
use diesel::migration::MigrationSource;
use diesel::sql_types::Text;
use diesel_async::{AsyncMigrationHarness, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::collections::BTreeSet;

use crate::Store;
use crate::conn::{Pools, pool_error, with_conn};

const POSTGRES: EmbeddedMigrations = embed_migrations!("../../../migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("../../../migrations/sqlite");

#[derive(QueryableByName)]
struct Applied {
    #[diesel(sql_type = Text)]
    version: String,
}

/// The versions of `source` not in `applied`.
fn missing<DB: Backend>(source: &EmbeddedMigrations, applied: &BTreeSet<String>) -> Vec<String>
where
    EmbeddedMigrations: MigrationSource<DB>,
{
    MigrationSource::<DB>::migrations(source)
        .unwrap_or_default()
        .iter()
        .map(|migration| migration.name().version().to_string())
        .filter(|version| !applied.contains(version))
        .collect()
}

/// The migration that gave audit links their seals: the run that applies it vouches for the links
/// written before (see `AuthService::seal_legacy_heads`).
pub const SEALS_MIGRATION: &str = "20261207000020";

impl Store {
    /// Applies every pending migration; the versions it applied. Needs a multi-threaded Tokio
    /// runtime.
    ///
    /// # Errors
    /// [`StoreError`] when the database is unreachable or a migration fails (saying so when the
    /// role cannot change the schema).
    pub async fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let pending = self.pending_migrations().await?;
        if pending.is_empty() {
            return Ok(pending);
        }
        if self.read_only {
            return Err(StoreError::Unavailable(
                "the database is read-only and its schema is older than this engine's: migrate a writable copy first".to_owned(),
            ));
        }
        let failed = |error: Box<dyn std::error::Error + Send + Sync>| {
            let hint = if error.to_string().contains("permission denied") {
                "; this database role cannot change the schema: run `auth-engine migrate` with AUTH_MIGRATION_DATABASE_URL naming its owner"
            } else {
                ""
            };
            StoreError::Internal(format!(
                "migration failed ({} pending): {error}{hint}",
                pending.len()
            ))
        };
        let applied: Vec<String> = match &self.pools {
            Pools::Postgres(pool) => {
                let connection = pool.get().await.map_err(pool_error)?;
                let mut harness = AsyncMigrationHarness::new(connection);
                let applied = harness.run_pending_migrations(POSTGRES).map_err(failed)?;
                applied.iter().map(ToString::to_string).collect()
            }
            Pools::Sqlite(pool) => {
                let connection = pool.get().await.map_err(pool_error)?;
                let mut harness = AsyncMigrationHarness::new(connection);
                let applied = harness.run_pending_migrations(SQLITE).map_err(failed)?;
                applied.iter().map(ToString::to_string).collect()
            }
        };
        Ok(applied)
    }

    /// The versions of this engine's migrations the database has not applied: all of them when it
    /// has none yet.
    async fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        let read = with_conn!(self, |conn| {
            diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
                .load::<Applied>(conn)
                .await
        });
        let applied: BTreeSet<String> = match read {
            Ok(rows) => rows.into_iter().map(|row| row.version).collect(),
            // No table yet: a new database. (Any other failure, say a role not granted to read
            // it, is reported as it is.)
            Err(diesel::result::Error::DatabaseError(_, info))
                if info.message().contains("does not exist")
                    || info.message().contains("no such table") =>
            {
                BTreeSet::new()
            }
            Err(error) => return Err(crate::conn::query_error(error)),
        };
        Ok(match &self.pools {
            Pools::Postgres(_) => missing::<diesel::pg::Pg>(&POSTGRES, &applied),
            Pools::Sqlite(_) => missing::<diesel::sqlite::Sqlite>(&SQLITE, &applied),
        })
    }
}
