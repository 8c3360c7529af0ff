//! Delivery through a real SMS gateway protocol (`AUTH_NOTIFIER=sms`, the JSON dialect) to a
//! loopback HTTP server: codes arrive as text, a channel that is not configured is refused by name,
//! and a failed delivery is an audit record with the gateway's status and never the code.

use serde_json::{Value, json};

use crate::support::webhook::Delivery;
use crate::support::{
    AppCreds, TestServer, WebhookSink, post, send_otp, send_otp_to_phone, unique_email,
    unique_phone, unique_slug, verify_otp,
};

/// A server that sends SMS through `gateway` and has no email delivery, with one app.
async fn sms_only(gateway: &WebhookSink) -> (TestServer, AppCreds) {
    let server = TestServer::builder()
        .env("AUTH_NOTIFIER", "sms")
        .env("AUTH_SMS_URL", gateway.url())
        .env("AUTH_SMS_TOKEN", "gateway-token")
        .start()
        .await;
    let app = server.create_app("Text Me", &unique_slug("sms")).await;
    (server, app)
}

/// The six-digit code in an SMS text.
fn code_in(delivery: &Delivery) -> String {
    let text = delivery.body["message"]
        .as_str()
        .unwrap_or_else(|| panic!("the gateway got no message: {}", delivery.body));
    text.split(|c: char| !c.is_ascii_digit())
        .find(|word| word.len() == 6)
        .unwrap_or_else(|| panic!("no six-digit code in {text:?}"))
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn codes_go_out_as_sms_and_email_is_refused_naming_the_channel() {
    // Arrange
    let gateway = WebhookSink::start().await;
    let (server, app) = sms_only(&gateway).await;
    let phone = unique_phone();

    // Act
    let sent = send_otp_to_phone(&server, &app, &phone).await;
    let mailed = send_otp(&server, &app, json!({ "email": unique_email() })).await;

    // Assert
    sent.assert_ok();
    let delivery = gateway
        .wait_for("to the phone", |d| d.body["to"] == phone.as_str())
        .await;
    let message = delivery.body["message"].as_str().unwrap_or_default();
    assert!(message.contains("Text Me"), "{message}");
    assert_eq!(
        delivery.body.as_object().map(|o| o.len()),
        Some(2),
        "only to and message: {}",
        delivery.body
    );
    verify_otp(
        &server,
        &app,
        &sent.str("otp_request_id"),
        &code_in(&delivery),
    )
    .await
    .assert_ok();
    mailed.assert_error(400, "invalid_request");
    assert!(
        mailed.text.contains("email") && mailed.text.contains("not configured"),
        "{}",
        mailed.text
    );
    assert_eq!(
        gateway.deliveries().len(),
        1,
        "nothing was sent for the email"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_sms_is_audited_with_the_gateway_status_and_never_the_code() {
    // Arrange: the gateway answers 500.
    let gateway = WebhookSink::start().await;
    let (server, app) = sms_only(&gateway).await;
    gateway.set_failing(true);
    let phone = unique_phone();

    // Act
    let failed = send_otp_to_phone(&server, &app, &phone).await;

    // Assert
    failed.assert_error(502, "delivery_failed");
    let attempt = gateway
        .wait_for("attempted", |d| d.body["to"] == phone.as_str())
        .await;
    assert_eq!(gateway.deliveries().len(), 1, "a 500 is not retried");
    let code = code_in(&attempt);
    let listed = post(
        &server,
        &app,
        "/audit/events",
        json!({ "event": "otp_delivery_failed" }),
    )
    .await;
    listed.assert_ok();
    let events: Vec<Value> = listed.body["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(events.len(), 1, "{}", listed.text);
    let details = &events[0]["details"];
    assert_eq!(details["channel"], "sms");
    assert!(
        details["provider_status"]
            .as_str()
            .is_some_and(|status| status.contains("500")),
        "{details}"
    );
    assert_eq!(events[0]["outcome"], "failure");
    assert!(
        !listed.text.contains(&code),
        "the code leaked: {}",
        listed.text
    );
    assert!(
        !listed.text.contains(&phone[3..]),
        "the full number leaked: {}",
        listed.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_mail_server_answers_delivery_failed_and_leaves_no_usable_code() {
    // Arrange: email through a mail server that is not there; no SMS delivery.
    let nobody = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let server = TestServer::builder()
        .env("AUTH_NOTIFIER", "smtp")
        .env("AUTH_SMTP_URL", format!("smtp://127.0.0.1:{nobody}"))
        .env("AUTH_SMTP_FROM", "noreply@example.com")
        .env("AUTH_SMTP_TIMEOUT_SECS", "2")
        .start()
        .await;
    let app = server.create_app("Mail Me", &unique_slug("smtp")).await;

    // Act
    let mailed = send_otp(&server, &app, json!({ "email": unique_email() })).await;
    let texted = send_otp_to_phone(&server, &app, &unique_phone()).await;

    // Assert
    mailed.assert_error(502, "delivery_failed");
    texted.assert_error(400, "invalid_request");
    assert!(texted.text.contains("sms"), "{}", texted.text);
    let listed = post(
        &server,
        &app,
        "/audit/events",
        json!({ "event": "otp_delivery_failed" }),
    )
    .await;
    let events: Vec<Value> = listed.body["events"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(events.len(), 1, "{}", listed.text);
    assert_eq!(events[0]["details"]["channel"], "email");
    let never_stored = events[0]["subject"].as_str().unwrap_or_default();
    verify_otp(&server, &app, never_stored, "123456")
        .await
        .assert_error(404, "otp_not_found");
}

/// Runs `auth-engine apps configure --slug SLUG ARGS…` on the harness's app; its output.
async fn configure(h: &crate::support::Harness, args: &[&str]) -> String {
    let mut all = vec!["apps", "configure", "--slug", h.app.app_slug.as_str()];
    all.extend_from_slice(args);
    let output = h.server.run_cli(&all).await;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "apps configure failed: {text}");
    text
}

/// The app's audit records named `event`.
async fn audited(h: &crate::support::Harness, event: &str) -> Vec<Value> {
    let listed = h.post("/audit/events", json!({ "event": event })).await;
    listed.assert_ok();
    listed.body["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_apps_sms_countries_and_daily_caps_stop_pumping_with_an_alert() {
    // Arrange: SMS only to the UK (+44), two a day; one email a day.
    let h = crate::support::Harness::start().await;
    let said = configure(
        &h,
        &[
            "--sms-countries",
            "44",
            "--sms-per-day",
            "2",
            "--emails-per-day",
            "1",
        ],
    )
    .await;
    assert!(
        said.contains("sms_countries = 44, sms_per_day = 2, emails_per_day = 1"),
        "{said}"
    );
    let uk = |n: u32| format!("+44770090{n:04}");

    // Act
    let abroad = h.send_otp_to_phone("+919876543210").await;
    let first = h.send_otp_to_phone(&uk(1)).await;
    let second = h.send_otp_to_phone(&uk(2)).await;
    let third = h.send_otp_to_phone(&uk(3)).await;
    let mail = h.send_otp(json!({ "email": unique_email() })).await;
    let more_mail = h.send_otp(json!({ "email": unique_email() })).await;

    // Assert
    abroad.assert_error(400, "invalid_request");
    assert!(abroad.text.contains("country"), "{}", abroad.text);
    first.assert_ok();
    second.assert_ok();
    third.assert_error(429, "rate_limited");
    mail.assert_ok();
    more_mail.assert_error(429, "rate_limited");
    let sent_to: Vec<Value> = h
        .sink
        .deliveries()
        .iter()
        .map(|d| d.body["to"].clone())
        .collect();
    assert_eq!(sent_to.len(), 3, "only what passed was sent: {sent_to:?}");
    assert!(!sent_to.contains(&json!("+919876543210")));
    let refused = audited(&h, "sms_country_refused").await;
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["details"]["destination_hint"], "+91******3210");
    let alerts = audited(&h, "delivery_cap_reached").await;
    let limits: Vec<&Value> = alerts.iter().map(|e| &e["details"]["limit"]).collect();
    assert_eq!(limits, [&json!("sms-app-day"), &json!("email-app-day")]);
    assert_eq!(alerts[0]["details"]["cap"], 2);

    // `any` lifts the allowlist again.
    configure(&h, &["--sms-countries", "any", "--sms-per-day", "10"]).await;
    h.send_otp_to_phone("+919876543210").await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_engines_daily_sms_cap_holds_across_apps() {
    // Arrange
    let builder = TestServer::builder().env("AUTH_SMS_GLOBAL_DAILY_CAP", "1");
    let h = crate::support::Harness::start_with(builder).await;
    let other = h.server.create_app("Other", &unique_slug("other")).await;

    // Act
    let first = h.send_otp_to_phone(&unique_phone()).await;
    let from_other_app = send_otp_to_phone(&h.server, &other, &unique_phone()).await;
    let email = send_otp(&h.server, &other, json!({ "email": unique_email() })).await;

    // Assert
    first.assert_ok();
    from_other_app.assert_error(429, "rate_limited");
    email.assert_ok();
    let listed = post(
        &h.server,
        &other,
        "/audit/events",
        json!({ "event": "delivery_cap_reached" }),
    )
    .await;
    assert!(listed.text.contains("sms-global-day"), "{}", listed.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_country_list_that_does_not_parse_is_refused_naming_the_flag() {
    let h = crate::support::Harness::start().await;

    let output = h
        .server
        .run_cli(&[
            "apps",
            "configure",
            "--slug",
            &h.app.app_slug,
            "--sms-countries",
            "India",
        ])
        .await;

    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("--sms-countries"), "{said}");
}

/// What `sink` has received once it holds `count` messages (or after 5 s, for the caller's
/// assertion to show).
async fn mail_received(sink: &crate::smtp_sink::Sink, count: usize) -> Vec<Value> {
    let mut received = sink.received();
    for _ in 0..50 {
        if received.len() >= count {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        received = sink.received();
    }
    assert_eq!(received.len(), count, "{received:?}");
    received
}

/// An engine mailing through a plain aiosmtpd on loopback, or `None` when aiosmtpd is missing.
async fn smtp_server(
    scratch: &crate::smtp_sink::Scratch,
) -> Option<(crate::smtp_sink::Sink, TestServer)> {
    if !crate::smtp_sink::aiosmtpd() {
        return None;
    }
    let sink = crate::smtp_sink::Sink::start(&scratch.0, &[]).await;
    let server = TestServer::builder()
        .env("AUTH_NOTIFIER", "smtp")
        .env("AUTH_SMTP_URL", format!("smtp://127.0.0.1:{}", sink.port))
        .env("AUTH_SMTP_FROM", "login@example.com")
        .start()
        .await;
    Some((sink, server))
}

/// Runs `auth-engine apps configure --slug … --email-template DIR`.
async fn email_template(server: &TestServer, app: &AppCreds, dir: &str) -> std::process::Output {
    let args = [
        "apps",
        "configure",
        "--slug",
        &app.app_slug,
        "--email-template",
        dir,
    ];
    server.run_cli(&args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_app_mails_with_its_own_template_and_a_bad_one_changes_nothing() {
    // Arrange: two apps; one gets a template from a directory.
    let scratch = crate::smtp_sink::Scratch::new("e2e-template-mail");
    let Some((sink, server)) = smtp_server(&scratch).await else {
        return;
    };
    let own = server.create_app("Own & Co", &unique_slug("own")).await;
    let plain = server.create_app("Plain", &unique_slug("plain")).await;
    let files = crate::smtp_sink::Scratch::new("e2e-template-files");
    let (good, bad) = (files.0.join("good"), files.0.join("bad"));
    for (dir, html) in [
        (&good, "<h1>{{app_name}}</h1><p id=\"c\">{{code}}</p>"),
        (&bad, "<p>no code</p>"),
    ] {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(
            dir.join("subject.txt"),
            "{{code}} signs you in to {{app_name}}\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("body.txt"),
            "Welcome back. Code: {{code}}, valid {{expires_in_minutes}} min.",
        )
        .unwrap();
        std::fs::write(dir.join("body.html"), html).unwrap();
    }
    let set = email_template(&server, &own, good.to_str().unwrap()).await;
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );

    // Act
    let refused = email_template(&server, &own, bad.to_str().unwrap()).await;
    let (own_email, plain_email) = (unique_email(), unique_email());
    let own_sent = send_otp(&server, &own, json!({ "email": own_email })).await;
    let plain_sent = send_otp(&server, &plain, json!({ "email": plain_email })).await;
    let received = mail_received(&sink, 2).await;
    let reset = email_template(&server, &own, "default").await;
    send_otp(&server, &own, json!({ "email": unique_email() }))
        .await
        .assert_ok();
    let after_reset = mail_received(&sink, 3).await;

    // Assert
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("email-template.html") && said.contains("{{code}}"),
        "{said}"
    );
    own_sent.assert_ok();
    plain_sent.assert_ok();
    let mail_to = |to: &str| {
        received
            .iter()
            .find(|mail| mail["headers"]["to"] == to)
            .unwrap_or_else(|| panic!("nothing mailed to {to}: {received:?}"))
    };
    let own_mail = mail_to(&own_email);
    let subject = own_mail["headers"]["subject"].as_str().unwrap_or_default();
    let code = &subject[..6];
    assert_eq!(
        subject,
        format!("{code} signs you in to Own & Co"),
        "the bad template changed nothing"
    );
    assert_eq!(
        own_mail["parts"]["text/plain"]
            .as_str()
            .unwrap_or_default()
            .trim_end(),
        format!("Welcome back. Code: {code}, valid 5 min.")
    );
    assert_eq!(
        own_mail["parts"]["text/html"]
            .as_str()
            .unwrap_or_default()
            .trim_end(),
        format!("<h1>Own &amp; Co</h1><p id=\"c\">{code}</p>")
    );
    verify_otp(&server, &own, &own_sent.str("otp_request_id"), code)
        .await
        .assert_ok();
    assert_eq!(
        mail_to(&plain_email)["headers"]["subject"],
        "Your Plain verification code"
    );
    assert!(reset.status.success());
    let newest = after_reset
        .iter()
        .find(|mail| {
            mail["headers"]["to"] != own_email.as_str()
                && mail["headers"]["to"] != plain_email.as_str()
        })
        .unwrap();
    assert_eq!(
        newest["headers"]["subject"],
        "Your Own & Co verification code"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_code_arrives_by_email_through_a_real_smtp_server() {
    // Arrange: aiosmtpd on loopback, requiring a login.
    if !crate::smtp_sink::aiosmtpd() {
        return;
    }
    let scratch = crate::smtp_sink::Scratch::new("e2e-mail");
    let sink = crate::smtp_sink::Sink::start(&scratch.0, &["--auth", "engine:mail-pass"]).await;
    let server = TestServer::builder()
        .env("AUTH_NOTIFIER", "smtp")
        .env(
            "AUTH_SMTP_URL",
            format!("smtp://engine:mail-pass@127.0.0.1:{}", sink.port),
        )
        .env("AUTH_SMTP_FROM", "login@example.com")
        .env("AUTH_SMTP_FROM_NAME", "Example Login")
        .start()
        .await;
    let app = server.create_app("Mail <Me>", &unique_slug("mail")).await;
    let email = unique_email();

    // Act
    let sent = send_otp(&server, &app, json!({ "email": email })).await;

    // Assert
    sent.assert_ok();
    let received = mail_received(&sink, 1).await;
    let mail = &received[0];
    assert_eq!(mail["authenticated"], true);
    assert_eq!(mail["headers"]["from"], "Example Login <login@example.com>");
    assert_eq!(mail["headers"]["to"], email.as_str());
    assert_eq!(
        mail["headers"]["subject"],
        "Your Mail <Me> verification code"
    );
    let text = mail["parts"]["text/plain"].as_str().unwrap_or_default();
    let html = mail["parts"]["text/html"].as_str().unwrap_or_default();
    let code: String = text.chars().take(6).collect();
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{text}");
    assert!(html.contains(&format!(">{code}</p>")), "{html}");
    assert!(
        html.contains("Mail &lt;Me&gt;"),
        "the app name is escaped: {html}"
    );
    verify_otp(&server, &app, &sent.str("otp_request_id"), &code)
        .await
        .assert_ok();
}
