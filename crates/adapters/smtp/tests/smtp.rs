//! The SMTP mailer against a real SMTP server on loopback (aiosmtpd, through
//! `tests/smtp_sink.py`): plain, STARTTLS and implicit TLS, with and without AUTH, a refusal, a
//! wrong password and a server that is not there. Skipped with a note when Python's aiosmtpd or the
//! openssl tool is missing, except under `CI=true`, where that fails.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test code")]

use std::path::PathBuf;
use std::time::Duration;

use auth_domain::otp::OtpCode;
use auth_domain::{Channel, EmailTemplate};
use auth_ports::{Notifier, OtpMessage};
use auth_smtp::{SmtpMailer, SmtpSettings};

#[path = "../../../../tests/smtp_sink.rs"]
mod smtp_sink;

use smtp_sink::{Scratch, Sink, aiosmtpd, certificate};

fn email(to: &str) -> OtpMessage {
    OtpMessage {
        channel: Channel::Email,
        to: to.into(),
        code: OtpCode::from_random(246_810).unwrap(),
        message: String::new(),
        app_name: "Demo & Co".into(),
        expires_in_minutes: 5,
        email_template: None,
        app_slug: "demo".into(),
        otp_request_id: "otp_a".into(),
    }
}

fn mailer(url: String, ca_file: Option<PathBuf>) -> SmtpMailer {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let settings = SmtpSettings {
        url,
        from_address: "noreply@example.com".into(),
        from_name: Some("Demo Sender".into()),
        timeout: Duration::from_secs(5),
        ca_file,
    };
    SmtpMailer::new(&settings).unwrap()
}

#[tokio::test]
async fn a_code_arrives_as_a_text_and_html_email_with_the_right_headers() {
    if !aiosmtpd() {
        return;
    }
    let scratch = Scratch::new("plain");
    let sink = Sink::start(&scratch.0, &["--auth", "mailer:s3cret"]).await;

    let sent = mailer(
        format!("smtp://mailer:s3cret@127.0.0.1:{}", sink.port),
        None,
    )
    .deliver(&email("person@example.com"))
    .await;

    assert_eq!(sent, Ok(()));
    let received = sink.received();
    assert_eq!(received.len(), 1);
    let mail = &received[0];
    assert_eq!(mail["authenticated"], true);
    assert_eq!(mail["rcpt_tos"], serde_json::json!(["person@example.com"]));
    assert_eq!(mail["content_type"], "multipart/alternative");
    let headers = &mail["headers"];
    assert_eq!(headers["from"], "Demo Sender <noreply@example.com>");
    assert_eq!(headers["to"], "person@example.com");
    assert_eq!(headers["subject"], "Your Demo & Co verification code");
    let text = mail["parts"]["text/plain"].as_str().unwrap();
    let html = mail["parts"]["text/html"].as_str().unwrap();
    assert!(
        text.starts_with("246810 is your Demo & Co verification code."),
        "{text}"
    );
    assert!(text.contains("expires in 5 minutes"), "{text}");
    assert!(html.contains(">246810</p>"), "{html}");
    assert!(html.contains("Demo &amp; Co"), "{html}");
}

#[tokio::test]
async fn an_apps_own_template_shapes_its_email_and_still_escapes_the_values() {
    if !aiosmtpd() {
        return;
    }
    let scratch = Scratch::new("template");
    let sink = Sink::start(&scratch.0, &[]).await;
    let template = EmailTemplate::new(
        "{{code}} for {{app_name}}",
        "Hello from {{app_name}}: {{code}} ({{expires_in_minutes}} min)",
        "<h1>{{app_name}}</h1><p class=\"code\">{{code}}</p>",
    )
    .unwrap();
    let message = OtpMessage {
        email_template: Some(template),
        ..email("person@example.com")
    };

    let sent = mailer(format!("smtp://127.0.0.1:{}", sink.port), None)
        .deliver(&message)
        .await;

    assert_eq!(sent, Ok(()));
    let mail = &sink.received()[0];
    assert_eq!(mail["headers"]["subject"], "246810 for Demo & Co");
    assert_eq!(
        mail["parts"]["text/plain"].as_str().unwrap().trim_end(),
        "Hello from Demo & Co: 246810 (5 min)"
    );
    assert_eq!(
        mail["parts"]["text/html"].as_str().unwrap().trim_end(),
        "<h1>Demo &amp; Co</h1><p class=\"code\">246810</p>"
    );
}

