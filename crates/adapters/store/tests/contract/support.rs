//! The two backends every case runs on, and the fixtures the cases share.

use auth_domain::ids::{
    ActivationId, AppId, EventId, LicenseId, OtpId, RANDOM_ID_BYTES, SessionId, TenantId, UserId,
};
use auth_domain::license::{License, LicenseStatus};
use auth_domain::session::Session;
use auth_domain::{
    App, AppSlug, AuditContext, AuditEvent, AuditKind, Identifier, Phone, RoleName, SigningKey,
    Tenant, TenantSlug, User,
};
use auth_ports::{
    Activate, AppStore as _, Digest, NewApp, NewLogin, NewOtp, OtpStore as _, RoleChange, UserRef,
    VerifyOtp, VerifyOtpOutcome,
};
use auth_store::test_support::{ScratchDatabase, audit_events, execute_sql, postgres_admin_url};
use auth_store::{DatabaseUrl, Store};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use time::macros::datetime;

/// Generous: the contract is about outcomes, not speed, and CI machines are slow.
const TEST_DB_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
use time::{Duration, OffsetDateTime};

/// Runs the case `async fn $case(store: Store)` on both backends, as the tests `$case::sqlite` and
/// `$case::postgres`. Migrations need a multi-threaded runtime.
macro_rules! contract {
    ($case:ident) => {
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                $crate::support::on_sqlite(super::$case).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                $crate::support::on_postgres(super::$case).await;
            }
        }
    };
}
pub(crate) use contract;

/// A directory of its own for one SQLite database, removed when the case ends, even by a panic.
#[derive(Debug)]
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn create() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "auth-store-contract-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        // A directory left by an earlier process with the same id must not leak its data in.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn database(&self) -> String {
        self.0.join("store.db").to_string_lossy().into_owned()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `case` on a fresh, migrated SQLite file.
pub(crate) async fn on_sqlite<F, Fut>(case: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = ScratchDir::create();
    let store = Store::connect(&DatabaseUrl::Sqlite(dir.database()), 1, TEST_DB_TIMEOUT).unwrap();
    store.migrate().await.unwrap();
    case(store).await;
    drop(dir);
}

/// Runs `case` on a fresh, migrated Postgres database, or skips it when no server is configured.
pub(crate) async fn on_postgres<F, Fut>(case: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(admin) = postgres_admin_url() else {
        eprintln!("skipped: TEST_DATABASE_URL is not set, so the Postgres contract does not run");
        return;
    };
    let database = ScratchDatabase::create(&admin).await;
    let store = Store::connect(
        &DatabaseUrl::Postgres(database.url().into()),
        8,
        TEST_DB_TIMEOUT,
    )
    .unwrap();
    store.migrate().await.unwrap();
    case(store).await;
    // The database outlives every connection the case made; dropping it removes it.
    drop(database);
}

/// How many tries a code gets in these cases.
pub(crate) const MAX_ATTEMPTS: u32 = 3;
pub(crate) const OTP_TTL: Duration = Duration::minutes(5);
pub(crate) const SESSION_TTL: Duration = Duration::days(30);
/// The keyed hash of the code every fixture OTP delivers, and of a wrong guess.
pub(crate) const RIGHT_CODE: Digest = [1; 32];
pub(crate) const WRONG_CODE: Digest = [2; 32];

/// The fixed instant cases start at; they move time by adding to it. In the future, so that it is
/// always later than the database's own clock, which the store consults when a change takes effect.
pub(crate) fn t0() -> OffsetDateTime {
    datetime!(2100-01-01 00:00:00 UTC)
}

/// A distinct digest per `n`, for refresh-token hashes.
pub(crate) fn digest(n: u8) -> Digest {
    [n; 32]
}

/// A number never handed out before in this process, so ids, slugs and kids never collide.
pub(crate) fn unique() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn random_part() -> [u8; RANDOM_ID_BYTES] {
    let mut bytes = [0; RANDOM_ID_BYTES];
    bytes[..8].copy_from_slice(&unique().to_be_bytes());
    bytes
}

pub(crate) fn app_id() -> AppId {
    AppId::from_random(&random_part())
}

pub(crate) fn otp_id() -> OtpId {
    OtpId::from_random(&random_part())
}

pub(crate) fn session_id() -> SessionId {
    SessionId::from_random(&random_part())
}

