//! Operator configuration from the environment. Every problem names its variable.

use auth_domain::otp::OtpPolicy;
use auth_domain::session::TokenPolicy;
use auth_sms::SmsDialect;
use auth_smtp::SmtpSettings;
use auth_store::DatabaseUrl;
use auth_usecases::Limits;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::str::FromStr;
use time::Duration;

/// `development` (the default) or `production`, which refuses unsafe settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// How codes reach people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotifierKind {
    Console,
    Webhook {
        url: String,
        timeout: std::time::Duration,
    },
    /// SMS through a gateway and email through a mail server; a channel left `None` is not
    /// delivered at all.
    Gateways {
        sms: Option<(SmsDialect, std::time::Duration)>,
        email: Option<SmtpSettings>,
    },
}

/// Everything the engine reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub database_url: DatabaseUrl,
    pub pool_size: usize,
    pub listen_addr: SocketAddr,
    pub public_url: Option<String>,
    /// Base64 of 32 bytes; `None` means "generate one under ./data" (development only).
    pub master_key: Option<String>,
    pub notifier: NotifierKind,
    pub otp: OtpPolicy,
    pub tokens: TokenPolicy,
    pub limits: Limits,
    /// How often each process seals waiting audit records.
    pub seal_every: std::time::Duration,
    pub log_filter: String,
}

/// A setting that cannot be used, with the variable it came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn error(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

struct Env(HashMap<String, String>);

impl Env {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.trim().is_empty())
    }

    fn number<T: FromStr + PartialOrd + Copy + std::fmt::Display>(
        &self,
        name: &'static str,
        default: T,
        min: T,
        max: T,
    ) -> Result<T, ConfigError> {
        let Some(raw) = self.get(name) else {
            return Ok(default);
        };
        let value: T = raw
            .trim()
            .parse()
            .map_err(|_| error(name, format!("must be a whole number, got {raw:?}")))?;
        if value < min || value > max {
            return Err(error(name, format!("must be between {min} and {max}")));
        }
        Ok(value)
    }

    fn seconds(
        &self,
        name: &'static str,
        default: i64,
        min: i64,
        max: i64,
    ) -> Result<Duration, ConfigError> {
        self.number(name, default, min, max).map(Duration::seconds)
    }
}

/// The SMS gateway and its request timeout.
fn sms_gateway(env: &Env) -> Result<(SmsDialect, std::time::Duration), ConfigError> {
    let timeout = env.number("AUTH_SMS_TIMEOUT_SECS", 10, 1, 60)?;
    Ok((sms_dialect(env)?, std::time::Duration::from_secs(timeout)))
}

/// The mail server and the sender, for `smtp` delivery.
fn smtp_settings(env: &Env) -> Result<SmtpSettings, ConfigError> {
    let required = |name: &'static str| {
        env.get(name)
            .map(str::to_owned)
            .ok_or_else(|| error(name, "is required with AUTH_NOTIFIER=smtp or smtp+sms"))
    };
    let url = required("AUTH_SMTP_URL")?;
    if !(url.starts_with("smtp://") || url.starts_with("smtps://")) {
        return Err(error(
            "AUTH_SMTP_URL",
            "must start with smtp:// or smtps://",
        ));
    }
    Ok(SmtpSettings {
        url,
        from_address: required("AUTH_SMTP_FROM")?,
        from_name: env.get("AUTH_SMTP_FROM_NAME").map(str::to_owned),
        timeout: std::time::Duration::from_secs(env.number("AUTH_SMTP_TIMEOUT_SECS", 10, 1, 60)?),
        ca_file: env.get("AUTH_SMTP_CA_FILE").map(std::path::PathBuf::from),
    })
}