#[tokio::test]
async fn starttls_and_implicit_tls_reach_a_server_with_a_private_ca() {
    if !aiosmtpd() {
        return;
    }
    let scratch = Scratch::new("tls");
    let Some((cert, key)) = certificate(&scratch.0) else {
        return;
    };
    let (cert_arg, key_arg) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let starttls = Sink::start(
        &scratch.0.join("starttls"),
        &[
            "--cert",
            cert_arg,
            "--key",
            key_arg,
            "--auth",
            "mailer:s3cret",
        ],
    )
    .await;
    let implicit = Sink::start(
        &scratch.0.join("implicit"),
        &["--cert", cert_arg, "--key", key_arg, "--implicit-tls"],
    )
    .await;

    let upgraded = mailer(
        format!(
            "smtp://mailer:s3cret@127.0.0.1:{}?tls=required",
            starttls.port
        ),
        Some(cert.clone()),
    )
    .deliver(&email("person@example.com"))
    .await;
    let wrapped = mailer(
        format!("smtps://127.0.0.1:{}", implicit.port),
        Some(cert.clone()),
    )
    .deliver(&email("person@example.com"))
    .await;
    let untrusted = mailer(
        format!("smtp://127.0.0.1:{}?tls=required", starttls.port),
        None,
    )
    .deliver(&email("person@example.com"))
    .await;

    assert_eq!(upgraded, Ok(()));
    assert_eq!(wrapped, Ok(()));
    assert!(
        untrusted.is_err(),
        "a certificate nobody vouches for is refused"
    );
    assert_eq!(starttls.received()[0]["tls"], true);
    assert_eq!(starttls.received()[0]["authenticated"], true);
    assert_eq!(starttls.received().len(), 1);
    assert_eq!(implicit.received()[0]["tls"], true);
}

#[tokio::test]
async fn refusals_report_the_smtp_status_and_never_the_code() {
    if !aiosmtpd() {
        return;
    }
    let scratch = Scratch::new("refusals");
    let rejecting = Sink::start(&scratch.0.join("reject"), &["--reject", "554"]).await;
    let guarded = Sink::start(&scratch.0.join("auth"), &["--auth", "mailer:s3cret"]).await;
    let nobody = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let rejected = mailer(format!("smtp://127.0.0.1:{}", rejecting.port), None)
        .deliver(&email("person@example.com"))
        .await
        .unwrap_err();
    let started = std::time::Instant::now();
    let wrong_password = tokio::time::timeout(
        Duration::from_secs(30),
        mailer(
            format!("smtp://mailer:wrong@127.0.0.1:{}", guarded.port),
            None,
        )
        .deliver(&email("person@example.com")),
    )
    .await
    .expect("a wrong password must fail, not hang")
    .unwrap_err();
    let waited = started.elapsed();
    let dead = mailer(format!("smtp://127.0.0.1:{nobody}"), None)
        .deliver(&email("person@example.com"))
        .await
        .unwrap_err();

    assert!(rejected.0.contains("554"), "{rejected}");
    // aiosmtpd stalls after a failed AUTH instead of answering 535; the delivery deadline
    // (AUTH_SMTP_TIMEOUT_SECS, 5 s here) ends the wait.
    assert!(
        wrong_password.0.contains("535") || wrong_password.0.contains("timed out"),
        "{wrong_password}"
    );
    assert!(waited < Duration::from_secs(10), "{waited:?}");
    assert!(!dead.0.is_empty());
    for failure in [&rejected, &wrong_password, &dead] {
        assert!(!failure.0.contains("246810"), "{failure}");
        assert!(
            !failure.0.contains("s3cret") && !failure.0.contains("wrong"),
            "{failure}"
        );
    }
    assert!(guarded.received().is_empty());
}