pub(crate) fn user_id() -> UserId {
    UserId::from_random(&random_part())
}

pub(crate) fn tenant_id() -> TenantId {
    TenantId::from_random(&random_part())
}

pub(crate) fn license_id() -> LicenseId {
    LicenseId::from_random(&random_part())
}

pub(crate) fn activation_id() -> ActivationId {
    ActivationId::from_random(&random_part())
}

/// A phone number per `n`.
pub(crate) fn phone(n: u16) -> Identifier {
    Identifier::Phone(Phone::parse(&format!("+91987650{n:04}")).unwrap())
}

/// An audit record for `app_id` with a fresh id; the store may re-label its kind.
pub(crate) fn event(app_id: &AppId, kind: AuditKind, at: OffsetDateTime) -> AuditEvent {
    AuditEvent::new(
        EventId::from_random(&random_part()),
        Some(app_id.clone()),
        kind,
        AuditContext::default(),
        at,
    )
}

/// An app called `slug` with one signing key, created at [`t0`].
pub(crate) fn new_app(slug: &str) -> NewApp {
    let id = app_id();
    NewApp {
        app: App {
            id: id.clone(),
            slug: AppSlug::parse(slug).unwrap(),
            name: format!("App {slug}"),
            secret_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".to_owned(),
            secret_version: 1,
            previous_secret: None,
            disabled: false,
            revoke_sessions_on_role_change: false,
            owner: None,
            sandboxed: false,
            delivery: auth_domain::delivery::DeliveryPolicy::default(),
            tokens: auth_domain::app_settings::TokenOverrides::default(),
            channels: auth_domain::app_settings::Channels::default(),
            created_at: t0(),
        },
        key: SigningKey {
            kid: format!("kid-{}", unique()),
            app_id: id,
            encrypted_private_key: vec![1, 2, 3],
            public_key_der: vec![4, 5, 6],
            created_at: t0(),
            retired_at: None,
            withdrawn_at: None,
        },
    }
}

/// A new app with one key, stored with its `app_created` record.
/// Seals every record of `chain` that waits, at the next positions, with the stand-in link
/// `[position; 32]`.
pub(crate) async fn seal_waiting(store: &Store, chain: &str) {
    use auth_ports::AuditChain as _;
    let next = store
        .chain_head(chain)
        .await
        .unwrap()
        .map_or(1, |head| head.position + 1);
    let links: Vec<auth_domain::chain::ChainLink> = store
        .pending(chain, 1000)
        .await
        .unwrap()
        .iter()
        .zip(next..)
        .map(|(record, position)| auth_domain::chain::ChainLink {
            position,
            event_seq: record.seq,
            link: [u8::try_from(position % 256).unwrap(); 32],
            seal: Some([1; 32]),
        })
        .collect();
    assert!(store.append_links(chain, links).await.unwrap());
}

pub(crate) async fn app(store: &Store) -> App {
    created_app(store, new_app(&format!("app-{}", unique()))).await
}

/// Creates `new` with its `app_created` record at [`t0`].
pub(crate) async fn created_app(store: &Store, new: NewApp) -> App {
    let app = new.app.clone();
    store
        .create_app(new, event(&app.id, AuditKind::AppCreated, t0()))
        .await
        .unwrap();
    app
}

/// A tenant of `app_id` called `slug`, with a fresh id, created at [`t0`].
pub(crate) fn tenant(app_id: &AppId, slug: &str) -> Tenant {
    Tenant {
        id: tenant_id(),
        app_id: app_id.clone(),
        slug: TenantSlug::parse(slug).unwrap(),
        name: format!("Tenant {slug}"),
        created_at: t0(),
    }
}

/// Gives (or takes) `role` to `user` in the app's tenant `slug` at [`t0`]; a user it creates gets
/// a fresh id, and a revoke leaves the user's sessions alone.
pub(crate) fn change(app_id: &AppId, slug: &str, user: UserRef, role: &str) -> RoleChange {
    RoleChange {
        app_id: app_id.clone(),
        tenant: TenantSlug::parse(slug).unwrap(),
        user,
        role: RoleName::parse(role).unwrap(),
        now: t0(),
        new_user_id: user_id(),
        revoke_sessions: false,
    }
}

