//! Reading configuration: defaults, ranges, and what each delivery needs.

use super::*;
use auth_sms::SmsDialect;
use time::Duration;

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn defaults_run_a_development_engine_on_sqlite() {
    let config = Config::from_vars(vars(&[])).unwrap();
    assert_eq!(
        config.database_url,
        DatabaseUrl::Sqlite("./data/auth-engine.db".into())
    );
    assert_eq!(config.listen_addr.to_string(), "127.0.0.1:8080");
    assert_eq!(config.notifier, NotifierKind::Console);
    assert_eq!(config.tokens.reuse_grace, Duration::seconds(10));
    assert_eq!(config.otp.ttl, Duration::seconds(300));
    assert_eq!(config.migration_database_url, config.database_url);
}

#[test]
fn the_schema_owner_connects_apart_from_the_runtime_role() {
    let config = Config::from_vars(vars(&[
        ("AUTH_DATABASE_URL", "postgres://runtime@db/auth"),
        ("AUTH_MIGRATION_DATABASE_URL", "postgres://owner@db/auth"),
    ]))
    .unwrap();
    assert_eq!(
        config.migration_database_url,
        DatabaseUrl::Postgres("postgres://owner@db/auth".into())
    );
    assert_eq!(
        config.database_url,
        DatabaseUrl::Postgres("postgres://runtime@db/auth".into())
    );
}

/// base64 of 32 bytes with 32 distinct values.
const STRONG_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

