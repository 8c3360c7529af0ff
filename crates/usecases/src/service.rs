//! The engine's use cases share one service: the ports it was wired with and its settings.

use auth_domain::AuditContext;
use auth_domain::ids::{EventId, RANDOM_ID_BYTES};
use auth_domain::otp::OtpPolicy;
use auth_domain::session::TokenPolicy;
use auth_domain::{AuditEvent, AuditKind};
use auth_ports::{
    AppStore, AuditChain, AuditLog, AuditSigner, Clock, KeyedHasher, LicenseStore, MacPurpose,
    Notifier, OtpStore, RandomSource, RateLimiter, SandboxStore, SecretHasher, SessionStore,
    StoreHealth, TenantStore, TokenCodec,
};
use std::sync::Arc;
use time::OffsetDateTime;

use crate::app_auth::SecretCache;

/// The adapters the use cases run on, assembled once by the server.
#[derive(Clone)]
pub struct Ports {
    pub apps: Arc<dyn AppStore>,
    pub otps: Arc<dyn OtpStore>,
    pub sessions: Arc<dyn SessionStore>,
    pub tenants: Arc<dyn TenantStore>,
    pub licenses: Arc<dyn LicenseStore>,
    pub sandbox: Arc<dyn SandboxStore>,
    pub limiter: Arc<dyn RateLimiter>,
    pub audit: Arc<dyn AuditLog>,
    pub chain: Arc<dyn AuditChain>,
    pub health: Arc<dyn StoreHealth>,
    pub notifier: Arc<dyn Notifier>,
    pub tokens: Arc<dyn TokenCodec>,
    pub audit_key: Arc<dyn AuditSigner>,
    pub secrets: Arc<dyn SecretHasher>,
    pub mac: Arc<dyn KeyedHasher>,
    pub clock: Arc<dyn Clock>,
    pub random: Arc<dyn RandomSource>,
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ports { .. }")
    }
}

/// Abuse limits and delivery ceilings, counted in the database.
///
/// Limits on one person's identifier come in pairs: one per identifier *and caller address*, which
/// an attacker at one address can exhaust for that address only, and a larger ceiling per identifier
/// across every address, which bounds guessing and SMS bombing however many addresses are used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Codes sent for one identifier to one caller address per day.
    pub sends_per_identifier_per_ip_per_day: u32,
    /// Codes sent for one identifier per day from every address together.
    pub sends_per_identifier_per_day: u32,
    pub sends_per_ip_per_hour: u32,
    pub verifies_per_ip_per_hour: u32,
    /// Wrong codes for one identifier from one caller address per day.
    pub failures_per_identifier_per_ip_per_day: u32,
    /// Wrong codes for one identifier per day from every address together (NIST SP 800-63B
    /// §5.2.2: at most 100).
    pub failures_per_identifier_per_day: u32,
    /// Wrong app secrets (each an argon2 verification) one address may present per app per hour.
    pub app_auth_failures_per_ip_per_hour: u32,
    /// License activations and checks per key per hour, so keys cannot be probed.
    pub license_checks_per_key_per_hour: u32,
    /// License activations and checks per end-user IP per hour.
    pub license_checks_per_ip_per_hour: u32,
    /// SMS the whole engine sends per day, across apps: the last stop for SMS pumping.
    pub sms_per_day_global: u32,
    /// Emails the whole engine sends per day, across apps.
    pub emails_per_day_global: u32,
    /// The highest daily SMS cap an app may be given (and the most any app sends per day).
    pub app_sms_per_day_max: u32,
    /// The highest daily email cap an app may be given (and the most any app sends per day).
    pub app_emails_per_day_max: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            sends_per_identifier_per_ip_per_day: 10,
            sends_per_identifier_per_day: 50,
            sends_per_ip_per_hour: 30,
            verifies_per_ip_per_hour: 120,
            failures_per_identifier_per_ip_per_day: 15,
            failures_per_identifier_per_day: 100,
            app_auth_failures_per_ip_per_hour: 60,
            license_checks_per_key_per_hour: 60,
            license_checks_per_ip_per_hour: 600,
            sms_per_day_global: 10_000,
            emails_per_day_global: 100_000,
            app_sms_per_day_max: auth_domain::delivery::DEFAULT_SMS_PER_DAY,
            app_emails_per_day_max: auth_domain::delivery::DEFAULT_EMAILS_PER_DAY,
        }
    }
}