/// Stores a code for `identifier`, sent at `at` for one caller, whose hash is [`RIGHT_CODE`].
pub(crate) async fn send_code(
    store: &Store,
    app_id: &AppId,
    identifier: &Identifier,
    at: OffsetDateTime,
) -> OtpId {
    send_code_for(store, app_id, identifier, "caller-a", at).await
}

/// Like [`send_code`], for the caller `caller_key`.
pub(crate) async fn send_code_for(
    store: &Store,
    app_id: &AppId,
    identifier: &Identifier,
    caller_key: &str,
    at: OffsetDateTime,
) -> OtpId {
    let id = otp_id();
    let otp = NewOtp {
        id: id.clone(),
        app_id: app_id.clone(),
        identifier: identifier.clone(),
        caller_key: caller_key.to_owned(),
        code_hash: RIGHT_CODE,
        created_at: at,
        expires_at: at + OTP_TTL,
    };
    store
        .insert_otp(otp, event(app_id, AuditKind::OtpSent, at))
        .await
        .unwrap();
    id
}

/// Presents `presented_hash` for the code at `now`; a login would get fresh user and session ids,
/// a session of [`SESSION_TTL`] and the first refresh token `refresh_hash`.
pub(crate) fn verify(
    app_id: &AppId,
    otp_id: &OtpId,
    presented_hash: Digest,
    now: OffsetDateTime,
    refresh_hash: Digest,
) -> VerifyOtp {
    VerifyOtp {
        app_id: app_id.clone(),
        otp_id: otp_id.clone(),
        presented_hash,
        now,
        max_attempts: MAX_ATTEMPTS,
        login: NewLogin {
            new_user_id: user_id(),
            session_id: session_id(),
            refresh_hash,
            session_expires_at: now + SESSION_TTL,
        },
        tenant: None,
        retry_grace: Duration::ZERO,
    }
}

/// Sends a code to `identifier` and logs in with it at `at`; the session's first refresh token
/// hashes to `refresh_hash`.
pub(crate) async fn login(
    store: &Store,
    app_id: &AppId,
    identifier: &Identifier,
    refresh_hash: Digest,
    at: OffsetDateTime,
) -> (Session, User) {
    let otp = send_code(store, app_id, identifier, at).await;
    let outcome = store
        .verify_otp(
            verify(app_id, &otp, RIGHT_CODE, at, refresh_hash),
            event(app_id, AuditKind::Login, at),
        )
        .await
        .unwrap();
    match outcome {
        VerifyOtpOutcome::LoggedIn { session, user, .. } => (session, user),
        other => panic!("the right code must log in, got {other:?}"),
    }
}

/// How many audit records named `name` the app has.
pub(crate) async fn count_events(store: &Store, app_id: &AppId, name: &str) -> usize {
    audit_events(store, app_id.as_str())
        .await
        .iter()
        .filter(|event| event.as_str() == name)
        .count()
}

/// How many rows of `table` belong to the app: an UPDATE that changes nothing reports the rows it
/// matched, on both backends.
pub(crate) async fn count_rows(store: &Store, table: &str, app_id: &AppId) -> usize {
    execute_sql(
        store,
        &format!("UPDATE {table} SET app_id = app_id WHERE app_id = '{app_id}'"),
    )
    .await
    .unwrap()
}

/// An active `pro` license of `app_id` with `max_activations` seats, none taken, that never
/// expires, created at [`t0`]. Ids grow with every call, so later licenses list after earlier ones.
pub(crate) fn license(app_id: &AppId, max_activations: u32) -> License {
    License {
        id: license_id(),
        app_id: app_id.clone(),
        user_id: None,
        tenant: None,
        product: Some("pro".to_owned()),
        max_activations,
        active_seats: 0,
        status: LicenseStatus::Active,
        expires_at: None,
        metadata: serde_json::json!({}),
        created_at: t0(),
    }
}

/// Device `device` (its hash is `digest(device)`) asking for a seat on the license whose key hashes
/// to `key` at `now`; a new activation would get a fresh id.
pub(crate) fn activate(app_id: &AppId, key: Digest, device: u8, now: OffsetDateTime) -> Activate {
    Activate {
        app_id: app_id.clone(),
        key_hash: key,
        device_hash: digest(device),
        device_name: Some(format!("Device {device}")),
        activation_id: activation_id(),
        now,
    }
}
