//! What the engine stores. Every method is one atomic operation in domain terms: the adapter runs it
//! as one database transaction that also appends its audit record, so a change and its record commit
//! together or not at all, and every check-then-act is race-free across processes.

use async_trait::async_trait;
use auth_domain::audit::AuditEvent;
use auth_domain::claims::TenantRoles;
use auth_domain::ids::{AppId, OtpId, SessionId, UserId};
use auth_domain::session::Session;
use auth_domain::{App, EmailTemplate, Identifier, SigningKey, TenantSlug, User};
use time::{Duration, OffsetDateTime};

use crate::Digest;

/// Failures every store method may return; nothing above the adapter sees a database error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached now; the caller may retry later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Anything else: a bug or corrupt data. The text is for logs only.
    #[error("storage failure: {0}")]
    Internal(String),
}

/// A new app with its first signing key.
#[derive(Debug, Clone)]
pub struct NewApp {
    pub app: App,
    pub key: SigningKey,
}

/// Why an app could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateAppError {
    #[error("an app with this slug exists")]
    SlugTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Apps, their credentials and keys.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AppStore: Send + Sync {
    /// Stores the app, its key and the `app_created` record.
    ///
    /// MUST return [`CreateAppError::SlugTaken`] if the slug is in use.
    async fn create_app(&self, new: NewApp, audit: AuditEvent) -> Result<(), CreateAppError>;
    async fn find_app(&self, id: &AppId) -> Result<Option<App>, StoreError>;
    async fn find_app_by_slug(&self, slug: &str) -> Result<Option<App>, StoreError>;
    /// Replaces the app's secret with `new_hash` and bumps its version; the old secret keeps
    /// working until `old_valid_until` (`None`: it stops now), replacing any earlier one, and
    /// `audit` is appended, in one transaction. `false` when no such app exists.
    async fn rotate_secret(
        &self,
        app_id: &AppId,
        new_hash: String,
        old_valid_until: Option<OffsetDateTime>,
        audit: AuditEvent,
    ) -> Result<bool, StoreError>;
    /// Makes `key` the app's signing key: every key still signing gets `retired_at = key.created_at`,
    /// each of the app's keys named in `withdraw` that is not withdrawn yet gets `withdrawn_at =
    /// key.created_at`, `key` is stored and `audit` appended, in one transaction that holds the
    /// app's row, so racing rotations leave exactly one key signing. Returns the kids retired.
    async fn rotate_signing_key(
        &self,
        key: SigningKey,
        withdraw: Vec<String>,
        audit: Vec<AuditEvent>,
    ) -> Result<Vec<String>, StoreError>;
    /// Replaces the app's tunable settings in one statement and appends `audit`; `false` when no
    /// such app exists.
    async fn replace_settings(
        &self,
        app_id: &AppId,
        settings: &auth_domain::app_settings::AppSettings,
        audit: AuditEvent,
    ) -> Result<bool, StoreError>;
    /// Sets how long the app's refresh tokens may go unused (`None`: the engine's) and appends
    /// `audit`, in one transaction that changes nothing else; `false` when no such app exists.
    async fn set_refresh_idle(
        &self,
        app_id: &AppId,
        idle: Option<Duration>,
        audit: AuditEvent,
    ) -> Result<bool, StoreError>;
    /// Sets whether the app is disabled and appends `audit`, in one transaction; `false` when no
    /// such app exists.
    async fn set_disabled(
        &self,
        app_id: &AppId,
        disabled: bool,
        audit: AuditEvent,
    ) -> Result<bool, StoreError>;
    /// The apps `owner` created in the portal, oldest first.
    async fn apps_owned_by(&self, owner: &UserId) -> Result<Vec<App>, StoreError>;
    /// The key tokens are signed with now: the newest.
    async fn current_key(&self, app_id: &AppId) -> Result<Option<SigningKey>, StoreError>;
    /// Every key that may still have live tokens, newest first.
    async fn verification_keys(&self, app_id: &AppId) -> Result<Vec<SigningKey>, StoreError>;
    async fn find_key(&self, kid: &str) -> Result<Option<SigningKey>, StoreError>;
    /// Applies `changes` to the app's delivery policy in one statement (what is not changed stays,
    /// whatever another writer does meanwhile) and returns the policy now in force; `None` when no
    /// app has this slug. `changes` is never empty.
    async fn change_delivery_policy(
        &self,
        slug: &str,
        changes: &auth_domain::delivery::DeliveryChanges,
    ) -> Result<Option<auth_domain::delivery::DeliveryPolicy>, StoreError>;
    /// Sets the app's `revoke_sessions_on_role_change`; `false` when no app has this slug.
    async fn set_revoke_sessions_on_role_change(
        &self,
        slug: &str,
        on: bool,
    ) -> Result<bool, StoreError>;
    /// The app's own email template, or `None` when it uses the engine's default.
    async fn email_template(&self, app_id: &AppId) -> Result<Option<EmailTemplate>, StoreError>;
    /// Replaces the app's email template whole (`None` returns it to the engine's default);
    /// `false` when no app has this slug.
    async fn set_email_template(
        &self,
        slug: &str,
        template: Option<EmailTemplate>,
    ) -> Result<bool, StoreError>;
}

