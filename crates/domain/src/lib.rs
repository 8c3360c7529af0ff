#![doc = include_str!("../README.md")]

pub mod app;
pub mod app_settings;
pub mod audit;
pub mod chain;
pub mod claims;
pub mod ct;
pub mod delivery;
pub mod email_template;
pub mod identifier;
pub mod ids;
pub mod license;
pub mod otp;
pub mod session;
pub mod tenant;
pub mod user;

pub use app::{App, AppSlug, PreviousSecret, SigningKey};
pub use audit::{AuditContext, AuditEvent, AuditKind, Outcome};
pub use claims::AccessClaims;
pub use email_template::EmailTemplate;
pub use identifier::{Channel, Email, Identifier, Phone};
pub use tenant::{Membership, RoleName, Tenant, TenantClaims, TenantSlug};
pub use user::User;

/// Why a piece of input was refused; the text is safe to show to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub &'static str);
