//! What a send-otp must pass before anything is delivered: the limits on one address, on one
//! person at one address and on one person everywhere, the resend cooldown, and the daily delivery
//! caps of the app and of the engine.

use auth_domain::{App, Channel, Identifier};
use auth_ports::RateLimit;

use crate::limits::{DAY, HOUR};
use crate::{AuthError, AuthService, Caller};

impl AuthService {
    /// Counts this send against every address and person limit, the resend cooldown, then the
    /// daily delivery caps of the app and of the engine, in that order and in one batch, refusing
    /// with `rate_limited` at the first it exceeds. The limits after that one are not counted, so
    /// only sends that every other limit let through count against the caps. Returns the
    /// cooldown's counter, which a failed delivery lifts.
    ///
    /// Each person limit comes twice: per identifier and caller address, which a stranger at one
    /// address exhausts for that address only, and a larger ceiling across every address, which
    /// bounds guessing and SMS bombing however many addresses are used. An app's own cap is never
    /// above the operator's ceiling, even if it was set before the ceiling was lowered.
    pub(crate) async fn enforce_send_limits(
        &self,
        app: &App,
        identifier: &Identifier,
        caller: &Caller,
    ) -> Result<String, AuthError> {
        let person = self.person_key(&app.id, identifier);
        let address = caller.limit_ip();
        let limits = self.settings.limits;
        let cooldown = self.settings.otp.resend_cooldown;
        let limit = |key: String, limit: u32, window, counted| RateLimit {
            key,
            limit,
            window,
            counted,
        };

        let cooldown_key = format!("cooldown:{person}:{address}");
        let mut batch = vec![
            limit(
                format!("send-ip:{}:{address}", app.id),
                limits.sends_per_ip_per_hour,
                HOUR,
                true,
            ),
            // Counted by wrong codes, only checked here.
            limit(
                format!("fail-id-ip:{person}:{address}"),
                limits.failures_per_identifier_per_ip_per_day,
                DAY,
                false,
            ),
            limit(
                format!("fail-id:{person}"),
                limits.failures_per_identifier_per_day,
                DAY,
                false,
            ),
            limit(
                format!("send-id-ip:{person}:{address}"),
                limits.sends_per_identifier_per_ip_per_day,
                DAY,
                true,
            ),
            limit(
                format!("send-id:{person}"),
                limits.sends_per_identifier_per_day,
                DAY,
                true,
            ),
        ];
        if cooldown.is_positive() {
            batch.push(limit(cooldown_key.clone(), 1, cooldown, true));
        }
        let caps_from = batch.len();
        let (app_cap, app_key, global_cap, global_key) = match identifier.channel() {
            Channel::Sms => (
                app.delivery.sms_per_day.min(limits.app_sms_per_day_max),
                format!("sms-app-day:{}", app.id),
                limits.sms_per_day_global,
                "sms-global-day",
            ),
            Channel::Email => (
                app.delivery
                    .emails_per_day
                    .min(limits.app_emails_per_day_max),
                format!("email-app-day:{}", app.id),
                limits.emails_per_day_global,
                "email-global-day",
            ),
        };
        batch.push(limit(app_key, app_cap, DAY, true));
        batch.push(limit(global_key.to_owned(), global_cap, DAY, true));

        let Some(refusal) = self.ports.limiter.hit_all(&batch, self.now()).await? else {
            return Ok(cooldown_key);
        };
        let refused = &batch[refusal.index];
        Err(if refusal.index >= caps_from {
            self.cap_reached(
                &app.id,
                caller,
                &refused.key,
                refused.limit,
                refusal.retry_after,
            )
            .await
        } else {
            self.rate_limited(Some(&app.id), caller, &refused.key, refusal.retry_after)
                .await
        })
    }
}
