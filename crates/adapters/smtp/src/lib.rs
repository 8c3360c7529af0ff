#![doc = include_str!("../README.md")]

mod mailer;
mod template;

pub use mailer::{SmtpMailer, SmtpSettings, SmtpSetupError};
pub use template::{EmailTemplates, Rendered, TemplateError};