/// The SMS gateway `AUTH_SMS_PROVIDER` names, with the settings it needs.
fn sms_dialect(env: &Env) -> Result<SmsDialect, ConfigError> {
    let required = |name: &'static str, provider: &str| {
        env.get(name).map(str::to_owned).ok_or_else(|| {
            error(
                name,
                format!("is required with AUTH_NOTIFIER=sms and AUTH_SMS_PROVIDER={provider}"),
            )
        })
    };
    match env.get("AUTH_SMS_PROVIDER").unwrap_or("json") {
        "json" => Ok(SmsDialect::Json {
            url: required("AUTH_SMS_URL", "json")?,
            token: env.get("AUTH_SMS_TOKEN").map(str::to_owned),
        }),
        "twilio" => Ok(SmsDialect::Twilio {
            base_url: env
                .get("AUTH_TWILIO_BASE_URL")
                .unwrap_or("https://api.twilio.com")
                .to_owned(),
            account_sid: required("AUTH_TWILIO_ACCOUNT_SID", "twilio")?,
            auth_token: required("AUTH_TWILIO_AUTH_TOKEN", "twilio")?,
            from: required("AUTH_TWILIO_FROM", "twilio")?,
        }),
        other => Err(error(
            "AUTH_SMS_PROVIDER",
            format!("must be json or twilio, got {other:?}"),
        )),
    }
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] for the first unusable variable.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads configuration from `vars` (the environment, or a test's map).
    ///
    /// # Errors
    /// [`ConfigError`] for the first unusable variable, or a production setup that is unsafe.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let env = Env(vars.into_iter().collect());
        let environment = match env.get("AUTH_ENV").unwrap_or("development") {
            "development" => Environment::Development,
            "production" => Environment::Production,
            other => {
                return Err(error(
                    "AUTH_ENV",
                    format!("must be development or production, got {other:?}"),
                ));
            }
        };
        let database_url = DatabaseUrl::parse(
            env.get("AUTH_DATABASE_URL")
                .unwrap_or("sqlite://./data/auth-engine.db"),
        )
        .map_err(|problem| error("AUTH_DATABASE_URL", problem))?;
        let listen_addr = env
            .get("AUTH_LISTEN_ADDR")
            .unwrap_or("127.0.0.1:8080")
            .parse()
            .map_err(|_| error("AUTH_LISTEN_ADDR", "must be IP:PORT, e.g. 127.0.0.1:8080"))?;
        let public_url = env
            .get("AUTH_PUBLIC_URL")
            .map(|url| url.trim_end_matches('/').to_owned());
        if public_url
            .as_ref()
            .is_some_and(|url| !(url.starts_with("http://") || url.starts_with("https://")))
        {
            return Err(error(
                "AUTH_PUBLIC_URL",
                "must start with http:// or https://",
            ));
        }
        let notifier = match env.get("AUTH_NOTIFIER").unwrap_or("console") {
            "console" => NotifierKind::Console,
            "webhook" => NotifierKind::Webhook {
                url: env
                    .get("AUTH_WEBHOOK_URL")
                    .ok_or_else(|| {
                        error("AUTH_WEBHOOK_URL", "is required with AUTH_NOTIFIER=webhook")
                    })?
                    .to_owned(),
                timeout: std::time::Duration::from_secs(env.number(
                    "AUTH_WEBHOOK_TIMEOUT_SECS",
                    5,
                    1,
                    60,
                )?),
            },
            "sms" => NotifierKind::Gateways {
                sms: Some(sms_gateway(&env)?),
                email: None,
            },
            "smtp" => NotifierKind::Gateways {
                sms: None,
                email: Some(smtp_settings(&env)?),
            },
            "smtp+sms" | "sms+smtp" => NotifierKind::Gateways {
                sms: Some(sms_gateway(&env)?),
                email: Some(smtp_settings(&env)?),
            },
            other => {
                return Err(error(
                    "AUTH_NOTIFIER",
                    format!("must be console, webhook, sms, smtp or smtp+sms, got {other:?}"),
                ));
            }
        };
        let otp = OtpPolicy {
            ttl: env.seconds("AUTH_OTP_TTL_SECS", 300, 1, 3600)?,
            max_attempts: env.number("AUTH_OTP_MAX_ATTEMPTS", 5, 1, 20)?,
            resend_cooldown: env.seconds("AUTH_OTP_RESEND_COOLDOWN_SECS", 60, 0, 3600)?,
        };
        let tokens = TokenPolicy {
            access_ttl: env.seconds("AUTH_ACCESS_TOKEN_TTL_SECS", 900, 60, 3600)?,
            session_ttl: env.seconds("AUTH_SESSION_TTL_SECS", 2_592_000, 300, 31_536_000)?,
            reuse_grace: env.seconds("AUTH_REFRESH_REUSE_GRACE_SECS", 10, 0, 60)?,
        };
        let limits = Limits {
            sends_per_identifier_per_day: env.number(
                "AUTH_OTP_SENDS_PER_IDENTIFIER_PER_DAY",
                10,
                1,
                1_000_000,
            )?,
            sends_per_ip_per_hour: env.number(
                "AUTH_OTP_SENDS_PER_IP_PER_HOUR",
                30,
                1,
                1_000_000,
            )?,
            verifies_per_ip_per_hour: env.number(
                "AUTH_OTP_VERIFIES_PER_IP_PER_HOUR",
                120,
                1,
                1_000_000,
            )?,
            failures_per_identifier_per_day: env.number(
                "AUTH_OTP_FAILURES_PER_IDENTIFIER_PER_DAY",
                15,
                1,
                1_000_000,
            )?,
            app_auth_failures_per_ip_per_hour: env.number(
                "AUTH_APP_AUTH_FAILURES_PER_IP_PER_HOUR",
                60,
                1,
                1_000_000,
            )?,
            license_checks_per_key_per_hour: env.number(
                "AUTH_LICENSE_CHECKS_PER_KEY_PER_HOUR",
                60,
                1,
                1_000_000,
            )?,
            license_checks_per_ip_per_hour: env.number(
                "AUTH_LICENSE_CHECKS_PER_IP_PER_HOUR",
                600,
                1,
                1_000_000,
            )?,
            sms_per_day_global: env.number("AUTH_SMS_GLOBAL_DAILY_CAP", 10_000, 0, 100_000_000)?,
        };
        let config = Self {
            environment,
            database_url,
            pool_size: env.number("AUTH_DATABASE_POOL_SIZE", 16, 1, 1024)?,
            listen_addr,
            public_url,
            master_key: env.get("AUTH_MASTER_KEY").map(str::to_owned),
            notifier,
            otp,
            tokens,
            limits,
            seal_every: std::time::Duration::from_millis(env.number(
                "AUTH_AUDIT_SEAL_INTERVAL_MS",
                1000,
                100,
                60_000,
            )?),
            log_filter: env
                .get("AUTH_LOG")
                .or_else(|| env.get("RUST_LOG"))
                .unwrap_or("info")
                .to_owned(),
        };
        config.refuse_unsafe_production()?;
        Ok(config)
    }

    fn refuse_unsafe_production(&self) -> Result<(), ConfigError> {
        if self.environment != Environment::Production {
            return Ok(());
        }
        if self.notifier == NotifierKind::Console {
            return Err(error(
                "AUTH_NOTIFIER",
                "console prints codes and is refused with AUTH_ENV=production",
            ));
        }
        if self.master_key.is_none() {
            return Err(error(
                "AUTH_MASTER_KEY",
                "is required with AUTH_ENV=production (a generated key is development only)",
            ));
        }
        if self.public_url.is_none() {
            return Err(error(
                "AUTH_PUBLIC_URL",
                "is required with AUTH_ENV=production",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn production_refuses_console_generated_key_and_missing_public_url() {
        let refused = |pairs: &[(&str, &str)]| Config::from_vars(vars(pairs)).unwrap_err().variable;
        assert_eq!(refused(&[("AUTH_ENV", "production")]), "AUTH_NOTIFIER");
        let webhook = [
            ("AUTH_ENV", "production"),
            ("AUTH_NOTIFIER", "webhook"),
            ("AUTH_WEBHOOK_URL", "http://127.0.0.1:9/x"),
        ];
        assert_eq!(refused(&webhook), "AUTH_MASTER_KEY");
        let mut keyed = webhook.to_vec();
        keyed.push((
            "AUTH_MASTER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ));
        assert_eq!(refused(&keyed), "AUTH_PUBLIC_URL");
        keyed.push(("AUTH_PUBLIC_URL", "https://auth.example.com"));
        assert!(Config::from_vars(vars(&keyed)).is_ok());
    }

    #[test]
    fn out_of_range_settings_name_their_variable() {
        let refused = |pairs: &[(&str, &str)]| Config::from_vars(vars(pairs)).unwrap_err().variable;
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
        assert_eq!(refused(&[("AUTH_NOTIFIER", "webhook")]), "AUTH_WEBHOOK_URL");
        assert_eq!(
            refused(&[("AUTH_AUDIT_SEAL_INTERVAL_MS", "99")]),
            "AUTH_AUDIT_SEAL_INTERVAL_MS"
        );
    }

    #[test]
    fn sms_delivery_names_each_setting_its_provider_still_needs() {
        let refused = |pairs: &[(&str, &str)]| Config::from_vars(vars(pairs)).unwrap_err().variable;
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
        let refused = |pairs: &[(&str, &str)]| Config::from_vars(vars(pairs)).unwrap_err().variable;
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
}
