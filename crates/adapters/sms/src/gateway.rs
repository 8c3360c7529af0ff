//! One SMS gateway, in the dialect the operator configured, with one bounded retry.

use async_trait::async_trait;
use auth_domain::Channel;
use auth_ports::{DeliveryError, Notifier, OtpMessage};
use reqwest::StatusCode;
use std::time::Duration;

/// The pause before the one retry of a transient failure.
const RETRY_AFTER: Duration = Duration::from_millis(250);

/// How the gateway is spoken to.
#[derive(Clone, PartialEq, Eq)]
pub enum SmsDialect {
    /// `POST url` with `{"to", "message"}`, and a bearer token when one is set.
    Json { url: String, token: Option<String> },
    /// Twilio's Messages API: a form post with basic auth.
    Twilio {
        base_url: String,
        account_sid: String,
        auth_token: String,
        from: String,
    },
}

impl std::fmt::Debug for SmsDialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens stay out of debug output.
        match self {
            Self::Json { url, token } => f
                .debug_struct("Json")
                .field("url", url)
                .field("token", &token.as_ref().map(|_| "***"))
                .finish(),
            Self::Twilio {
                base_url,
                account_sid,
                from,
                ..
            } => f
                .debug_struct("Twilio")
                .field("base_url", base_url)
                .field("account_sid", account_sid)
                .field("from", from)
                .finish_non_exhaustive(),
        }
    }
}

/// The gateway could not be set up; the text names the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SMS gateway: {0}")]
pub struct SmsSetupError(String);

/// Delivers `sms` messages through an HTTP gateway.
#[derive(Debug, Clone)]
pub struct SmsGateway {
    client: reqwest::Client,
    endpoint: reqwest::Url,
    dialect: SmsDialect,
}

/// What one attempt came to.
enum Attempt {
    Accepted,
    /// Surely not delivered, and worth one more try.
    Transient(String),
    Failed(String),
}

fn http_url(setting: &str, raw: &str) -> Result<reqwest::Url, SmsSetupError> {
    let url = reqwest::Url::parse(raw)
        .map_err(|e| SmsSetupError(format!("{setting} is not a URL: {e}")))?;
    if matches!(url.scheme(), "http" | "https") {
        Ok(url)
    } else {
        Err(SmsSetupError(format!(
            "{setting} must be http:// or https://"
        )))
    }
}

impl SmsGateway {
    /// # Errors
    /// [`SmsSetupError`] for a URL that is not http(s) or a client that cannot be built.
    pub fn new(dialect: SmsDialect, timeout: Duration) -> Result<Self, SmsSetupError> {
        let endpoint = match &dialect {
            SmsDialect::Json { url, .. } => http_url("AUTH_SMS_URL", url)?,
            SmsDialect::Twilio {
                base_url,
                account_sid,
                ..
            } => {
                let base = http_url("AUTH_TWILIO_BASE_URL", base_url)?;
                let path = format!("2010-04-01/Accounts/{account_sid}/Messages.json");
                let mut base = base;
                if !base.path().ends_with('/') {
                    let with_slash = format!("{}/", base.path());
                    base.set_path(&with_slash);
                }
                base.join(&path)
                    .map_err(|e| SmsSetupError(format!("AUTH_TWILIO_ACCOUNT_SID: {e}")))?
            }
        };
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| SmsSetupError(e.to_string()))?;
        Ok(Self {
            client,
            endpoint,
            dialect,
        })
    }

    async fn attempt(&self, message: &OtpMessage) -> Attempt {
        let request = self.client.post(self.endpoint.clone());
        let request = match &self.dialect {
            SmsDialect::Json { token, .. } => {
                let body = serde_json::json!({ "to": message.to, "message": message.message });
                let request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.to_string());
                match token {
                    Some(token) => request.bearer_auth(token),
                    None => request,
                }
            }
            SmsDialect::Twilio {
                account_sid,
                auth_token,
                from,
                ..
            } => request.basic_auth(account_sid, Some(auth_token)).form(&[
                ("To", message.to.as_str()),
                ("From", from.as_str()),
                ("Body", message.message.as_str()),
            ]),
        };
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                if status.is_success() {
                    Attempt::Accepted
                } else if matches!(
                    status,
                    StatusCode::TOO_MANY_REQUESTS
                        | StatusCode::BAD_GATEWAY
                        | StatusCode::SERVICE_UNAVAILABLE
                        | StatusCode::GATEWAY_TIMEOUT
                ) {
                    Attempt::Transient(format!("SMS gateway answered {status}"))
                } else {
                    Attempt::Failed(format!("SMS gateway answered {status}"))
                }
            }
            // Nothing reached the gateway: safe to try again.
            Err(error) if error.is_connect() => {
                Attempt::Transient(format!("SMS gateway unreachable: {}", error.without_url()))
            }
            // The gateway may have sent it: another try could text the person twice.
            Err(error) if error.is_timeout() => Attempt::Failed("SMS gateway timed out".to_owned()),
            Err(error) => Attempt::Failed(format!(
                "SMS gateway request failed: {}",
                error.without_url()
            )),
        }
    }
}

#[async_trait]
impl Notifier for SmsGateway {
    fn supports(&self, channel: Channel) -> bool {
        channel == Channel::Sms
    }

    async fn deliver(&self, message: &OtpMessage) -> Result<(), DeliveryError> {
        if message.channel != Channel::Sms {
            return Err(DeliveryError("the SMS gateway only sends SMS".into()));
        }
        match self.attempt(message).await {
            Attempt::Accepted => return Ok(()),
            Attempt::Failed(status) => return Err(DeliveryError(status)),
            Attempt::Transient(status) => {
                tracing::info!(%status, "SMS gateway failed transiently; retrying once");
            }
        }
        tokio::time::sleep(RETRY_AFTER).await;
        match self.attempt(message).await {
            Attempt::Accepted => Ok(()),
            Attempt::Transient(status) | Attempt::Failed(status) => {
                Err(DeliveryError(format!("{status} (after one retry)")))
            }
        }
    }
}