#[test]
fn production_refuses_every_unsafe_setting_at_once() {
    let error = Config::from_vars(vars(&[
        ("AUTH_ENV", "production"),
        (
            "AUTH_MASTER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ),
        ("AUTH_PUBLIC_URL", "http://auth.example.com"),
    ]))
    .unwrap_err();
    assert_eq!(
        error.variables(),
        ["AUTH_NOTIFIER", "AUTH_MASTER_KEY", "AUTH_PUBLIC_URL"]
    );
    let message = error.to_string();
    assert!(message.starts_with("3 settings must change:"), "{message}");

    let webhook = [
        ("AUTH_ENV", "production"),
        ("AUTH_NOTIFIER", "webhook"),
        ("AUTH_WEBHOOK_URL", "http://hooks.example.com/codes"),
    ];
    assert_eq!(
        Config::from_vars(vars(&webhook)).unwrap_err().variables(),
        ["AUTH_MASTER_KEY", "AUTH_PUBLIC_URL", "AUTH_WEBHOOK_URL"]
    );
}

#[test]
fn production_starts_with_https_a_strong_key_and_loopback_webhooks() {
    let safe = [
        ("AUTH_ENV", "production"),
        ("AUTH_NOTIFIER", "webhook"),
        ("AUTH_WEBHOOK_URL", "http://127.0.0.1:9/x"),
        ("AUTH_MASTER_KEY", STRONG_KEY),
        ("AUTH_PUBLIC_URL", "https://auth.example.com"),
    ];
    assert!(Config::from_vars(vars(&safe)).is_ok());
    let mut sms = safe.to_vec();
    sms[1] = ("AUTH_NOTIFIER", "sms");
    sms.push(("AUTH_SMS_URL", "http://sms.example.com/send"));
    assert_eq!(
        Config::from_vars(vars(&sms)).unwrap_err().variables(),
        ["AUTH_SMS_URL"]
    );
}

#[test]
fn the_send_ceiling_per_identifier_must_be_five_times_the_one_per_address() {
    let refused = Config::from_vars(vars(&[
        ("AUTH_OTP_SENDS_PER_IDENTIFIER_PER_IP_PER_DAY", "20"),
        ("AUTH_OTP_SENDS_PER_IDENTIFIER_PER_DAY", "99"),
    ]))
    .unwrap_err();
    assert_eq!(
        refused.variables(),
        ["AUTH_OTP_SENDS_PER_IDENTIFIER_PER_DAY"]
    );
    let limits = Config::from_vars(vars(&[])).unwrap().limits;
    assert!(limits.sends_per_identifier_per_day >= 5 * limits.sends_per_identifier_per_ip_per_day);
    assert_eq!(
        Config::from_vars(vars(&[("AUTH_OTP_FAILURES_PER_IDENTIFIER_PER_DAY", "101")]))
            .unwrap_err()
            .variables(),
        ["AUTH_OTP_FAILURES_PER_IDENTIFIER_PER_DAY"]
    );
}

#[test]
fn delivery_ceilings_and_the_engine_wide_email_cap_are_read() {
    let limits = Config::from_vars(vars(&[
        ("AUTH_APP_SMS_PER_DAY_MAX", "50"),
        ("AUTH_APP_EMAIL_PER_DAY_MAX", "70"),
        ("AUTH_EMAIL_PER_DAY", "900"),
    ]))
    .unwrap()
    .limits;
    assert_eq!(
        (
            limits.app_sms_per_day_max,
            limits.app_emails_per_day_max,
            limits.emails_per_day_global
        ),
        (50, 70, 900)
    );
    let defaults = Config::from_vars(vars(&[])).unwrap().limits;
    assert_eq!(
        (
            defaults.app_sms_per_day_max,
            defaults.app_emails_per_day_max
        ),
        (1000, 10_000)
    );
}

#[test]
fn out_of_range_settings_name_their_variable() {
    let refused =
        |pairs: &[(&str, &str)]| Config::from_vars(vars(pairs)).unwrap_err().variables()[0];
    assert_eq!(
        refused(&[("AUTH_REFRESH_REUSE_GRACE_SECS", "61")]),
        "AUTH_REFRESH_REUSE_GRACE_SECS"
    );
    assert_eq!(
        refused(&[("AUTH_ACCESS_TOKEN_TTL_SECS", "59")]),
        "AUTH_ACCESS_TOKEN_TTL_SECS"
    );
    assert_eq!(
        refused(&[("AUTH_OTP_TTL_SECS", "five")]),
        "AUTH_OTP_TTL_SECS"
    );
    assert_eq!(
        refused(&[("AUTH_DATABASE_URL", "mysql://x")]),
        "AUTH_DATABASE_URL"
    );
    assert_eq!(
        refused(&[("AUTH_MIGRATION_DATABASE_URL", "postgres://owner@db/auth")]),
        "AUTH_MIGRATION_DATABASE_URL",
        "beside SQLite"
    );
    assert_eq!(refused(&[("AUTH_NOTIFIER", "webhook")]), "AUTH_WEBHOOK_URL");
    assert_eq!(
        refused(&[("AUTH_AUDIT_SEAL_INTERVAL_MS", "99")]),
        "AUTH_AUDIT_SEAL_INTERVAL_MS"
    );
}

#[test]
fn sms_delivery_names_each_setting_its_provider_still_needs() {
    let refused =
        |pairs: &[(&str, &str)]| Config::from_vars(vars(pairs)).unwrap_err().variables()[0];
    let twilio = [
        ("AUTH_NOTIFIER", "sms"),
        ("AUTH_SMS_PROVIDER", "twilio"),
        ("AUTH_TWILIO_ACCOUNT_SID", "AC1"),
        ("AUTH_TWILIO_AUTH_TOKEN", "t"),
    ];
    assert_eq!(refused(&[("AUTH_NOTIFIER", "sms")]), "AUTH_SMS_URL");
    assert_eq!(refused(&twilio), "AUTH_TWILIO_FROM");
    assert_eq!(
        refused(&[
            ("AUTH_NOTIFIER", "sms"),
            ("AUTH_SMS_PROVIDER", "carrier-pigeon")
        ]),
        "AUTH_SMS_PROVIDER"
    );
    let mut complete = twilio.to_vec();
    complete.push(("AUTH_TWILIO_FROM", "+15005550006"));
    let config = Config::from_vars(vars(&complete)).unwrap();
    assert_eq!(
        config.notifier,
        NotifierKind::Gateways {
            sms: Some((
                SmsDialect::Twilio {
                    base_url: "https://api.twilio.com".into(),
                    account_sid: "AC1".into(),
                    auth_token: "t".into(),
                    from: "+15005550006".into(),
                },
                std::time::Duration::from_secs(10),
            )),
            email: None,
        }
    );
}

#[test]
fn smtp_delivery_needs_a_mail_server_url_and_a_sender() {
    let refused =
        |pairs: &[(&str, &str)]| Config::from_vars(vars(pairs)).unwrap_err().variables()[0];
    assert_eq!(refused(&[("AUTH_NOTIFIER", "smtp")]), "AUTH_SMTP_URL");
    assert_eq!(
        refused(&[("AUTH_NOTIFIER", "smtp"), ("AUTH_SMTP_URL", "http://mail")]),
        "AUTH_SMTP_URL"
    );
    assert_eq!(
        refused(&[
            ("AUTH_NOTIFIER", "smtp"),
            ("AUTH_SMTP_URL", "smtp://mail:587?tls=required")
        ]),
        "AUTH_SMTP_FROM"
    );
    assert_eq!(
        refused(&[
            ("AUTH_NOTIFIER", "smtp+sms"),
            ("AUTH_SMTP_URL", "smtps://mail"),
            ("AUTH_SMTP_FROM", "noreply@example.com")
        ]),
        "AUTH_SMS_URL",
        "smtp+sms needs both channels' settings"
    );
    let config = Config::from_vars(vars(&[
        ("AUTH_NOTIFIER", "smtp"),
        ("AUTH_SMTP_URL", "smtps://mail"),
        ("AUTH_SMTP_FROM", "noreply@example.com"),
    ]))
    .unwrap();
    assert!(matches!(
        config.notifier,
        NotifierKind::Gateways {
            sms: None,
            email: Some(_)
        }
    ));
}
