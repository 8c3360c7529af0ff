//! Schema migrations, one folder per backend, embedded in the binary.

use auth_ports::StoreError;
use diesel_async::AsyncMigrationHarness;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::Store;
use crate::conn::{Pools, pool_error};

const POSTGRES: EmbeddedMigrations = embed_migrations!("../../../migrations/postgres");
const SQLITE: EmbeddedMigrations = embed_migrations!("../../../migrations/sqlite");

impl Store {
    /// Applies every pending migration. Needs a multi-threaded Tokio runtime.
    ///
    /// # Errors
    /// [`StoreError`] when the database is unreachable or a migration fails.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let failed = |error: Box<dyn std::error::Error + Send + Sync>| {
            StoreError::Internal(format!("migration failed: {error}"))
        };
        if self.read_only {
            return self.schema_is_current().await;
        }
        match &self.pools {
            Pools::Postgres(pool) => {
                let connection = pool.get().await.map_err(pool_error)?;
                let mut harness = AsyncMigrationHarness::new(connection);
                harness.run_pending_migrations(POSTGRES).map_err(failed)?;
            }
            Pools::Sqlite(pool) => {
                let connection = pool.get().await.map_err(pool_error)?;
                let mut harness = AsyncMigrationHarness::new(connection);
                harness.run_pending_migrations(SQLITE).map_err(failed)?;
            }
        }
        Ok(())
    }

    /// A read-only database cannot be migrated: it is used as it is when its schema is this
    /// engine's, and refused otherwise.
    async fn schema_is_current(&self) -> Result<(), StoreError> {
        let pending = match &self.pools {
            Pools::Postgres(pool) => {
                let connection = pool.get().await.map_err(pool_error)?;
                AsyncMigrationHarness::new(connection).has_pending_migration(POSTGRES)
            }
            Pools::Sqlite(pool) => {
                let connection = pool.get().await.map_err(pool_error)?;
                AsyncMigrationHarness::new(connection).has_pending_migration(SQLITE)
            }
        }
        .map_err(|error| StoreError::Internal(format!("reading the schema version: {error}")))?;
        if pending {
            Err(StoreError::Unavailable(
                "the database is read-only and its schema is older than this engine's: migrate a writable copy first".to_owned(),
            ))
        } else {
            Ok(())
        }
    }
}
