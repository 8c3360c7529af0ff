//! Time and randomness, injected so tests are deterministic.

use time::OffsetDateTime;

/// The only source of "now" for domain rules and use cases.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> OffsetDateTime;
}

/// Cryptographically secure randomness (the OS CSPRNG in production).
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait RandomSource: Send + Sync {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}
