//! Delivery through the operator's own service: one JSON POST per code.

use async_trait::async_trait;
use auth_domain::Channel;
use auth_ports::{DeliveryError, Notifier, OtpMessage};
use std::time::Duration;

/// POSTs `{"channel","to","code","message","app_slug","otp_request_id"}` to a URL and counts any
/// 2xx answer within the timeout as delivered.
#[derive(Debug, Clone)]
pub struct WebhookNotifier {
    client: reqwest::Client,
    url: reqwest::Url,
}

/// The webhook could not be set up.
#[derive(Debug, thiserror::Error)]
#[error("webhook notifier: {0}")]
pub struct WebhookSetupError(String);

#[derive(serde::Serialize)]
struct Payload<'a> {
    channel: &'a str,
    to: &'a str,
    code: &'a str,
    message: &'a str,
    app_slug: &'a str,
    otp_request_id: &'a str,
}

impl WebhookNotifier {
    /// # Errors
    /// [`WebhookSetupError`] for a URL that is not http(s) or a client that cannot be built.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, WebhookSetupError> {
        let url = reqwest::Url::parse(url)
            .map_err(|e| WebhookSetupError(format!("AUTH_WEBHOOK_URL is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(WebhookSetupError(
                "AUTH_WEBHOOK_URL must be http:// or https://".into(),
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| WebhookSetupError(e.to_string()))?;
        Ok(Self { client, url })
    }
}

#[async_trait]
impl Notifier for WebhookNotifier {
    fn supports(&self, _channel: Channel) -> bool {
        true
    }

    async fn deliver(&self, message: &OtpMessage) -> Result<(), DeliveryError> {
        let payload = Payload {
            channel: message.channel.as_str(),
            to: &message.to,
            code: message.code.reveal(),
            message: &message.message,
            app_slug: &message.app_slug,
            otp_request_id: &message.otp_request_id,
        };
        let body = serde_json::to_vec(&payload).map_err(|e| DeliveryError(e.to_string()))?;
        let response = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            // reqwest's error text can name the URL but never the body, so no code leaks here.
            .map_err(|e| DeliveryError(format!("webhook request failed: {}", e.without_url())))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(DeliveryError(format!(
                "webhook answered {}",
                response.status()
            )))
        }
    }
}
