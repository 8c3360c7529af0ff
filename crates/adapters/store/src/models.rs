//! Rows as stored, and their conversion to and from the domain.

use auth_domain::app_settings::{AppSettings, Channels, TokenOverrides};
use auth_domain::delivery::{DeliveryChanges, DeliveryPolicy};
use auth_domain::ids::{AppId, SessionId, UserId};
use auth_domain::session::Session;
use auth_domain::{App, AppSlug, AuditEvent, Email, Phone, PreviousSecret, SigningKey, User};
use auth_ports::StoreError;
use diesel::prelude::*;
use time::OffsetDateTime;

use crate::schema::{apps, audit_events, sessions, signing_keys, users};

/// Microseconds since the Unix epoch, the unit every time column uses.
pub(crate) fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_micros(value: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(value) * 1_000)
        .map_err(|_| StoreError::Internal(format!("stored time {value} is out of range")))
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Internal(format!("stored {what} does not parse"))
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = apps)]
pub(crate) struct AppRow {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub secret_hash: String,
    pub secret_version: i64,
    pub disabled: bool,
    pub created_at: i64,
    pub revoke_sessions_on_role_change: bool,
    /// Comma-separated calling codes; NULL for any country.
    pub sms_countries: Option<String>,
    pub sms_per_day: i64,
    pub emails_per_day: i64,
    pub owner_id: Option<String>,
    pub previous_secret_hash: Option<String>,
    pub previous_secret_expires_at: Option<i64>,
    pub access_ttl_secs: Option<i64>,
    pub reuse_grace_secs: Option<i64>,
    pub sms_enabled: bool,
    pub email_enabled: bool,
    pub sandboxed: bool,
    pub refresh_idle_secs: Option<i64>,
}

impl AppRow {
    pub fn from_domain(app: &App) -> Self {
        Self {
            id: app.id.as_str().to_owned(),
            slug: app.slug.as_str().to_owned(),
            name: app.name.clone(),
            secret_hash: app.secret_hash.clone(),
            secret_version: app.secret_version,
            disabled: app.disabled,
            revoke_sessions_on_role_change: app.revoke_sessions_on_role_change,
            sms_countries: app.delivery.sms_countries.as_ref().map(|c| c.join(",")),
            sms_per_day: i64::from(app.delivery.sms_per_day),
            emails_per_day: i64::from(app.delivery.emails_per_day),
            owner_id: app.owner.as_ref().map(|id| id.as_str().to_owned()),
            previous_secret_hash: app
                .previous_secret
                .as_ref()
                .map(|previous| previous.secret_hash.clone()),
            previous_secret_expires_at: app
                .previous_secret
                .as_ref()
                .map(|previous| micros(previous.valid_until)),
            access_ttl_secs: app.tokens.access_ttl.map(|ttl| ttl.whole_seconds()),
            reuse_grace_secs: app.tokens.reuse_grace.map(|grace| grace.whole_seconds()),
            sms_enabled: app.channels.sms,
            email_enabled: app.channels.email,
            sandboxed: app.sandboxed,
            refresh_idle_secs: app.tokens.refresh_idle.map(|idle| idle.whole_seconds()),
            created_at: micros(app.created_at),
        }
    }

    pub fn into_domain(self) -> Result<App, StoreError> {
        Ok(App {
            id: AppId::from_trusted(self.id),
            slug: AppSlug::parse(&self.slug).map_err(|_| corrupt("app slug"))?,
            name: self.name,
            secret_hash: self.secret_hash,
            secret_version: self.secret_version,
            previous_secret: match (self.previous_secret_hash, self.previous_secret_expires_at) {
                (Some(secret_hash), Some(until)) => Some(PreviousSecret {
                    secret_hash,
                    valid_until: from_micros(until)?,
                }),
                _ => None,
            },
            disabled: self.disabled,
            revoke_sessions_on_role_change: self.revoke_sessions_on_role_change,
            delivery: DeliveryPolicy {
                sms_countries: self
                    .sms_countries
                    .as_deref()
                    .map(DeliveryPolicy::parse_countries)
                    .transpose()
                    .map_err(|_| corrupt("SMS country list"))?
                    .flatten(),
                sms_per_day: u32::try_from(self.sms_per_day).map_err(|_| corrupt("SMS cap"))?,
                emails_per_day: u32::try_from(self.emails_per_day)
                    .map_err(|_| corrupt("email cap"))?,
            },
            owner: self.owner_id.map(UserId::from_trusted),
            sandboxed: self.sandboxed,
            tokens: TokenOverrides::new(
                self.access_ttl_secs.map(time::Duration::seconds),
                self.reuse_grace_secs.map(time::Duration::seconds),
            )
            .and_then(|tokens| {
                tokens.with_refresh_idle(self.refresh_idle_secs.map(time::Duration::seconds))
            })
            .map_err(|_| corrupt("token lifetimes"))?,
            channels: Channels {
                sms: self.sms_enabled,
                email: self.email_enabled,
            },
            created_at: from_micros(self.created_at)?,
        })
    }
}

