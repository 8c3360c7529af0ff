//! Abuse limits and delivery ceilings, counted in the database.

use auth_usecases::Limits;

use super::env::{ConfigError, Env, error};

/// The most of anything a counter may be set to allow.
const MANY: u32 = 1_000_000;

/// How much larger the daily send ceiling per identifier (across addresses) must be than the one
/// per identifier and address, so one address's sends never use up everyone's.
const SENDS_CEILING_FACTOR: u32 = 5;

/// The limits the environment sets, the defaults for the rest.
pub(super) fn limits(env: &Env) -> Result<Limits, ConfigError> {
    let defaults = Limits::default();
    let limits = Limits {
        sends_per_identifier_per_ip_per_day: env.number(
            "AUTH_OTP_SENDS_PER_IDENTIFIER_PER_IP_PER_DAY",
            defaults.sends_per_identifier_per_ip_per_day,
            1,
            MANY,
        )?,
        sends_per_identifier_per_day: env.number(
            "AUTH_OTP_SENDS_PER_IDENTIFIER_PER_DAY",
            defaults.sends_per_identifier_per_day,
            1,
            MANY,
        )?,
        sends_per_ip_per_hour: env.number(
            "AUTH_OTP_SENDS_PER_IP_PER_HOUR",
            defaults.sends_per_ip_per_hour,
            1,
            MANY,
        )?,
        verifies_per_ip_per_hour: env.number(
            "AUTH_OTP_VERIFIES_PER_IP_PER_HOUR",
            defaults.verifies_per_ip_per_hour,
            1,
            MANY,
        )?,
        failures_per_identifier_per_ip_per_day: env.number(
            "AUTH_OTP_FAILURES_PER_IDENTIFIER_PER_IP_PER_DAY",
            defaults.failures_per_identifier_per_ip_per_day,
            1,
            MANY,
        )?,
        // NIST SP 800-63B §5.2.2: at most 100 consecutive failed attempts on one account.
        failures_per_identifier_per_day: env.number(
            "AUTH_OTP_FAILURES_PER_IDENTIFIER_PER_DAY",
            defaults.failures_per_identifier_per_day,
            1,
            100,
        )?,
        app_auth_failures_per_ip_per_hour: env.number(
            "AUTH_APP_AUTH_FAILURES_PER_IP_PER_HOUR",
            defaults.app_auth_failures_per_ip_per_hour,
            1,
            MANY,
        )?,
        license_checks_per_key_per_hour: env.number(
            "AUTH_LICENSE_CHECKS_PER_KEY_PER_HOUR",
            defaults.license_checks_per_key_per_hour,
            1,
            MANY,
        )?,
        license_checks_per_ip_per_hour: env.number(
            "AUTH_LICENSE_CHECKS_PER_IP_PER_HOUR",
            defaults.license_checks_per_ip_per_hour,
            1,
            MANY,
        )?,
        sms_per_day_global: env.number(
            "AUTH_SMS_GLOBAL_DAILY_CAP",
            defaults.sms_per_day_global,
            0,
            100_000_000,
        )?,
        emails_per_day_global: env.number(
            "AUTH_EMAIL_PER_DAY",
            defaults.emails_per_day_global,
            0,
            100_000_000,
        )?,
        app_sms_per_day_max: env.number(
            "AUTH_APP_SMS_PER_DAY_MAX",
            defaults.app_sms_per_day_max,
            0,
            100_000_000,
        )?,
        app_emails_per_day_max: env.number(
            "AUTH_APP_EMAIL_PER_DAY_MAX",
            defaults.app_emails_per_day_max,
            0,
            100_000_000,
        )?,
    };
    let per_address = limits.sends_per_identifier_per_ip_per_day;
    if limits.sends_per_identifier_per_day < per_address.saturating_mul(SENDS_CEILING_FACTOR) {
        return Err(error(
            "AUTH_OTP_SENDS_PER_IDENTIFIER_PER_DAY",
            format!(
                "must be at least {SENDS_CEILING_FACTOR} times AUTH_OTP_SENDS_PER_IDENTIFIER_PER_IP_PER_DAY ({per_address}), so one address cannot use up an identifier's sends"
            ),
        ));
    }
    Ok(limits)
}
