#![doc = include_str!("../README.md")]

mod crypto;
mod notifier;
mod store;
mod system;

pub use crypto::{
    Digest, KeyMaterial, KeyedHasher, MacPurpose, PublicJwk, SecretHasher, TokenCodec, TokenError,
};
pub use notifier::{DeliveryError, Notifier, OtpMessage};
pub use store::*;
pub use system::{Clock, RandomSource};
