#![doc = include_str!("../README.md")]

mod app_auth;
mod apps;
mod error;
mod limits;
mod logout;
mod maintenance;
mod me;
mod refresh;
mod send_otp;
mod service;
#[cfg(test)]
mod test_kit;
mod tokens;
mod verify_otp;

pub use app_auth::AppCredentials;
pub use apps::CreatedApp;
pub use error::{AuthError, FieldProblem};
pub use logout::LogoutRequest;
pub use me::MeView;
pub use refresh::RefreshRequest;
pub use send_otp::{OtpSent, SendOtp};
pub use service::{AuthService, Caller, Limits, Ports, Settings};
pub use tokens::TokenGrant;
pub use verify_otp::VerifyOtpRequest;
