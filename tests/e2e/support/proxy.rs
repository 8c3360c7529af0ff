//! A TCP proxy between the server and Postgres that a test can cut and restore, or freeze and thaw:
//! a database outage or stall on demand, without touching the database server itself.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

#[derive(Debug)]
pub struct TcpProxy {
    port: u16,
    upstream: String,
    running: Option<Running>,
    /// While set, bytes are held in both directions: connections stay open and nothing answers,
    /// as with a database whose processes are stopped.
    frozen: Arc<AtomicBool>,
}

#[derive(Debug)]
struct Running {
    accept: JoinHandle<()>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl TcpProxy {
    /// Listens on a free loopback port and forwards every connection to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Self {
        let listener = listen(0).expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let frozen = Arc::new(AtomicBool::new(false));
        let running = Some(run(listener, upstream.to_owned(), Arc::clone(&frozen)));
        Self {
            port,
            upstream: upstream.to_owned(),
            running,
            frozen,
        }
    }

    /// Holds every byte, both ways, until [`Self::thaw`]: the database stalls without closing.
    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    pub fn thaw(&self) {
        self.frozen.store(false, Ordering::SeqCst);
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Closes the listening socket and every live connection.
    pub async fn stop(&mut self) {
        let Some(running) = self.running.take() else {
            return;
        };
        running.accept.abort();
        // Only once the accept loop is gone can no new connection be added behind our back.
        let _ = running.accept.await;
        let connections: Vec<_> = running
            .connections
            .lock()
            .expect("proxy lock")
            .drain(..)
            .collect();
        for connection in connections {
            connection.abort();
            let _ = connection.await;
        }
    }

    /// Listens again on the same port.
    pub async fn resume(&mut self) {
        assert!(self.running.is_none(), "the proxy is already running");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match listen(self.port) {
                Ok(listener) => break listener,
                Err(error) if tokio::time::Instant::now() < deadline => {
                    eprintln!("proxy: port {} not free yet ({error}), retrying", self.port);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("cannot listen on port {} again: {error}", self.port),
            }
        };
        self.running = Some(run(
            listener,
            self.upstream.clone(),
            Arc::clone(&self.frozen),
        ));
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            running.accept.abort();
            for connection in running.connections.lock().expect("proxy lock").drain(..) {
                connection.abort();
            }
        }
    }
}

fn listen(port: u16) -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    // Closed connections linger in TIME_WAIT on this port; they must not block a restart.
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], port)))?;
    socket.listen(128)
}

fn run(listener: TcpListener, upstream: String, frozen: Arc<AtomicBool>) -> Running {
    let connections = Arc::new(Mutex::new(Vec::new()));
    let registry = Arc::clone(&connections);
    let accept = tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                continue;
            };
            let upstream = upstream.clone();
            let frozen = Arc::clone(&frozen);
            let connection = tokio::spawn(async move {
                if let Ok(outbound) = TcpStream::connect(&upstream).await {
                    let (from_client, to_client) = inbound.split();
                    let (from_server, to_server) = outbound.into_split();
                    tokio::join!(
                        pump(from_client, to_server, &frozen),
                        pump(from_server, to_client, &frozen),
                    );
                }
            });
            registry.lock().expect("proxy lock").push(connection);
        }
    });
    Running {
        accept,
        connections,
    }
}

/// Copies `from` to `to` until either side closes, holding the bytes while `frozen` is set.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    frozen: &AtomicBool,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        while frozen.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// The `host:port` a `postgres://user:pass@host:port/db?params` URL connects to.
pub fn upstream_of(database_url: &str) -> String {
    let (_, _, host_port, _) = split_url(database_url);
    let has_port = if host_port.starts_with('[') {
        host_port.contains("]:")
    } else {
        host_port.contains(':')
    };
    match (host_port.is_empty(), has_port) {
        (true, _) => "localhost:5432".to_owned(),
        (false, true) => host_port.to_owned(),
        (false, false) => format!("{host_port}:5432"),
    }
}

/// The same URL (credentials, database, parameters) pointed at `127.0.0.1:port`.
pub fn via_local_port(database_url: &str, port: u16) -> String {
    let (scheme, userinfo, _, tail) = split_url(database_url);
    format!("{scheme}://{userinfo}127.0.0.1:{port}{tail}")
}

/// `(scheme, "user:pass@" or "", host_port, "/db?params")`.
fn split_url(database_url: &str) -> (&str, &str, &str, &str) {
    let (scheme, rest) = database_url.split_once("://").expect("a URL with a scheme");
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(end) => rest.split_at(end),
        None => (rest, ""),
    };
    match authority.rfind('@') {
        Some(at) => (scheme, &authority[..=at], &authority[at + 1..], tail),
        None => (scheme, "", authority, tail),
    }
}
