//! Email delivery over SMTP: one pooled lettre transport, configured by URL.

use async_trait::async_trait;
use auth_domain::{Channel, EmailTemplate};
use auth_ports::{DeliveryError, Notifier, OtpMessage};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;
use std::time::Duration;

/// Connections kept open to the mail server per engine process.
const POOL_SIZE: u32 = 8;

/// Where and how to send mail.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// `smtp://[user:password@]host[:port][?tls=required|opportunistic]` or `smtps://…`.
    pub url: String,
    pub from_address: String,
    pub from_name: Option<String>,
    pub timeout: Duration,
    /// A PEM root certificate to trust besides the platform's (a private CA).
    pub ca_file: Option<PathBuf>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold the password.
        f.debug_struct("SmtpSettings")
            .field("url", &"***")
            .field("from_address", &self.from_address)
            .field("from_name", &self.from_name)
            .field("timeout", &self.timeout)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// The mailer could not be set up; the text names the setting and never holds the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SMTP: {0}")]
pub struct SmtpSetupError(String);

/// Sends each code as a two-part (text and HTML) email.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// For apps without a template of their own.
    default_template: EmailTemplate,
    /// The most one delivery may take, whatever the server does (it may stall between commands).
    deadline: Duration,
}

impl std::fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// The host part of an SMTP URL, for TLS server-name checks.
fn host_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port
            .split_once(']')
            .map(|(h, _)| h.trim_start_matches('['))?
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then_some(host)
}

impl SmtpMailer {
    /// # Errors
    /// [`SmtpSetupError`] naming the setting that cannot be used.
    pub fn new(settings: &SmtpSettings) -> Result<Self, SmtpSetupError> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.url)
            .map_err(|e| SmtpSetupError(format!("AUTH_SMTP_URL: {e}")))?
            .timeout(Some(settings.timeout))
            .pool_config(PoolConfig::new().max_size(POOL_SIZE));
        if let Some(path) = &settings.ca_file {
            let pem = std::fs::read(path).map_err(|e| {
                SmtpSetupError(format!("AUTH_SMTP_CA_FILE {}: {e}", path.display()))
            })?;
            let root = Certificate::from_pem(&pem)
                .map_err(|e| SmtpSetupError(format!("AUTH_SMTP_CA_FILE: {e}")))?;
            let host = host_of(&settings.url)
                .ok_or_else(|| SmtpSetupError("AUTH_SMTP_URL has no host".into()))?;
            let parameters = TlsParameters::builder(host.to_owned())
                .add_root_certificate(root)
                .build_rustls()
                .map_err(|e| SmtpSetupError(format!("AUTH_SMTP_CA_FILE: {e}")))?;
            let tls = if settings.url.starts_with("smtps://") {
                Tls::Wrapper(parameters)
            } else if settings.url.contains("tls=required") {
                Tls::Required(parameters)
            } else if settings.url.contains("tls=opportunistic") {
                Tls::Opportunistic(parameters)
            } else {
                return Err(SmtpSetupError(
                    "AUTH_SMTP_CA_FILE needs TLS: use smtps:// or ?tls=required".into(),
                ));
            };
            builder = builder.tls(tls);
        }
        let address = settings
            .from_address
            .parse()
            .map_err(|e| SmtpSetupError(format!("AUTH_SMTP_FROM: {e}")))?;
        Ok(Self {
            transport: builder.build(),
            from: Mailbox::new(settings.from_name.clone(), address),
            default_template: EmailTemplate::default(),
            deadline: settings.timeout,
        })
    }
}

#[async_trait]
impl Notifier for SmtpMailer {
    fn supports(&self, channel: Channel) -> bool {
        channel == Channel::Email
    }

    async fn deliver(&self, message: &OtpMessage) -> Result<(), DeliveryError> {
        if message.channel != Channel::Email {
            return Err(DeliveryError("the SMTP mailer only sends email".into()));
        }
        let to: Mailbox = message
            .to
            .parse()
            .map_err(|_| DeliveryError("the address is not one SMTP can send to".into()))?;
        let email = message
            .email_template
            .as_ref()
            .unwrap_or(&self.default_template)
            .render(
                &message.app_name,
                message.code.reveal(),
                message.expires_in_minutes,
            );
        let built = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject)
            .multipart(MultiPart::alternative_plain_html(email.text, email.html))
            .map_err(|e| DeliveryError(format!("the email could not be built: {e}")))?;
        let Ok(sent) = tokio::time::timeout(self.deadline, self.transport.send(built)).await else {
            return Err(DeliveryError("SMTP server timed out".to_owned()));
        };
        match sent {
            Ok(_) => Ok(()),
            // The server's own text may quote what it refused: report its status code only.
            Err(error) => Err(DeliveryError(match error.status() {
                Some(code) => format!("SMTP server answered {code}"),
                None if error.is_timeout() => "SMTP server timed out".to_owned(),
                None => format!("SMTP delivery failed: {error}"),
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn the_host_is_read_past_credentials_ports_and_options() {
        assert_eq!(host_of("smtp://mail.example.com"), Some("mail.example.com"));
        assert_eq!(
            host_of("smtps://u:p%40ss@mail.example.com:465"),
            Some("mail.example.com")
        );
        assert_eq!(
            host_of("smtp://localhost:2525?tls=required"),
            Some("localhost")
        );
        assert_eq!(host_of("smtp://[::1]:25"), Some("::1"));
        assert_eq!(host_of("not a url"), None);
    }
}
