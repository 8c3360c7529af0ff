//! Housekeeping that keeps storage bounded.

use time::Duration;

use crate::{AuthError, AuthService};

/// How long a dead code is kept after it expires, for support questions about recent logins.
const OTP_RETENTION: Duration = Duration::days(1);

impl AuthService {
    /// Deletes rate-limit windows that have ended and codes a day past their expiry. Audit records
    /// are never deleted. Returns how many rows went.
    ///
    /// # Errors
    /// Store failures.
    pub async fn purge_expired(&self) -> Result<u64, AuthError> {
        let now = self.now();
        let counters = self.ports.limiter.purge_expired(now).await?;
        let codes = self.ports.otps.purge_expired(now - OTP_RETENTION).await?;
        Ok(counters + codes)
    }
}

#[cfg(test)]
mod tests {
    use crate::test_kit::{Kit, NOW};
    use time::Duration;

    #[tokio::test]
    async fn expired_counters_go_now_and_codes_a_day_after_expiry() {
        // Arrange
        let mut kit = Kit::new();
        kit.limiter
            .expect_purge_expired()
            .withf(|now| *now == NOW)
            .times(1)
            .returning(|_| Ok(3));
        kit.otps
            .expect_purge_expired()
            .withf(|before| *before == NOW - Duration::days(1))
            .times(1)
            .returning(|_| Ok(2));
        let service = kit.service();

        // Act
        let purged = service.purge_expired().await;

        // Assert
        assert_eq!(purged, Ok(5));
    }
}
