#![doc = include_str!("../README.md")]

mod app_auth;
mod app_controls;
mod apps;
mod archive;
mod audit;
mod error;
mod licenses;
mod limits;
mod logout;
mod maintenance;
mod me;
mod portal;
mod refresh;
mod roles;
mod sandbox;
mod send_limits;
mod send_otp;
mod service;
mod tenants;
#[cfg(test)]
mod test_kit;
mod tokens;
mod users;
mod verify_otp;

pub use app_auth::AppCredentials;
pub use app_controls::RotatedKey;
pub use apps::CreatedApp;
pub use archive::{ArchiveChunk, ArchiveError};
pub use audit::{ChainBreak, ChainOrigin, ChainReport, ExportError, MAX_EVENTS_PAGE};
pub use error::{AuthError, FieldProblem};
pub use licenses::{Activated, LicenseName, LicenseTerms, MAX_LICENSE_TOKEN_LIFETIME};
pub use logout::LogoutRequest;
pub use me::MeView;
pub use portal::{RotatedSecret, SettingsRequest};
pub use refresh::RefreshRequest;
pub use roles::{MembershipQuery, RoleRequest, RoleTarget};
pub use send_otp::{OtpSent, SendOtp};
pub use service::{AuthService, Caller, ClientAddr, Limits, Ports, RequestId, Settings};
pub use tenants::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page};
pub use tokens::TokenGrant;
pub use users::SESSIONS_SHOWN;
pub use verify_otp::VerifyOtpRequest;
