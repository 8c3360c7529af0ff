//! A loopback HTTP endpoint standing in for the SMS/email gateway behind `AUTH_NOTIFIER=webhook`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

const WAIT: Duration = Duration::from_secs(5);

/// One POST the server made to the sink.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub body: Value,
    /// false when the sink was failing and answered 500.
    pub accepted: bool,
}

#[derive(Debug)]
struct SinkState {
    failing: AtomicBool,
    deliveries: Mutex<Vec<Delivery>>,
    /// Bumped after every recorded delivery, so waiters need not poll.
    recorded: watch::Sender<u64>,
}

#[derive(Debug)]
pub struct WebhookSink {
    addr: SocketAddr,
    state: Arc<SinkState>,
    task: JoinHandle<()>,
}

impl WebhookSink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the webhook sink");
        let addr = listener.local_addr().expect("webhook sink address");
        let state = Arc::new(SinkState {
            failing: AtomicBool::new(false),
            deliveries: Mutex::new(Vec::new()),
            recorded: watch::Sender::new(0),
        });
        let accept_state = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&accept_state)));
            }
        });
        Self { addr, state, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}/otp", self.addr)
    }

    /// While failing, every delivery is recorded but answered with 500.
    pub fn set_failing(&self, failing: bool) {
        self.state.failing.store(failing, Ordering::SeqCst);
    }

    pub fn deliveries(&self) -> Vec<Delivery> {
        self.state.deliveries.lock().expect("sink lock").clone()
    }

    /// The latest delivery matching `wanted`, waiting up to 5 s for one to arrive.
    pub async fn wait_for(&self, what: &str, wanted: impl Fn(&Delivery) -> bool) -> Delivery {
        let mut recorded = self.state.recorded.subscribe();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let _ = recorded.borrow_and_update();
            // Newest first and without copying the rest: under load the one wanted is near the end.
            let found = (self.state.deliveries.lock().expect("sink lock").iter())
                .rev()
                .find(|d| wanted(d))
                .cloned();
            if let Some(found) = found {
                return found;
            }
            if tokio::time::timeout_at(deadline, recorded.changed())
                .await
                .is_err()
            {
                panic!(
                    "no webhook delivery {what} within {WAIT:?}; got {:?}",
                    self.deliveries()
                );
            }
        }
    }

    /// The code sent for `otp_request_id`.
    pub async fn code_for(&self, otp_request_id: &str) -> String {
        let delivery = self
            .wait_for(&format!("for {otp_request_id}"), |d| {
                d.accepted && d.body["otp_request_id"] == otp_request_id
            })
            .await;
        code_of(&delivery)
    }

    /// The code most recently sent to a phone number or email address.
    pub async fn last_code_to(&self, to: &str) -> String {
        let delivery = self
            .wait_for(&format!("to {to}"), |d| d.accepted && d.body["to"] == to)
            .await;
        code_of(&delivery)
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub fn code_of(delivery: &Delivery) -> String {
    delivery.body["code"]
        .as_str()
        .unwrap_or_else(|| panic!("webhook body has no code: {}", delivery.body))
        .to_owned()
}

async fn serve(mut stream: TcpStream, state: Arc<SinkState>) {
    let Some(body) = read_request_body(&mut stream).await else {
        return;
    };
    let accepted = !state.failing.load(Ordering::SeqCst);
    let body = serde_json::from_slice::<Value>(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    state
        .deliveries
        .lock()
        .expect("sink lock")
        .push(Delivery { body, accepted });
    state.recorded.send_modify(|n| *n += 1);
    let status = if accepted {
        "200 OK"
    } else {
        "500 Internal Server Error"
    };
    let response = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Reads one HTTP/1.1 request and returns its body (Content-Length or chunked).
async fn read_request_body(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(pos) = find(&buf, b"\r\n\r\n") {
            break pos + 4;
        }
        read_more(stream, &mut buf).await?;
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let header = |name: &str| {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .find(|(key, _)| key.trim() == name)
            .map(|(_, value)| value.trim().to_owned())
    };
    if header("expect").is_some_and(|v| v == "100-continue") {
        stream
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .ok()?;
    }
    if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            if let Some(body) = decode_chunked(&buf[head_end..]) {
                return Some(body);
            }
            read_more(stream, &mut buf).await?;
        }
    }
    let length: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        read_more(stream, &mut buf).await?;
    }
    Some(buf[head_end..head_end + length].to_vec())
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<()> {
    let mut chunk = [0_u8; 8192];
    let n = stream.read(&mut chunk).await.ok()?;
    if n == 0 {
        return None;
    }
    buf.extend_from_slice(&chunk[..n]);
    Some(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The decoded body once the whole chunked stream has arrived, None while more is needed.
fn decode_chunked(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line_end = find(data, b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(body);
        }
        if data.len() < size + 2 {
            return None;
        }
        body.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
