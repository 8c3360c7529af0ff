//! Raw SQL on a test server's database: for tests that play an operator (or an intruder) who can
//! reach the database directly, past the engine.

use auth_store::test_support::{ScratchDatabase, execute_sql, postgres_admin_url};
use auth_store::{DatabaseUrl, Store};

use super::TestServer;

/// The database `server` uses: its `AUTH_DATABASE_URL`, or the default SQLite file in its directory.
pub fn database_url(server: &TestServer) -> DatabaseUrl {
    let configured = server
        .configured("AUTH_DATABASE_URL")
        .unwrap_or("sqlite://./data/auth-engine.db");
    match DatabaseUrl::parse(configured) {
        // A relative SQLite path is relative to the directory the process runs in.
        Ok(DatabaseUrl::Sqlite(path)) => {
            DatabaseUrl::Sqlite(server.dir().join(path).to_string_lossy().into_owned())
        }
        Ok(url) => url,
        Err(problem) => panic!("AUTH_DATABASE_URL {configured}: {problem}"),
    }
}

/// A connection of the test's own to the database `server` uses.
pub fn open(server: &TestServer) -> Store {
    Store::connect(&database_url(server), 1, std::time::Duration::from_secs(30))
        .expect("connect to the test server's database")
}

/// Runs one SQL statement, which must succeed: the number of rows it changed.
pub async fn sql(store: &Store, statement: &str) -> usize {
    execute_sql(store, statement)
        .await
        .unwrap_or_else(|error| panic!("`{statement}` failed: {error}"))
}

/// Runs one SQL statement, which the database must refuse: its error text.
pub async fn refused_sql(store: &Store, statement: &str) -> String {
    match execute_sql(store, statement).await {
        Ok(rows) => panic!("the database accepted `{statement}` ({rows} rows)"),
        Err(error) => error,
    }
}

/// `text` as an SQL string literal.
pub fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// A fresh, empty database of its own, or None when no Postgres is configured.
pub async fn scratch_database() -> Option<ScratchDatabase> {
    let Some(admin_url) = postgres_admin_url() else {
        eprintln!("skipped: TEST_DATABASE_URL is not set, so there is no Postgres to test against");
        return None;
    };
    Some(ScratchDatabase::create(&admin_url).await)
}
