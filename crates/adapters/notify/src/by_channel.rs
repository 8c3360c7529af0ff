//! One notifier per channel: SMS through a gateway, email through a mail server.

use async_trait::async_trait;
use auth_domain::Channel;
use auth_ports::{DeliveryError, Notifier, OtpMessage};
use std::sync::Arc;

/// Hands each message to the notifier of its channel; a channel without one is not supported.
#[derive(Clone, Default)]
pub struct ByChannel {
    pub sms: Option<Arc<dyn Notifier>>,
    pub email: Option<Arc<dyn Notifier>>,
}

impl std::fmt::Debug for ByChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ByChannel")
            .field("sms", &self.sms.is_some())
            .field("email", &self.email.is_some())
            .finish()
    }
}

impl ByChannel {
    fn of(&self, channel: Channel) -> Option<&Arc<dyn Notifier>> {
        match channel {
            Channel::Sms => self.sms.as_ref(),
            Channel::Email => self.email.as_ref(),
        }
    }
}

#[async_trait]
impl Notifier for ByChannel {
    fn supports(&self, channel: Channel) -> bool {
        self.of(channel)
            .is_some_and(|notifier| notifier.supports(channel))
    }

    async fn deliver(&self, message: &OtpMessage) -> Result<(), DeliveryError> {
        match self.of(message.channel) {
            Some(notifier) => notifier.deliver(message).await,
            None => Err(DeliveryError(format!(
                "no {} delivery is configured",
                message.channel.as_str()
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth_domain::otp::OtpCode;
    use std::sync::Mutex;

    /// Remembers what it was handed.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    #[async_trait]
    impl Notifier for Recorder {
        fn supports(&self, _channel: Channel) -> bool {
            true
        }

        async fn deliver(&self, message: &OtpMessage) -> Result<(), DeliveryError> {
            self.0.lock().unwrap().push(message.to.clone());
            Ok(())
        }
    }

    fn message(channel: Channel, to: &str) -> OtpMessage {
        OtpMessage {
            channel,
            to: to.into(),
            code: OtpCode::from_random(123_456).unwrap(),
            message: "m".into(),
            app_name: "Demo".into(),
            expires_in_minutes: 5,
            email_template: None,
            app_slug: "a".into(),
            otp_request_id: "otp_a".into(),
        }
    }

    #[tokio::test]
    async fn each_message_goes_to_its_channels_notifier_and_a_missing_one_refuses() {
        let email = Arc::new(Recorder::default());
        let router = ByChannel {
            sms: None,
            email: Some(email.clone()),
        };

        let mailed = router
            .deliver(&message(Channel::Email, "a@example.com"))
            .await;
        let texted = router.deliver(&message(Channel::Sms, "+15550100")).await;

        assert!(router.supports(Channel::Email));
        assert!(!router.supports(Channel::Sms));
        assert_eq!(mailed, Ok(()));
        assert!(texted.is_err());
        assert_eq!(*email.0.lock().unwrap(), ["a@example.com"]);
    }
}