/// Everything the portal's settings form sets, written in one statement.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = apps, treat_none_as_null = true)]
pub(crate) struct SettingsChangeset {
    pub access_ttl_secs: Option<i64>,
    pub reuse_grace_secs: Option<i64>,
    pub sms_enabled: bool,
    pub email_enabled: bool,
    pub sms_countries: Option<String>,
    pub sms_per_day: i64,
    pub emails_per_day: i64,
    pub refresh_idle_secs: Option<i64>,
}

impl SettingsChangeset {
    pub fn from_domain(settings: &AppSettings) -> Self {
        Self {
            access_ttl_secs: settings.tokens.access_ttl.map(|ttl| ttl.whole_seconds()),
            reuse_grace_secs: settings
                .tokens
                .reuse_grace
                .map(|grace| grace.whole_seconds()),
            sms_enabled: settings.channels.sms,
            email_enabled: settings.channels.email,
            sms_countries: settings
                .delivery
                .sms_countries
                .as_ref()
                .map(|c| c.join(",")),
            sms_per_day: i64::from(settings.delivery.sms_per_day),
            emails_per_day: i64::from(settings.delivery.emails_per_day),
            refresh_idle_secs: settings
                .tokens
                .refresh_idle
                .map(|idle| idle.whole_seconds()),
        }
    }
}

/// The columns of an app's delivery policy an operator changes; `None` leaves a column alone.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = apps)]
pub(crate) struct DeliveryChangeset {
    pub sms_countries: Option<Option<String>>,
    pub sms_per_day: Option<i64>,
    pub emails_per_day: Option<i64>,
}

impl DeliveryChangeset {
    pub fn from_domain(changes: &DeliveryChanges) -> Self {
        Self {
            sms_countries: changes
                .sms_countries
                .as_ref()
                .map(|countries| countries.as_ref().map(|c| c.join(","))),
            sms_per_day: changes.sms_per_day.map(i64::from),
            emails_per_day: changes.emails_per_day.map(i64::from),
        }
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = signing_keys)]
pub(crate) struct KeyRow {
    pub kid: String,
    pub app_id: String,
    pub encrypted_private_key: Vec<u8>,
    pub public_key_der: Vec<u8>,
    pub created_at: i64,
    pub retired_at: Option<i64>,
    pub withdrawn_at: Option<i64>,
}

impl KeyRow {
    pub fn from_domain(key: &SigningKey) -> Self {
        Self {
            kid: key.kid.clone(),
            app_id: key.app_id.as_str().to_owned(),
            encrypted_private_key: key.encrypted_private_key.clone(),
            public_key_der: key.public_key_der.clone(),
            created_at: micros(key.created_at),
            retired_at: key.retired_at.map(micros),
            withdrawn_at: key.withdrawn_at.map(micros),
        }
    }

    pub fn into_domain(self) -> Result<SigningKey, StoreError> {
        Ok(SigningKey {
            kid: self.kid,
            app_id: AppId::from_trusted(self.app_id),
            encrypted_private_key: self.encrypted_private_key,
            public_key_der: self.public_key_der,
            created_at: from_micros(self.created_at)?,
            retired_at: self.retired_at.map(from_micros).transpose()?,
            withdrawn_at: self.withdrawn_at.map(from_micros).transpose()?,
        })
    }
}

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    pub id: String,
    pub app_id: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub created_at: i64,
}

impl UserRow {
    pub fn into_domain(self) -> Result<User, StoreError> {
        Ok(User {
            id: UserId::from_trusted(self.id),
            app_id: AppId::from_trusted(self.app_id),
            phone: self
                .phone
                .map(|p| Phone::parse(&p))
                .transpose()
                .map_err(|_| corrupt("phone"))?,
            email: self
                .email
                .map(|e| Email::parse(&e))
                .transpose()
                .map_err(|_| corrupt("email"))?,
            created_at: from_micros(self.created_at)?,
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub(crate) struct SessionRow {
    pub id: String,
    pub app_id: String,
    pub user_id: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

impl SessionRow {
    pub fn into_domain(self) -> Result<Session, StoreError> {
        Ok(Session {
            id: SessionId::from_trusted(self.id),
            app_id: AppId::from_trusted(self.app_id),
            user_id: UserId::from_trusted(self.user_id),
            created_at: from_micros(self.created_at)?,
            expires_at: from_micros(self.expires_at)?,
            revoked_at: self.revoked_at.map(from_micros).transpose()?,
        })
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_events)]
pub(crate) struct NewAuditRow {
    pub id: String,
    /// The app's id, or `''` for a record of no app: the key a sharded database places it by.
    pub app_id: String,
    pub event: &'static str,
    pub outcome: &'static str,
    pub actor: Option<String>,
    pub subject: Option<String>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub details: String,
    pub occurred_at: i64,
}

impl NewAuditRow {
    pub fn from_domain(event: AuditEvent) -> Self {
        Self {
            id: event.id.as_str().to_owned(),
            app_id: event
                .app_id
                .map(|id| id.as_str().to_owned())
                .unwrap_or_default(),
            event: event.kind.as_str(),
            outcome: event.kind.outcome().as_str(),
            actor: event.actor,
            subject: event.subject,
            client_ip: event.context.client_ip,
            user_agent: event.context.user_agent,
            request_id: Some(event.context.request_id).filter(|id| !id.is_empty()),
            details: event.details.to_string(),
            occurred_at: micros(event.occurred_at),
        }
    }
}
