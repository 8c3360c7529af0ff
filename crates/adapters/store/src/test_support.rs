//! Scratch Postgres databases for tests: one per test, dropped when the test ends.

#![expect(clippy::expect_used, reason = "test support fails loudly")]

use crate::Store;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::atomic::{AtomicU64, Ordering};

/// The admin URL for Postgres tests from `TEST_DATABASE_URL`, or `None` to skip them locally.
///
/// # Panics
/// Under `CI=true` when `TEST_DATABASE_URL` is missing: CI must never skip Postgres silently.
#[must_use]
pub fn postgres_admin_url() -> Option<String> {
    let url = std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty());
    if url.is_none() && std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("TEST_DATABASE_URL must be set when CI=true");
    }
    url
}

/// A fresh, empty database on the server `TEST_DATABASE_URL` names.
#[derive(Debug)]
pub struct ScratchDatabase {
    admin_url: String,
    name: String,
    url: String,
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(base, query)| (base, Some(query)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

impl ScratchDatabase {
    /// # Panics
    /// When the server cannot be reached or the database cannot be created.
    pub async fn create(admin_url: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let name = format!(
            "auth_scratch_{}_{}_{:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            random & 0xffff_ffff
        );
        let mut admin = AsyncPgConnection::establish(admin_url)
            .await
            .expect("connect to TEST_DATABASE_URL");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create scratch database");
        Self {
            admin_url: admin_url.to_owned(),
            url: with_database(admin_url, &name),
            name,
        }
    }

    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside a test's runtime: do the async cleanup on a thread of its own.
        let cleanup = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                if let Ok(mut admin) = AsyncPgConnection::establish(&admin_url).await {
                    let _ =
                        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut admin)
                            .await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// Runs raw SQL on the store's database, for tests that check what the database itself refuses.
///
/// # Errors
/// The database's error text.
pub async fn execute_sql(store: &Store, sql: &str) -> Result<usize, String> {
    let run = async {
        crate::conn::with_conn!(store, |conn| diesel::sql_query(sql)
            .execute(conn)
            .await
            .map_err(crate::conn::query_error))
    };
    run.await.map_err(|error| error.to_string())
}

/// The event names recorded for `app_id`, oldest first.
///
/// # Panics
/// When the audit log cannot be read.
pub async fn audit_events(store: &Store, app_id: &str) -> Vec<String> {
    use crate::schema::audit_events as audit;
    let read = async {
        crate::conn::with_conn!(store, |conn| {
            audit::table
                .filter(audit::app_id.eq(app_id))
                .order(audit::seq.asc())
                .select(audit::event)
                .load::<String>(conn)
                .await
                .map_err(crate::conn::query_error)
        })
    };
    read.await.expect("read the audit log")
}

/// SQLite's plan (`EXPLAIN QUERY PLAN`) for refresh's rotation statement, one step per line.
///
/// # Panics
/// When `store` is not SQLite or the plan cannot be read.
pub async fn sqlite_rotation_plan(store: &Store) -> Vec<String> {
    use crate::schema::refresh_tokens;
    let statement = crate::sessions::rotation!(&[0_u8; 32][..], "app", 0_i64, 0_i64)
        .set(refresh_tokens::rotated_at.eq(0_i64))
        .returning(refresh_tokens::session_id);
    let rendered = diesel::debug_query::<diesel::sqlite::Sqlite, _>(&statement).to_string();
    sqlite_query_plan(store, crate::statements::text_of(&rendered))
        .await
        .expect("the plan")
}

/// SQLite's plan (`EXPLAIN QUERY PLAN`) for the statement `sql` (its parameters unbound), one
/// step per line.
///
/// # Errors
/// SQLite's error text when it cannot plan `sql`.
///
/// # Panics
/// When `store` is not SQLite.
pub async fn sqlite_query_plan(store: &Store, sql: &str) -> Result<Vec<String>, String> {
    #[derive(QueryableByName)]
    struct Step {
        #[diesel(sql_type = diesel::sql_types::Text)]
        detail: String,
    }
    let crate::conn::Pools::Sqlite(pool) = &store.pools else {
        panic!("a SQLite plan is read on SQLite");
    };
    let mut conn = pool.get().await.map_err(|error| error.to_string())?;
    let steps = diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
        .load::<Step>(&mut *conn)
        .await
        .map_err(|error| error.to_string())?;
    Ok(steps.into_iter().map(|step| step.detail).collect())
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_names_are_swapped_keeping_credentials_and_options() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/db", "x"),
            "postgres://u:p@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
