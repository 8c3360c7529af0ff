#![doc = include_str!("../README.md")]

mod audit_key;
mod jws;
mod jwt;
mod keys;
mod mac;
mod random;
mod secrets;
mod vault;

pub use audit_key::Ed25519AuditKey;
pub use jwt::RsaTokens;
pub use keys::MasterKey;
pub use mac::HmacKeys;
pub use random::OsRandom;
pub use secrets::Argon2Secrets;
pub use vault::{KeyVault, Unsealable};
