//! What a send-otp must pass before anything is delivered: the limits on one address, on one
//! person at one address and on one person everywhere, the resend cooldown, and the daily delivery
//! caps of the app and of the engine.

use auth_domain::{App, Channel, Identifier};

use crate::limits::{DAY, HOUR};
use crate::{AuthError, AuthService, Caller};

impl AuthService {
    /// Counts this send against every address and person limit and the resend cooldown, refusing
    /// with `rate_limited` past any. Returns the cooldown's counter, which a failed delivery lifts.
    ///
    /// Each person limit comes twice: per identifier and caller address, which a stranger at one
    /// address exhausts for that address only, and a larger ceiling across every address, which
    /// bounds guessing and SMS bombing however many addresses are used.
    pub(crate) async fn enforce_send_limits(
        &self,
        app: &App,
        identifier: &Identifier,
        caller: &Caller,
    ) -> Result<String, AuthError> {
        let app_id = Some(&app.id);
        let person = self.person_key(&app.id, identifier);
        let address = caller.limit_ip();
        let limits = self.settings.limits;
        let cooldown = self.settings.otp.resend_cooldown;

        let send_ip = format!("send-ip:{}:{address}", app.id);
        self.enforce(app_id, caller, &send_ip, limits.sends_per_ip_per_hour, HOUR)
            .await?;
        let failures = [
            (
                format!("fail-id-ip:{person}:{address}"),
                limits.failures_per_identifier_per_ip_per_day,
            ),
            (
                format!("fail-id:{person}"),
                limits.failures_per_identifier_per_day,
            ),
        ];
        for (key, limit) in failures {
            self.enforce_peek(app_id, caller, &key, limit, DAY).await?;
        }
        let sends = [
            (
                format!("send-id-ip:{person}:{address}"),
                limits.sends_per_identifier_per_ip_per_day,
            ),
            (
                format!("send-id:{person}"),
                limits.sends_per_identifier_per_day,
            ),
        ];
        for (key, limit) in sends {
            self.enforce(app_id, caller, &key, limit, DAY).await?;
        }
        let cooldown_key = format!("cooldown:{person}:{address}");
        if cooldown.is_positive() {
            self.enforce(app_id, caller, &cooldown_key, 1, cooldown)
                .await?;
        }
        Ok(cooldown_key)
    }

    /// Counts one message against the app's daily cap for `channel`, then the engine's. Only sends
    /// that every other limit let through are counted. An app's own cap is never above the
    /// operator's ceiling, even if it was set before the ceiling was lowered.
    pub(crate) async fn enforce_daily_caps(
        &self,
        app: &App,
        channel: Channel,
        caller: &Caller,
    ) -> Result<(), AuthError> {
        let limits = self.settings.limits;
        let (app_cap, app_key, global_cap, global_key) = match channel {
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
        self.enforce_cap(&app.id, caller, &app_key, app_cap).await?;
        self.enforce_cap(&app.id, caller, global_key, global_cap)
            .await
    }
}
