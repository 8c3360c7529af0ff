#![doc = include_str!("../README.md")]

mod audit;
mod crypto;
mod licenses;
mod notifier;
mod sandbox;
mod store;
mod system;
mod tenants;

pub use audit::{AuditChain, EventFilter};
pub use crypto::{
    AuditPublicKey, AuditSigner, Digest, KeyMaterial, KeyedHasher, MacPurpose, PublicJwk,
    SecretHasher, TokenCodec, TokenError,
};
pub use licenses::{
    Activate, ActivateOutcome, Activation, CreateLicenseError, DeactivateOutcome, LicenseRef,
    LicenseStore, NewLicense, StatusOutcome,
};
pub use notifier::{DeliveryError, Notifier, OtpMessage};
pub use sandbox::{AddTestIdentifier, SandboxStore};
pub use store::*;
pub use system::{Clock, RandomSource};
pub use tenants::{CreateTenantError, MembershipError, RoleChange, TenantStore, UserRef};

#[cfg(feature = "mocks")]
pub use audit::MockAuditChain;
#[cfg(feature = "mocks")]
pub use crypto::{MockAuditSigner, MockKeyedHasher, MockSecretHasher, MockTokenCodec};
#[cfg(feature = "mocks")]
pub use licenses::MockLicenseStore;
#[cfg(feature = "mocks")]
pub use notifier::MockNotifier;
#[cfg(feature = "mocks")]
pub use sandbox::MockSandboxStore;
#[cfg(feature = "mocks")]
pub use system::{MockClock, MockRandomSource};
#[cfg(feature = "mocks")]
pub use tenants::MockTenantStore;