/// A code that was delivered and may now be verified.
#[derive(Debug, Clone)]
pub struct NewOtp {
    pub id: OtpId,
    pub app_id: AppId,
    pub identifier: Identifier,
    /// Who the code was sent for (a keyed hash of the caller's address): a new code supersedes
    /// only earlier codes of the same caller.
    pub caller_key: String,
    pub code_hash: Digest,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What a login creates when the code is right.
#[derive(Debug, Clone)]
pub struct NewLogin {
    /// Used only if no user exists yet for the app and identifier.
    pub new_user_id: UserId,
    pub session_id: SessionId,
    pub refresh_hash: Digest,
    pub session_expires_at: OffsetDateTime,
}

/// One presented code.
#[derive(Debug, Clone)]
pub struct VerifyOtp {
    pub app_id: AppId,
    pub otp_id: OtpId,
    /// The keyed hash of the presented digits, compared in constant time.
    pub presented_hash: Digest,
    pub now: OffsetDateTime,
    pub max_attempts: u32,
    pub login: NewLogin,
    /// The tenant the token is to be scoped to: the user must be a member, or nothing happens.
    pub tenant: Option<TenantSlug>,
    /// How long after a code was consumed the same code, presented again (a client retrying a
    /// verification whose answer it lost), logs into the same session once more: `login` holds
    /// the same session id and refresh token hash as the first time, which must still be current.
    pub retry_grace: Duration,
}

/// How a verification ended. The audit record written with it is labelled by the adapter:
/// `login`, `otp_verify_failed` or `otp_locked` (none for the refusals that change nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "one short-lived value per request; boxing buys nothing"
)]
pub enum VerifyOtpOutcome {
    LoggedIn {
        user: User,
        is_new_user: bool,
        session: Session,
        /// Every tenant of the user with its roles, as the token will carry them.
        tenants: TenantRoles,
    },
    /// The code is right but the user is no member of the requested tenant: nothing was consumed,
    /// counted or created.
    TenantNotFound,
    /// Wrong code; the try was counted. At zero remaining the code is dead (`otp_locked`).
    WrongCode {
        attempts_remaining: u32,
        identifier: Identifier,
    },
    /// The code had already used up its tries; nothing was counted.
    Locked,
    Expired,
    /// Unknown, superseded, already used, or another app's.
    NotFound,
}

/// OTP requests and their verification.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait OtpStore: Send + Sync {
    /// Supersedes every unused code for the app, identifier and caller, stores this one and
    /// `otp_sent`. Codes sent for other callers stay usable.
    async fn insert_otp(&self, otp: NewOtp, audit: AuditEvent) -> Result<(), StoreError>;
    /// Counts the try, compares the code and, when right, consumes it and logs the user in
    /// (user, session, first refresh token) — all in one transaction.
    ///
    /// MUST let exactly one of any number of concurrent right answers log in.
    async fn verify_otp(
        &self,
        cmd: VerifyOtp,
        audit: AuditEvent,
    ) -> Result<VerifyOtpOutcome, StoreError>;
    /// Deletes codes that expired before `before`; returns how many.
    async fn purge_expired(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}

/// One presented refresh token.
#[derive(Debug, Clone)]
pub struct RotateRefresh {
    pub app_id: AppId,
    pub presented_hash: Digest,
    pub successor_hash: Digest,
    pub now: OffsetDateTime,
    pub reuse_grace: Duration,
    /// A token issued (last used) at or before this instant went unused too long: expired.
    pub idle_since: OffsetDateTime,
    /// The tenant the token is to be scoped to: the user must be a member, or nothing rotates.
    pub tenant: Option<TenantSlug>,
}

/// How a refresh ended. Audit records: `refresh` on rotation, `refresh_reuse_detected` on reuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    /// This call rotated the token: its successor is now current.
    Rotated {
        session: Session,
        user: User,
        tenants: TenantRoles,
    },
    /// The token was rotated moments ago and its successor is still current: an idempotent retry.
    Retried {
        session: Session,
        user: User,
        tenants: TenantRoles,
    },
    /// The user is no member of the requested tenant; nothing rotated.
    TenantNotFound,
    /// A rotated token came back after the grace window: the session is now revoked.
    Reused,
    Revoked,
    Expired,
    /// Unknown, or another app's.
    Invalid,
}

