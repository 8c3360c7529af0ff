#![doc = include_str!("../README.md")]

mod mailer;

pub use mailer::{SmtpMailer, SmtpSettings, SmtpSetupError};