/// Operator settings the use cases obey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The engine's public URL: every token's `iss`.
    pub issuer: String,
    pub otp: OtpPolicy,
    pub tokens: TokenPolicy,
    pub limits: Limits,
}

/// The id of the request being served, as the delivery layer sends it back (`X-Request-Id`) and
/// records it in audit records; kept in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The address of the client that sent a request: the TCP peer, or behind trusted reverse proxies
/// the address they forwarded for. The delivery layer records it in the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::IpAddr);

/// Who sent a request, as far as the engine can tell.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub request_id: String,
    /// The end user's IP as the integrating backend reported it.
    pub client_ip: Option<String>,
    /// The TCP peer (behind trusted proxies, the address they forwarded for): the backend itself,
    /// used for per-IP limits when `client_ip` is absent.
    pub peer_ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Caller {
    pub(crate) fn audit_context(&self) -> AuditContext {
        AuditContext {
            request_id: self.request_id.clone(),
            client_ip: self.client_ip.clone().or_else(|| self.peer_ip.clone()),
            user_agent: self.user_agent.clone(),
        }
    }

    /// The address per-IP limits count against.
    pub(crate) fn limit_ip(&self) -> &str {
        self.client_ip
            .as_deref()
            .or(self.peer_ip.as_deref())
            .unwrap_or("unknown")
    }
}

/// Auth Engine's use cases.
#[derive(Debug)]
pub struct AuthService {
    pub(crate) ports: Ports,
    pub(crate) settings: Settings,
    pub(crate) secret_cache: SecretCache,
}

impl AuthService {
    #[must_use]
    pub fn new(ports: Ports, settings: Settings) -> Self {
        Self {
            ports,
            settings,
            secret_cache: SecretCache::default(),
        }
    }

    #[must_use]
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.ports.clock.now()
    }

    pub(crate) fn random_bytes<const N: usize>(&self) -> [u8; N] {
        let mut bytes = [0u8; N];
        self.ports.random.fill(&mut bytes);
        bytes
    }

    pub(crate) fn random_id<T>(&self, make: fn(&[u8; RANDOM_ID_BYTES]) -> T) -> T {
        make(&self.random_bytes())
    }

    pub(crate) fn event(
        &self,
        app_id: Option<&auth_domain::ids::AppId>,
        kind: AuditKind,
        caller: &Caller,
        now: OffsetDateTime,
    ) -> AuditEvent {
        AuditEvent::new(
            self.random_id(EventId::from_random),
            app_id.cloned(),
            kind,
            caller.audit_context(),
            now,
        )
    }

    /// Whether the engine runs with the master key its data was written under. The first start
    /// stores the key's check value (a keyed hash, which reveals nothing of the key); every later
    /// start, of any process, compares with it.
    ///
    /// # Errors
    /// Store failures.
    pub async fn master_key_matches(&self) -> Result<bool, crate::AuthError> {
        let check = self.ports.mac.mac(
            MacPurpose::MasterKeyCheck,
            b"auth-engine master key check v1",
        );
        let stored = self.ports.health.master_key_check(check).await?;
        Ok(auth_domain::ct::constant_time_eq(&stored, &check))
    }

    /// Whether the store answers: the readiness probe.
    ///
    /// # Errors
    /// [`crate::AuthError::ServiceUnavailable`] when it does not.
    pub async fn ready(&self) -> Result<(), crate::AuthError> {
        self.ports
            .health
            .ping()
            .await
            .map_err(crate::AuthError::from)
    }
}