/// What a logout revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutOutcome {
    Revoked(u64),
    /// Unknown token, or another app's.
    Invalid,
}

/// A user and how many of their sessions are live (neither revoked nor expired).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSessions {
    pub user: User,
    pub live_sessions: u64,
}

/// Which of an app's users to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserQuery {
    pub app_id: AppId,
    /// Only the user with this phone or email.
    pub identifier: Option<Identifier>,
    /// Users with a greater id.
    pub after: Option<UserId>,
    pub limit: u32,
    /// What "live" is measured against.
    pub now: OffsetDateTime,
}

/// Which live sessions of one user to end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokeSessions {
    pub app_id: AppId,
    pub user_id: UserId,
    /// `None`: every live session of the user in the app.
    pub session: Option<SessionId>,
    pub now: OffsetDateTime,
}

/// Sessions, refresh tokens and users.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Rotates a refresh token. MUST rotate each token at most once, however many calls race.
    async fn rotate_refresh(
        &self,
        cmd: RotateRefresh,
        audit: AuditEvent,
    ) -> Result<RotateOutcome, StoreError>;
    /// Revokes the token's session, or every session of its user in the app, with `logout`.
    async fn logout(
        &self,
        app_id: &AppId,
        presented_hash: Digest,
        all_sessions: bool,
        now: OffsetDateTime,
        audit: AuditEvent,
    ) -> Result<LogoutOutcome, StoreError>;
    /// A session of the app, its user, and the roles the user holds now in the app.
    async fn find_session(
        &self,
        app_id: &AppId,
        id: &SessionId,
    ) -> Result<Option<(Session, User, TenantRoles)>, StoreError>;
    /// The app's users in id order, each with their live-session count.
    async fn users(&self, query: UserQuery) -> Result<Vec<UserSessions>, StoreError>;
    /// A user of the app and their newest `limit` sessions, newest first; `None` when the app has
    /// no such user.
    async fn user_sessions(
        &self,
        app_id: &AppId,
        user_id: &UserId,
        limit: u32,
    ) -> Result<Option<(User, Vec<Session>)>, StoreError>;
    /// Ends live sessions of one user and returns how many. `session_revoked` is written, with the
    /// count, only when one ended: revoking an ended or unknown session changes nothing.
    async fn revoke_sessions(
        &self,
        revoke: RevokeSessions,
        audit: AuditEvent,
    ) -> Result<u64, StoreError>;
}

/// A request that was counted against a limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateDecision {
    Allowed,
    Limited { retry_after: Duration },
}

/// One limit of a batch: counted against (`counted`), or only checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    pub key: String,
    pub limit: u32,
    pub window: Duration,
    pub counted: bool,
}

/// The limit of a batch that refused a request: its place in the batch, and when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateRefusal {
    pub index: usize,
    pub retry_after: Duration,
}

/// Counters in fixed windows that start at a key's first hit, kept in the database so they hold
/// across processes.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Counts one hit on `key` and says whether it is within `limit` hits per `window`.
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError>;
    /// Says whether `key` is within `limit` without counting a hit.
    async fn peek(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError>;
    /// Counts and checks `limits` as if one after another ([`Self::hit`] for a counted limit,
    /// [`Self::peek`] for another), stopping at the first that refuses, which is returned: the
    /// limits after it are not counted. One round trip where the backend allows it.
    async fn hit_all(
        &self,
        limits: &[RateLimit],
        now: OffsetDateTime,
    ) -> Result<Option<RateRefusal>, StoreError>;
    /// Forgets `key`'s window, e.g. a cooldown whose send never reached the person.
    async fn reset(&self, key: &str) -> Result<(), StoreError>;
    /// Deletes counters whose window ended before `now`; returns how many.
    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

/// The append-only audit log, for events that change nothing else.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn append(&self, event: AuditEvent) -> Result<(), StoreError>;
}

/// Whether the store can serve requests.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait StoreHealth: Send + Sync {
    async fn ping(&self) -> Result<(), StoreError>;

    /// The master key's check value as stored: `check` itself if none was stored before (it is
    /// stored now, once, even when processes race). A different answer means the engine runs with
    /// another master key than the one its data was written under.
    async fn master_key_check(&self, check: Digest) -> Result<Digest, StoreError>;

    /// How much of the last `window` the store could not reach its database, as this process
    /// saw it (the outage going on, if any, included).
    fn unavailable_within(&self, window: std::time::Duration) -> std::time::Duration;
}
