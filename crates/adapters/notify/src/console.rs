//! Development delivery: the code is written to the server's standard error.

use async_trait::async_trait;
use auth_domain::Channel;
use auth_ports::{DeliveryError, Notifier, OtpMessage};
use std::io::Write as _;

/// Prints every code for a developer to copy. Production refuses it: codes would sit in logs.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsoleNotifier;

#[async_trait]
impl Notifier for ConsoleNotifier {
    fn supports(&self, _channel: Channel) -> bool {
        true
    }

    async fn deliver(&self, message: &OtpMessage) -> Result<(), DeliveryError> {
        let line = format!(
            "[console notifier, development only] {} code for {} (app {}, {}): {}\n",
            message.channel.as_str(),
            message.to,
            message.app_slug,
            message.otp_request_id,
            message.code.reveal()
        );
        std::io::stderr()
            .write_all(line.as_bytes())
            .map_err(|error| DeliveryError(error.to_string()))
    }
}
