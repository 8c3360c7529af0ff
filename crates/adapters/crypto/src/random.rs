//! The OS CSPRNG.

use auth_ports::RandomSource;
use ring::rand::{SecureRandom, SystemRandom};

/// Randomness from the operating system (ring's `SystemRandom`).
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl OsRandom {
    pub(crate) fn fill_bytes(self, buf: &mut [u8]) {
        // The OS generator only fails when the platform has none, which the engine cannot run without.
        #[expect(
            clippy::expect_used,
            reason = "no OS randomness means no secure operation at all"
        )]
        SystemRandom::new()
            .fill(buf)
            .expect("the OS random number generator failed");
    }
}

impl RandomSource for OsRandom {
    fn fill(&self, buf: &mut [u8]) {
        self.fill_bytes(buf);
    }
}
