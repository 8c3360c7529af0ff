//! Mocked ports and fixtures for the use cases' unit tests.

use auth_domain::ids::{AppId, RANDOM_ID_BYTES};
use auth_domain::otp::OtpPolicy;
use auth_domain::session::TokenPolicy;
use auth_domain::{App, AppSlug, SigningKey};
use auth_ports::{
    MockAppStore, MockAuditChain, MockAuditLog, MockAuditSigner, MockClock, MockKeyedHasher,
    MockLicenseStore, MockNotifier, MockOtpStore, MockRandomSource, MockRateLimiter,
    MockSandboxStore, MockSecretHasher, MockSessionStore, MockStoreHealth, MockTenantStore,
    MockTokenCodec, RateDecision, RateLimit, RateRefusal,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use time::OffsetDateTime;
use time::macros::datetime;

use crate::{AppCredentials, AuthService, Caller, Limits, Ports, Settings};

pub const NOW: OffsetDateTime = datetime!(2026-11-30 12:00:00 UTC);
pub const ISSUER: &str = "https://auth.test";
pub const SECRET: &str = "sk_right";

/// A stand-in keyed hash: deterministic, and different per purpose and input.
pub fn fake_mac(purpose: auth_ports::MacPurpose, data: &[u8]) -> auth_ports::Digest {
    let mut digest = [purpose as u8; 32];
    for (i, byte) in data.iter().enumerate() {
        digest[i % 32] = digest[i % 32].wrapping_mul(31).wrapping_add(*byte);
    }
    digest
}

/// A stand-in SHA-256: deterministic, order-sensitive, 32 bytes.
pub fn fold_hash(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, byte) in data.iter().enumerate() {
        out[i % 32] = out[i % 32].wrapping_mul(31).wrapping_add(*byte);
    }
    out
}

/// A link of `chain` as the sealer makes it, its seal by [`fake_mac`] (give the kit's `mac` that).
pub fn sealed_link(
    chain: &str,
    position: i64,
    event_seq: i64,
    link: [u8; 32],
) -> auth_domain::chain::ChainLink {
    let input = auth_domain::chain::seal_input(chain, position, &link);
    auth_domain::chain::ChainLink {
        position,
        event_seq,
        link,
        seal: Some(fake_mac(auth_ports::MacPurpose::AuditSeal, &input)),
    }
}

/// A stored `login` record of `app_id`.
pub fn stored_login(seq: i64, app_id: &str, occurred_at: i64) -> auth_domain::chain::StoredEvent {
    auth_domain::chain::StoredEvent {
        seq,
        id: format!("evt_{seq}"),
        app_id: Some(app_id.to_owned()),
        event: "login".into(),
        outcome: "success".into(),
        actor: None,
        subject: None,
        client_ip: None,
        user_agent: None,
        request_id: None,
        details: "{}".into(),
        occurred_at,
    }
}

/// A request for a code to the demo phone number, from [`caller`], with the demo app's credentials.
pub fn phone_request() -> crate::SendOtp {
    crate::SendOtp {
        credentials: credentials(),
        identifier: auth_domain::Identifier::Phone(
            auth_domain::Phone::parse("+919876543210").unwrap(),
        ),
        caller: caller(),
    }
}

pub fn app() -> App {
    App {
        id: AppId::from_random(&[1; RANDOM_ID_BYTES]),
        slug: AppSlug::parse("demo-app").unwrap(),
        name: "Demo".into(),
        secret_hash: "$argon2id$stand-in".into(),
        secret_version: 1,
        previous_secret: None,
        disabled: false,
        revoke_sessions_on_role_change: false,
        owner: None,
        sandboxed: false,
        delivery: auth_domain::delivery::DeliveryPolicy::default(),
        tokens: auth_domain::app_settings::TokenOverrides::default(),
        channels: auth_domain::app_settings::Channels::default(),
        created_at: NOW,
    }
}

pub fn key() -> SigningKey {
    SigningKey {
        kid: "kid-1".into(),
        app_id: app().id,
        encrypted_private_key: vec![1, 2, 3],
        public_key_der: vec![4, 5, 6],
        created_at: NOW,
        retired_at: None,
        withdrawn_at: None,
    }
}

pub fn credentials() -> AppCredentials {
    AppCredentials {
        app_id: app().id.as_str().to_owned(),
        app_secret: SECRET.into(),
    }
}

pub fn caller() -> Caller {
    Caller {
        request_id: "req_test".into(),
        client_ip: Some("203.0.113.7".into()),
        peer_ip: Some("10.0.0.1".into()),
        user_agent: Some("test".into()),
    }
}

/// Every port as a mock; tests set the expectations that matter to them, then call `service`.
pub struct Kit {
    pub apps: MockAppStore,
    pub otps: MockOtpStore,
    pub sessions: MockSessionStore,
    pub tenants: MockTenantStore,
    pub licenses: MockLicenseStore,
    pub sandbox: MockSandboxStore,
    pub limiter: MockRateLimiter,
    pub audit: MockAuditLog,
    pub chain: MockAuditChain,
    pub health: MockStoreHealth,
    pub notifier: MockNotifier,
    pub tokens: MockTokenCodec,
    pub audit_key: MockAuditSigner,
    pub secrets: MockSecretHasher,
    pub mac: MockKeyedHasher,
    pub clock: MockClock,
    pub random: MockRandomSource,
}

