//! Abuse limits: counters in the database, and the `rate_limited` refusal they lead to.

use auth_domain::delivery::{DEFAULT_EMAILS_PER_DAY, DEFAULT_SMS_PER_DAY, DeliveryPolicy};
use auth_domain::ids::{AppId, base32};
use auth_domain::{AuditEvent, AuditKind, Identifier};
use auth_ports::{MacPurpose, RateDecision};
use time::Duration;

use crate::{AuthError, AuthService, Caller, FieldProblem};

pub(crate) const DAY: Duration = Duration::days(1);
pub(crate) const HOUR: Duration = Duration::hours(1);

impl AuthService {
    /// A stable, non-reversible name for one person in one app, for limit counters.
    pub(crate) fn person_key(&self, app_id: &AppId, identifier: &Identifier) -> String {
        let input = format!("{app_id}:{}:{}", identifier.kind(), identifier.as_str());
        let digest = self
            .ports
            .mac
            .mac(MacPurpose::RateLimitKey, input.as_bytes());
        base32(&digest[..16])
    }

    /// A new app's delivery policy: the default caps, lowered to the operator's ceilings.
    pub(crate) fn new_app_delivery(&self) -> DeliveryPolicy {
        let limits = self.settings.limits;
        DeliveryPolicy {
            sms_per_day: DEFAULT_SMS_PER_DAY.min(limits.app_sms_per_day_max),
            emails_per_day: DEFAULT_EMAILS_PER_DAY.min(limits.app_emails_per_day_max),
            ..DeliveryPolicy::default()
        }
    }

    /// Refuses daily caps above the operator's ceilings (`AUTH_APP_SMS_PER_DAY_MAX`,
    /// `AUTH_APP_EMAIL_PER_DAY_MAX`), naming the field each came in.
    pub(crate) fn within_ceilings(
        &self,
        sms_per_day: Option<(&str, u32)>,
        emails_per_day: Option<(&str, u32)>,
    ) -> Result<(), AuthError> {
        let limits = self.settings.limits;
        let problems: Vec<FieldProblem> = [
            (sms_per_day, limits.app_sms_per_day_max),
            (emails_per_day, limits.app_emails_per_day_max),
        ]
        .into_iter()
        .filter_map(|(asked, ceiling)| {
            let (field, value) = asked?;
            (value > ceiling).then(|| {
                FieldProblem::new(
                    field,
                    format!("must be at most {ceiling}, the most this engine allows an app"),
                )
            })
        })
        .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(AuthError::InvalidRequest(problems))
        }
    }

    /// A stable, non-reversible name for the caller at `address` in one app: whose request a code
    /// was sent for.
    pub(crate) fn caller_key(&self, app_id: &AppId, address: &str) -> String {
        let input = format!("caller:{app_id}:{address}");
        let digest = self
            .ports
            .mac
            .mac(MacPurpose::RateLimitKey, input.as_bytes());
        base32(&digest[..16])
    }

    /// Counts a hit and refuses with `rate_limited` (recorded in the audit log) past the limit.
    pub(crate) async fn enforce(
        &self,
        app_id: Option<&AppId>,
        caller: &Caller,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<(), AuthError> {
        let now = self.now();
        let decision = self.ports.limiter.hit(key, limit, window, now).await?;
        self.refuse_when_limited(app_id, caller, key, decision)
            .await
    }

    /// Like [`Self::enforce`], but only looks: for limits that other events count.
    pub(crate) async fn enforce_peek(
        &self,
        app_id: Option<&AppId>,
        caller: &Caller,
        key: &str,
        limit: u32,
        window: Duration,
    ) -> Result<(), AuthError> {
        let now = self.now();
        let decision = self.ports.limiter.peek(key, limit, window, now).await?;
        self.refuse_when_limited(app_id, caller, key, decision)
            .await
    }

    /// A daily delivery cap reached: the `delivery_cap_reached` alert (an audit record and a
    /// warning in the log), and the `rate_limited` refusal to answer with.
    pub(crate) async fn cap_reached(
        &self,
        app_id: &AppId,
        caller: &Caller,
        key: &str,
        cap: u32,
        retry_after: Duration,
    ) -> AuthError {
        let limit = key.split(':').next().unwrap_or("unknown");
        tracing::warn!(%app_id, limit, cap, "daily delivery cap reached");
        let event = self
            .event(
                Some(app_id),
                AuditKind::DeliveryCapReached,
                caller,
                self.now(),
            )
            .actor("app")
            .details(serde_json::json!({
                "limit": limit,
                "cap": cap,
                "retry_after": retry_after.whole_seconds(),
            }));
        self.refusal(event, retry_after).await
    }

    /// A limit reached: its `rate_limited` record, and the `rate_limited` refusal to answer with.
    pub(crate) async fn rate_limited(
        &self,
        app_id: Option<&AppId>,
        caller: &Caller,
        key: &str,
        retry_after: Duration,
    ) -> AuthError {
        let limit = key.split(':').next().unwrap_or("unknown");
        let event = self
            .event(app_id, AuditKind::RateLimited, caller, self.now())
            .details(
                serde_json::json!({ "limit": limit, "retry_after": retry_after.whole_seconds() }),
            );
        self.refusal(event, retry_after).await
    }

    /// Records `event`, then answers `rate_limited`; a failure to record is the answer instead.
    async fn refusal(&self, event: AuditEvent, retry_after: Duration) -> AuthError {
        match self.ports.audit.append(event).await {
            Ok(()) => AuthError::RateLimited { retry_after },
            Err(error) => error.into(),
        }
    }

    async fn refuse_when_limited(
        &self,
        app_id: Option<&AppId>,
        caller: &Caller,
        key: &str,
        decision: RateDecision,
    ) -> Result<(), AuthError> {
        match decision {
            RateDecision::Allowed => Ok(()),
            RateDecision::Limited { retry_after } => {
                Err(self.rate_limited(app_id, caller, key, retry_after).await)
            }
        }
    }
}
