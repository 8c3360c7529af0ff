//! The Postgres side of the [`Cache`]: a connection of its own that listens for
//! `auth_engine_config`, drops what is kept when it hears it, and compares the version every
//! [`RECHECK`]. While it is not listening, nothing kept is used.

use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;

use crate::cache::{CHANNEL, Cache, RECHECK};
use crate::postgres;
use crate::schema::config_version;

/// How long to wait before listening again after the connection was lost.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// Listens in the background for as long as the runtime runs, connecting again when the
/// connection is lost.
pub(crate) fn spawn(url: String, timeout: Duration, cache: Arc<Cache>) {
    tokio::spawn(async move {
        loop {
            if let Err(error) = listen(&url, timeout, &cache).await {
                tracing::warn!(%error, "not hearing configuration changes; reading them from the database until it does");
            }
            cache.set_trusted(false);
            tokio::time::sleep(RECONNECT_AFTER).await;
        }
    });
}

async fn listen(url: &str, timeout: Duration, cache: &Cache) -> Result<(), String> {
    let mut conn = postgres::open(url.to_owned(), timeout)
        .await
        .map_err(|error| error.to_string())?;
    diesel::sql_query(format!("LISTEN {CHANNEL}"))
        .execute(&mut conn)
        .await
        .map_err(|error| error.to_string())?;
    // Listening from here on: whatever changed before is read afresh.
    cache.seen_version(version(&mut conn, timeout).await?);
    cache.set_trusted(true);
    loop {
        let heard =
            tokio::time::timeout(RECHECK, std::pin::pin!(conn.notifications_stream()).next()).await;
        match heard {
            Ok(Some(Ok(_))) => cache.drop_all(),
            Ok(Some(Err(error))) => return Err(error.to_string()),
            Ok(None) => return Err("the connection closed".to_owned()),
            Err(_) => cache.seen_version(version(&mut conn, timeout).await?),
        }
    }
}

async fn version(conn: &mut AsyncPgConnection, timeout: Duration) -> Result<i64, String> {
    let read = config_version::table
        .select(config_version::version)
        .first::<i64>(conn);
    match tokio::time::timeout(timeout, read).await {
        Ok(read) => read.map_err(|error| error.to_string()),
        Err(_) => Err("the version check timed out".to_owned()),
    }
}