impl Kit {
    /// Mocks with the plumbing every use case needs: a fixed clock, counting randomness, a fake
    /// keyed hash, and the demo app whose secret is [`SECRET`].
    pub fn new() -> Self {
        let mut kit = Self {
            apps: MockAppStore::new(),
            otps: MockOtpStore::new(),
            sessions: MockSessionStore::new(),
            tenants: MockTenantStore::new(),
            licenses: MockLicenseStore::new(),
            sandbox: MockSandboxStore::new(),
            limiter: MockRateLimiter::new(),
            audit: MockAuditLog::new(),
            chain: MockAuditChain::new(),
            health: MockStoreHealth::new(),
            notifier: MockNotifier::new(),
            tokens: MockTokenCodec::new(),
            audit_key: MockAuditSigner::new(),
            secrets: MockSecretHasher::new(),
            mac: MockKeyedHasher::new(),
            clock: MockClock::new(),
            random: MockRandomSource::new(),
        };
        kit.clock.expect_now().return_const(NOW);
        kit.health
            .expect_unavailable_within()
            .return_const(std::time::Duration::ZERO);
        let counter = AtomicU8::new(0);
        kit.random.expect_fill().returning(move |buf| {
            let start = counter.fetch_add(1, Ordering::Relaxed);
            for (i, byte) in buf.iter_mut().enumerate() {
                *byte = start.wrapping_add(u8::try_from(i % 251).unwrap());
            }
        });
        kit.mac.expect_mac().returning(fake_mac);
        kit.notifier.expect_supports().return_const(true);
        kit.apps
            .expect_find_app()
            .returning(|id| Ok((*id == app().id).then(app)));
        kit.secrets
            .expect_verify()
            .returning(|secret, _| secret == SECRET);
        // Mockall matches expectations first-set first, so these serve only the app-auth limit and
        // leave every other key to the test's own expectations.
        let app_auth = |key: &str| key.starts_with("app-auth-fail:");
        kit.limiter
            .expect_peek()
            .withf(move |key, _, _, _| app_auth(key))
            .returning(|_, _, _, _| Ok(RateDecision::Allowed));
        kit.limiter
            .expect_hit()
            .withf(move |key, _, _, _| app_auth(key))
            .returning(|_, _, _, _| Ok(RateDecision::Allowed));
        kit
    }

    /// Limits never refuse.
    pub fn allow_all_limits(&mut self) {
        self.limiter
            .expect_hit()
            .returning(|_, _, _, _| Ok(RateDecision::Allowed));
        self.limiter
            .expect_peek()
            .returning(|_, _, _, _| Ok(RateDecision::Allowed));
        self.limiter.expect_hit_all().returning(|_, _| Ok(None));
    }

    /// Batches of limits are decided by `decide`, one limit after another as the store does,
    /// stopping at the first refusal.
    pub fn decide_limits(
        &mut self,
        decide: impl Fn(&RateLimit) -> RateDecision + Send + Sync + 'static,
    ) {
        self.limiter.expect_hit_all().returning(move |limits, _| {
            Ok(limits
                .iter()
                .enumerate()
                .find_map(|(index, limit)| match decide(limit) {
                    RateDecision::Limited { retry_after } => {
                        Some(RateRefusal { index, retry_after })
                    }
                    RateDecision::Allowed => None,
                }))
        });
    }

    /// Access tokens are signed with the demo key and come out as `signed-<sub>`.
    pub fn sign_tokens(&mut self) {
        self.apps
            .expect_current_key()
            .returning(|_| Ok(Some(key())));
        self.tokens
            .expect_sign_access()
            .returning(|_, claims| Ok(format!("signed-{}", claims.sub)));
    }

    /// Keeps every record appended through the audit log port, for the test to read.
    pub fn record_audit(&mut self) -> Arc<std::sync::Mutex<Vec<auth_domain::AuditEvent>>> {
        let recorded = Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = Arc::clone(&recorded);
        self.audit.expect_append().returning(move |event| {
            keep.lock().unwrap().push(event);
            Ok(())
        });
        recorded
    }

    /// Hashes secrets to a recognisable stand-in and generates the key `kid-new`, for use cases
    /// that create apps or rotate their secrets and keys.
    pub fn making_secrets_and_keys(mut self) -> Self {
        self.secrets
            .expect_hash()
            .returning(|secret| format!("$argon2id$hash-of-{}", secret.len()));
        self.tokens
            .expect_generate_key()
            .returning(|| auth_ports::KeyMaterial {
                kid: "kid-new".into(),
                encrypted_private_key: vec![1],
                public_key_der: vec![2],
                public_key_pem: "-----BEGIN PUBLIC KEY-----".into(),
            });
        self
    }

    pub fn service(self) -> AuthService {
        let ports = Ports {
            apps: Arc::new(self.apps),
            otps: Arc::new(self.otps),
            sessions: Arc::new(self.sessions),
            tenants: Arc::new(self.tenants),
            licenses: Arc::new(self.licenses),
            sandbox: Arc::new(self.sandbox),
            limiter: Arc::new(self.limiter),
            audit: Arc::new(self.audit),
            chain: Arc::new(self.chain),
            health: Arc::new(self.health),
            notifier: Arc::new(self.notifier),
            tokens: Arc::new(self.tokens),
            audit_key: Arc::new(self.audit_key),
            secrets: Arc::new(self.secrets),
            mac: Arc::new(self.mac),
            clock: Arc::new(self.clock),
            random: Arc::new(self.random),
        };
        let settings = Settings {
            issuer: ISSUER.into(),
            otp: OtpPolicy::default(),
            tokens: TokenPolicy::default(),
            limits: Limits::default(),
        };
        AuthService::new(ports, settings)
    }
}
