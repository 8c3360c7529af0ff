//! The SMS gateway adapter against a real HTTP server on loopback playing the gateway: both
//! dialects, a 500, a transient 503, a timeout, a slow gateway and a gateway that is not there.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth_domain::Channel;
use auth_domain::otp::OtpCode;
use auth_ports::{Notifier, OtpMessage};
use auth_sms::{SmsDialect, SmsGateway};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request the gateway received.
#[derive(Debug, Clone)]
struct Received {
    request_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How the gateway answers one request: after `delay`, with `status`.
#[derive(Debug, Clone, Copy)]
struct Answer {
    status: u16,
    delay: Duration,
}

const OK: Answer = Answer {
    status: 200,
    delay: Duration::ZERO,
};

fn answer(status: u16) -> Answer {
    Answer {
        status,
        delay: Duration::ZERO,
    }
}

/// A loopback HTTP server that records requests and answers from a script (then 200s).
struct FakeGateway {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl FakeGateway {
    async fn start(script: Vec<Answer>) -> Self {
        use_ring();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(VecDeque::from(script)));
        let log = Arc::clone(&received);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, Arc::clone(&log), Arc::clone(&script)));
            }
        });
        Self { addr, received }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    log: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
) {
    loop {
        let mut buffer = Vec::new();
        let head_end = loop {
            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_owned();
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = buffer[head_end + 4..].to_vec();
        while body.len() < length {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
        log.lock().unwrap().push(Received {
            request_line,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let next = script.lock().unwrap().pop_front().unwrap_or(OK);
        tokio::time::sleep(next.delay).await;
        let response = format!(
            "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{{}}",
            next.status
        );
        if stream.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// The engine's one TLS crypto provider, as the server installs it at start.
fn use_ring() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

fn sms(to: &str) -> OtpMessage {
    OtpMessage {
        channel: Channel::Sms,
        to: to.into(),
        code: OtpCode::from_random(424_242).unwrap(),
        message: "424242 is your Demo verification code. It expires in 5 minutes.".into(),
        app_name: "Demo".into(),
        expires_in_minutes: 5,
        email_template: None,
        app_slug: "demo".into(),
        otp_request_id: "otp_a".into(),
    }
}

fn json_gateway(gateway: &FakeGateway, timeout: Duration) -> SmsGateway {
    let dialect = SmsDialect::Json {
        url: format!("{}/sms", gateway.url()),
        token: Some("gw-token".into()),
    };
    SmsGateway::new(dialect, timeout).unwrap()
}

const TIMEOUT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn the_json_dialect_posts_the_number_and_message_with_the_bearer_token() {
    let gateway = FakeGateway::start(vec![]).await;

    let sent = json_gateway(&gateway, TIMEOUT)
        .deliver(&sms("+919876543210"))
        .await;

    assert_eq!(sent, Ok(()));
    let received = gateway.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].request_line, "POST /sms HTTP/1.1");
    assert_eq!(received[0].header("authorization"), Some("Bearer gw-token"));
    assert_eq!(received[0].header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_str(&received[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "to": "+919876543210",
            "message": "424242 is your Demo verification code. It expires in 5 minutes.",
        })
    );
}

#[tokio::test]
async fn the_twilio_dialect_posts_a_form_to_the_account_messages_with_basic_auth() {
    let gateway = FakeGateway::start(vec![answer(201)]).await;
    let dialect = SmsDialect::Twilio {
        base_url: format!("{}/twilio", gateway.url()),
        account_sid: "AC123".into(),
        auth_token: "secret-token".into(),
        from: "+15005550006".into(),
    };

    let sent = SmsGateway::new(dialect, TIMEOUT)
        .unwrap()
        .deliver(&sms("+919876543210"))
        .await;

    assert_eq!(sent, Ok(()));
    let received = gateway.received();
    assert_eq!(
        received[0].request_line,
        "POST /twilio/2010-04-01/Accounts/AC123/Messages.json HTTP/1.1"
    );
    assert_eq!(
        received[0].header("authorization"),
        Some("Basic QUMxMjM6c2VjcmV0LXRva2Vu")
    );
    assert_eq!(
        received[0].header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        received[0].body,
        "To=%2B919876543210&From=%2B15005550006&Body=424242+is+your+Demo+verification+code.+It+expires+in+5+minutes."
    );
}

#[tokio::test]
async fn a_500_fails_at_once_naming_the_status_and_not_the_code() {
    let gateway = FakeGateway::start(vec![answer(500)]).await;

    let failed = json_gateway(&gateway, TIMEOUT)
        .deliver(&sms("+919876543210"))
        .await
        .unwrap_err();

    assert_eq!(gateway.received().len(), 1, "a 500 is not retried");
    assert!(failed.0.contains("500"), "{failed}");
    assert!(
        !failed.0.contains("424242") && !failed.0.contains("9876543210"),
        "{failed}"
    );
}

#[tokio::test]
async fn a_transient_503_is_retried_once_and_then_delivered() {
    let gateway = FakeGateway::start(vec![answer(503)]).await;

    let sent = json_gateway(&gateway, TIMEOUT)
        .deliver(&sms("+919876543210"))
        .await;

    assert_eq!(sent, Ok(()));
    assert_eq!(gateway.received().len(), 2);
}

#[tokio::test]
async fn a_gateway_that_stays_unavailable_gets_exactly_one_retry() {
    let gateway = FakeGateway::start(vec![answer(503), answer(429), answer(503)]).await;

    let failed = json_gateway(&gateway, TIMEOUT)
        .deliver(&sms("+919876543210"))
        .await
        .unwrap_err();

    assert_eq!(gateway.received().len(), 2);
    assert!(
        failed.0.contains("429") && failed.0.contains("retry"),
        "{failed}"
    );
}

#[tokio::test]
async fn a_gateway_slower_than_the_timeout_fails_without_a_second_message() {
    let slow = Answer {
        status: 200,
        delay: Duration::from_secs(3),
    };
    let gateway = FakeGateway::start(vec![slow, slow]).await;

    let failed = json_gateway(&gateway, Duration::from_millis(300))
        .deliver(&sms("+919876543210"))
        .await
        .unwrap_err();

    assert!(failed.0.contains("timed out"), "{failed}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        gateway.received().len(),
        1,
        "the gateway may have sent it: no retry"
    );
}

#[tokio::test]
async fn a_slow_gateway_within_the_timeout_delivers() {
    let slow = Answer {
        status: 202,
        delay: Duration::from_millis(400),
    };
    let gateway = FakeGateway::start(vec![slow]).await;

    let sent = json_gateway(&gateway, Duration::from_secs(3))
        .deliver(&sms("+919876543210"))
        .await;

    assert_eq!(sent, Ok(()));
    assert_eq!(gateway.received().len(), 1);
}

#[tokio::test]
async fn a_gateway_that_is_not_there_is_tried_twice_then_reported_unreachable() {
    use_ring();
    // A port that was free a moment ago: nothing listens on it.
    let addr = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let dialect = SmsDialect::Json {
        url: format!("http://{addr}/sms"),
        token: None,
    };

    let failed = SmsGateway::new(dialect, TIMEOUT)
        .unwrap()
        .deliver(&sms("+919876543210"))
        .await
        .unwrap_err();

    assert!(
        failed.0.contains("unreachable") && failed.0.contains("retry"),
        "{failed}"
    );
}

#[tokio::test]
async fn only_sms_is_sent_and_a_bad_url_is_refused_naming_its_setting() {
    let gateway = FakeGateway::start(vec![]).await;
    let notifier = json_gateway(&gateway, TIMEOUT);
    let mut email = sms("someone@example.com");
    email.channel = Channel::Email;

    assert!(notifier.supports(Channel::Sms));
    assert!(!notifier.supports(Channel::Email));
    assert!(notifier.deliver(&email).await.is_err());
    assert!(gateway.received().is_empty());
    let refused = SmsGateway::new(
        SmsDialect::Json {
            url: "ftp://gateway".into(),
            token: None,
        },
        TIMEOUT,
    )
    .unwrap_err();
    assert!(refused.to_string().contains("AUTH_SMS_URL"), "{refused}");
}
