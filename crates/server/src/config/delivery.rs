//! How codes reach people: the notifier and each gateway's settings.

use auth_sms::SmsDialect;
use auth_smtp::SmtpSettings;

use super::env::{ConfigError, Env, error};

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

/// The notifier `AUTH_NOTIFIER` names, with the settings it needs.
pub(super) fn notifier(env: &Env) -> Result<NotifierKind, ConfigError> {
    Ok(match env.get("AUTH_NOTIFIER").unwrap_or("console") {
        "console" => NotifierKind::Console,
        "webhook" => NotifierKind::Webhook {
            url: env
                .get("AUTH_WEBHOOK_URL")
                .ok_or_else(|| error("AUTH_WEBHOOK_URL", "is required with AUTH_NOTIFIER=webhook"))?
                .to_owned(),
            timeout: std::time::Duration::from_secs(env.number(
                "AUTH_WEBHOOK_TIMEOUT_SECS",
                5,
                1,
                60,
            )?),
        },
        "sms" => NotifierKind::Gateways {
            sms: Some(sms_gateway(env)?),
            email: None,
        },
        "smtp" => NotifierKind::Gateways {
            sms: None,
            email: Some(smtp_settings(env)?),
        },
        "smtp+sms" | "sms+smtp" => NotifierKind::Gateways {
            sms: Some(sms_gateway(env)?),
            email: Some(smtp_settings(env)?),
        },
        other => {
            return Err(error(
                "AUTH_NOTIFIER",
                format!("must be console, webhook, sms, smtp or smtp+sms, got {other:?}"),
            ));
        }
    })
}

impl NotifierKind {
    /// The URLs codes travel to over HTTP, each with the variable that set it.
    pub(super) fn code_urls(&self) -> Vec<(&'static str, &str)> {
        match self {
            Self::Console => Vec::new(),
            Self::Webhook { url, .. } => vec![("AUTH_WEBHOOK_URL", url.as_str())],
            Self::Gateways { sms, .. } => match sms {
                Some((SmsDialect::Json { url, .. }, _)) => vec![("AUTH_SMS_URL", url.as_str())],
                Some((SmsDialect::Twilio { base_url, .. }, _)) => {
                    vec![("AUTH_TWILIO_BASE_URL", base_url.as_str())]
                }
                None => Vec::new(),
            },
        }
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
