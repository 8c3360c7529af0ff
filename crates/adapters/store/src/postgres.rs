//! Connecting to PostgreSQL with every wait bounded: the connection itself, each statement and
//! lock on the server, and a dead peer noticed by TCP keepalive rather than never.

use diesel::ConnectionError;
use diesel_async::AsyncPgConnection;
use std::time::Duration;
use tokio_postgres::config::Host;

/// How long an idle connection waits before TCP asks whether the server is still there, and how
/// often it asks again.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(10);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(2);
const KEEPALIVE_RETRIES: u32 = 3;

/// `host:port` of every server `url` names, for messages.
fn servers(config: &tokio_postgres::Config) -> String {
    let ports = config.get_ports();
    config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            match host {
                Host::Tcp(name) => format!("{name}:{port}"),
                #[cfg(unix)]
                Host::Unix(path) => format!("{}:{port}", path.display()),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Opens one connection to `url`, whose server-side statement and lock waits end after `timeout`.
pub(crate) async fn open(
    url: String,
    timeout: Duration,
) -> diesel::ConnectionResult<AsyncPgConnection> {
    let mut config: tokio_postgres::Config = url
        .parse()
        .map_err(|e: tokio_postgres::Error| ConnectionError::InvalidConnectionUrl(e.to_string()))?;
    let millis = timeout.as_millis();
    let bounded = format!("-c statement_timeout={millis} -c lock_timeout={millis}");
    let options = match config.get_options() {
        Some(given) if !given.trim().is_empty() => format!("{given} {bounded}"),
        _ => bounded,
    };
    config
        .options(options)
        .connect_timeout(timeout)
        .keepalives(true)
        .keepalives_idle(KEEPALIVE_IDLE)
        .keepalives_interval(KEEPALIVE_INTERVAL)
        .keepalives_retries(KEEPALIVE_RETRIES);
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| ConnectionError::BadConnection(format!("{}: {e}", servers(&config))))?;
    let mut connection =
        AsyncPgConnection::try_from_client_and_connection(client, connection).await?;
    diesel_async::AsyncConnection::set_instrumentation(&mut connection, crate::statements::Trace);
    Ok(connection)
}
