//! Delivery of a code to the end user.

use async_trait::async_trait;
use auth_domain::otp::OtpCode;
use auth_domain::{Channel, EmailTemplate};

/// One code on its way to one person.
#[derive(Debug, Clone)]
pub struct OtpMessage {
    pub channel: Channel,
    /// The phone number or email address, in full.
    pub to: String,
    pub code: OtpCode,
    /// The text the person reads; it contains the code.
    pub message: String,
    /// The app's display name, for templates.
    pub app_name: String,
    /// Whole minutes until the code expires, for templates.
    pub expires_in_minutes: i64,
    /// The app's own email template; `None` for the engine's default. Only set for email.
    pub email_template: Option<EmailTemplate>,
    pub app_slug: String,
    pub otp_request_id: String,
}

/// Why a code could not be handed to the delivery channel: the provider's status as the engine
/// saw it (`HTTP 503`, `timed out`, `SMTP 550 …`). The text never contains the code or the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("delivery failed: {0}")]
pub struct DeliveryError(pub String);

/// Hands codes to a delivery channel (SMS gateway, mail server, webhook, console).
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Whether this engine can deliver on `channel` at all (it is configured).
    fn supports(&self, channel: Channel) -> bool;
    /// MUST return [`DeliveryError`] unless the channel accepted the message.
    async fn deliver(&self, message: &OtpMessage) -> Result<(), DeliveryError>;
}
