//! Licenses and seats. Every operation on one license first takes its row (a no-op conditional
//! update, which locks it on Postgres; SQLite runs one writer at a time), so seat counting is exact
//! however many activations race, across processes.

use async_trait::async_trait;
use auth_domain::ids::{ActivationId, AppId, LicenseId, UserId};
use auth_domain::license::{License, LicenseAction, LicenseStatus, VerifyCode};
use auth_domain::{AuditEvent, AuditKind, TenantSlug};
use auth_ports::{
    Activate, ActivateOutcome, Activation, CreateLicenseError, DeactivateOutcome, Digest,
    LicenseRef, LicenseStore, NewLicense, StatusOutcome, StoreError,
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use time::OffsetDateTime;

use crate::Store;
use crate::audit::append;
use crate::conn::{query_error, transaction, with_conn};
use crate::models::{from_micros, micros};
use crate::schema::{activations, licenses, tenants, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = licenses)]
struct LicenseRow {
    id: String,
    app_id: String,
    user_id: Option<String>,
    tenant: Option<String>,
    product: Option<String>,
    max_activations: i64,
    active_seats: i64,
    status: String,
    expires_at: Option<i64>,
    metadata: String,
    created_at: i64,
}

impl LicenseRow {
    fn into_domain(self) -> Result<License, StoreError> {
        let corrupt =
            |what: &str| StoreError::Internal(format!("stored license {what} does not parse"));
        Ok(License {
            id: LicenseId::from_trusted(self.id),
            app_id: AppId::from_trusted(self.app_id),
            user_id: self.user_id.map(UserId::from_trusted),
            tenant: self.tenant,
            product: self.product,
            max_activations: u32::try_from(self.max_activations).map_err(|_| corrupt("seats"))?,
            active_seats: u32::try_from(self.active_seats).map_err(|_| corrupt("seats"))?,
            status: LicenseStatus::parse(&self.status).map_err(|_| corrupt("status"))?,
            expires_at: self.expires_at.map(from_micros).transpose()?,
            metadata: serde_json::from_str(&self.metadata).map_err(|_| corrupt("metadata"))?,
            created_at: from_micros(self.created_at)?,
        })
    }

    /// The domain's verdict on this row at `now` ([`License::standing`]), for use inside a
    /// transaction: a row that does not parse fails the transaction.
    fn standing(&self, now: OffsetDateTime) -> Result<VerifyCode, diesel::result::Error> {
        let license = self
            .clone()
            .into_domain()
            .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
        Ok(license.standing(now))
    }
}

/// Takes the app's license row by key hash (locking it on Postgres) and returns it.
macro_rules! take_by_key {
    ($conn:expr, $app_id:expr, $key_hash:expr) => {
        diesel::update(
            licenses::table
                .filter(licenses::app_id.eq($app_id))
                .filter(licenses::key_hash.eq($key_hash)),
        )
        .set(licenses::updated_at.eq(licenses::updated_at))
        .returning(LicenseRow::as_returning())
        .get_result::<LicenseRow>($conn)
        .await
        .optional()
    };
}

/// Takes the app's license row by id (locking it on Postgres) and returns it.
macro_rules! take_by_id {
    ($conn:expr, $app_id:expr, $id:expr) => {
        diesel::update(
            licenses::table
                .filter(licenses::app_id.eq($app_id))
                .filter(licenses::id.eq($id)),
        )
        .set(licenses::updated_at.eq(licenses::updated_at))
        .returning(LicenseRow::as_returning())
        .get_result::<LicenseRow>($conn)
        .await
        .optional()
    };
}

/// The live activation of a device on a license, if any: `(id, device_name, created_at)`.
macro_rules! live_activation {
    ($conn:expr, $license_id:expr, $device_hash:expr) => {
        activations::table
            .filter(activations::license_id.eq($license_id))
            .filter(activations::device_hash.eq($device_hash))
            .filter(activations::deactivated_at.is_null())
            .select((
                activations::id,
                activations::device_name,
                activations::created_at,
            ))
            .first::<(String, Option<String>, i64)>($conn)
            .await
            .optional()
    };
}

fn failure(audit: AuditEvent, kind: AuditKind, reason: &str) -> AuditEvent {
    audit
        .with_kind(kind)
        .details(serde_json::json!({ "reason": reason }))
}

/// What the activation transaction decided, as rows.
#[expect(
    clippy::large_enum_variant,
    reason = "one short-lived value per activation"
)]
enum Decided {
    Activated {
        license: LicenseRow,
        activation: (String, Option<String>, i64),
        new: bool,
    },
    NotFound,
    Refused(VerifyCode),
    LimitReached,
}

#[async_trait]
impl LicenseStore for Store {
    async fn create_license(
        &self,
        new: NewLicense,
        audit: AuditEvent,
    ) -> Result<(), CreateLicenseError> {
        let license = new.license;
        let metadata = license.metadata.to_string();
        transaction!(self, |conn| {
            let app_id = license.app_id.as_str();
            if let Some(user_id) = &license.user_id {
                let known: i64 = users::table
                    .filter(users::app_id.eq(app_id))
                    .filter(users::id.eq(user_id.as_str()))
                    .count()
                    .get_result(conn)
                    .await?;
                if known == 0 {
                    return Ok(Err(CreateLicenseError::UserNotFound));
                }
            }
            if let Some(tenant) = &license.tenant {
                let known: i64 = tenants::table
                    .filter(tenants::app_id.eq(app_id))
                    .filter(tenants::slug.eq(tenant))
                    .count()
                    .get_result(conn)
                    .await?;
                if known == 0 {
                    return Ok(Err(CreateLicenseError::TenantNotFound));
                }
            }
            diesel::insert_into(licenses::table)
                .values((
                    licenses::id.eq(license.id.as_str()),
                    licenses::app_id.eq(app_id),
                    licenses::key_hash.eq(new.key_hash.as_slice()),
                    licenses::user_id.eq(license.user_id.as_ref().map(UserId::as_str)),
                    licenses::tenant.eq(license.tenant.as_deref()),
                    licenses::product.eq(license.product.as_deref()),
                    licenses::max_activations.eq(i64::from(license.max_activations)),
                    licenses::active_seats.eq(0),
                    licenses::status.eq(license.status.as_str()),
                    licenses::expires_at.eq(license.expires_at.map(micros)),
                    licenses::metadata.eq(&metadata),
                    licenses::created_at.eq(micros(license.created_at)),
                    licenses::updated_at.eq(micros(license.created_at)),
                ))
                .execute(conn)
                .await?;
            append!(conn, audit.actor_or("app").subject(license.id.as_str()))?;
            Ok(Ok(()))
        })
        .map_err(query_error)?
    }

    async fn activate(
        &self,
        cmd: Activate,
        audit: AuditEvent,
    ) -> Result<ActivateOutcome, StoreError> {
        let now = micros(cmd.now);
        let decided = transaction!(self, |conn| {
            let Some(license) = take_by_key!(conn, cmd.app_id.as_str(), cmd.key_hash.as_slice())?
            else {
                append!(
                    conn,
                    failure(audit, AuditKind::LicenseActivationFailed, "NOT_FOUND")
                )?;
                return Ok(Decided::NotFound);
            };
            let audit = audit.subject(license.id.clone());
            let standing = license.standing(cmd.now)?;
            if standing != VerifyCode::Valid {
                append!(
                    conn,
                    failure(audit, AuditKind::LicenseActivationFailed, standing.as_str())
                )?;
                return Ok(Decided::Refused(standing));
            }
            if let Some(activation) =
                live_activation!(conn, &license.id, cmd.device_hash.as_slice())?
            {
                return Ok(Decided::Activated {
                    license,
                    activation,
                    new: false,
                });
            }
            if license.active_seats >= license.max_activations {
                append!(
                    conn,
                    failure(
                        audit,
                        AuditKind::LicenseActivationFailed,
                        "ACTIVATION_LIMIT_REACHED"
                    )
                )?;
                return Ok(Decided::LimitReached);
            }
            let license = diesel::update(licenses::table.find(&license.id))
                .set((
                    licenses::active_seats.eq(licenses::active_seats + 1),
                    licenses::updated_at.eq(now),
                ))
                .returning(LicenseRow::as_returning())
                .get_result::<LicenseRow>(conn)
                .await?;
            diesel::insert_into(activations::table)
                .values((
                    activations::id.eq(cmd.activation_id.as_str()),
                    activations::license_id.eq(&license.id),
                    activations::app_id.eq(cmd.app_id.as_str()),
                    activations::device_hash.eq(cmd.device_hash.as_slice()),
                    activations::device_name.eq(cmd.device_name.as_deref()),
                    activations::created_at.eq(now),
                ))
                .execute(conn)
                .await?;
            let event =
                audit.details(serde_json::json!({ "activation_id": cmd.activation_id.as_str() }));
            append!(conn, event)?;
            let activation = (
                cmd.activation_id.as_str().to_owned(),
                cmd.device_name.clone(),
                now,
            );
            Ok(Decided::Activated {
                license,
                activation,
                new: true,
            })
        })
        .map_err(query_error)?;
        Ok(match decided {
            Decided::Activated {
                license,
                activation: (id, device_name, created_at),
                new,
            } => {
                let license = license.into_domain()?;
                let activation = Activation {
                    id: ActivationId::from_trusted(id),
                    license_id: license.id.clone(),
                    device_name,
                    created_at: from_micros(created_at)?,
                };
                ActivateOutcome::Activated {
                    license,
                    activation,
                    new,
                }
            }
            Decided::NotFound => ActivateOutcome::NotFound,
            Decided::Refused(code) => ActivateOutcome::Refused(code),
            Decided::LimitReached => ActivateOutcome::LimitReached,
        })
    }

    async fn check(
        &self,
        app_id: &AppId,
        key_hash: Digest,
        device_hash: Option<Digest>,
        now: OffsetDateTime,
        audit: AuditEvent,
    ) -> Result<(Option<License>, VerifyCode), StoreError> {
        let (row, code) = transaction!(self, |conn| {
            let license: Option<LicenseRow> = licenses::table
                .filter(licenses::app_id.eq(app_id.as_str()))
                .filter(licenses::key_hash.eq(key_hash.as_slice()))
                .select(LicenseRow::as_select())
                .first(conn)
                .await
                .optional()?;
            let standing = license
                .as_ref()
                .map(|license| license.standing(now))
                .transpose()?;
            let code = match (&license, device_hash, standing) {
                (None, _, _) | (_, _, None) => VerifyCode::NotFound,
                (Some(_), _, Some(standing)) if standing != VerifyCode::Valid => standing,
                (Some(_), None, _) => VerifyCode::Valid,
                (Some(license), Some(device), _) => {
                    if live_activation!(conn, &license.id, device.as_slice())?.is_some() {
                        VerifyCode::Valid
                    } else if license.active_seats == 0 {
                        VerifyCode::NotActivated
                    } else {
                        VerifyCode::DeviceMismatch
                    }
                }
            };
            if code != VerifyCode::Valid {
                let mut event = failure(audit, AuditKind::LicenseVerifyFailed, code.as_str());
                if let Some(license) = &license {
                    event = event.subject(license.id.clone());
                }
                append!(conn, event)?;
            }
            Ok((license, code))
        })
        .map_err(query_error)?;
        Ok((row.map(LicenseRow::into_domain).transpose()?, code))
    }

    async fn deactivate(
        &self,
        app_id: &AppId,
        key_hash: Digest,
        device_hash: Digest,
        now: OffsetDateTime,
        audit: AuditEvent,
    ) -> Result<DeactivateOutcome, StoreError> {
        let now = micros(now);
        let decided = transaction!(self, |conn| {
            let Some(license) = take_by_key!(conn, app_id.as_str(), key_hash.as_slice())? else {
                return Ok(None);
            };
            let freed = diesel::update(
                activations::table
                    .filter(activations::license_id.eq(&license.id))
                    .filter(activations::device_hash.eq(device_hash.as_slice()))
                    .filter(activations::deactivated_at.is_null()),
            )
            .set(activations::deactivated_at.eq(now))
            .execute(conn)
            .await?;
            if freed == 0 {
                return Ok(Some(None));
            }
            let license = diesel::update(licenses::table.find(&license.id))
                .set((
                    licenses::active_seats.eq(licenses::active_seats - 1),
                    licenses::updated_at.eq(now),
                ))
                .returning(LicenseRow::as_returning())
                .get_result::<LicenseRow>(conn)
                .await?;
            append!(conn, audit.actor("app").subject(license.id.clone()))?;
            Ok(Some(Some(license)))
        })
        .map_err(query_error)?;
        Ok(match decided {
            None => DeactivateOutcome::NotFound,
            Some(None) => DeactivateOutcome::NotActivated,
            Some(Some(license)) => DeactivateOutcome::Deactivated(license.into_domain()?),
        })
    }

    async fn change_status(
        &self,
        app_id: &AppId,
        license: LicenseRef,
        action: LicenseAction,
        now: OffsetDateTime,
        audit: AuditEvent,
    ) -> Result<StatusOutcome, StoreError> {
        let now = micros(now);
        let decided = transaction!(self, |conn| {
            let row = match &license {
                LicenseRef::Key(hash) => take_by_key!(conn, app_id.as_str(), hash.as_slice())?,
                LicenseRef::Id(id) => take_by_id!(conn, app_id.as_str(), id.as_str())?,
            };
            let Some(row) = row else {
                return Ok(None);
            };
            let status = LicenseStatus::parse(&row.status)
                .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?;
            let next = match action.apply(status) {
                Err(_) => return Ok(Some(Err(()))),
                Ok(None) => return Ok(Some(Ok(row))),
                Ok(Some(next)) => next,
            };
            let row = diesel::update(licenses::table.find(&row.id))
                .set((
                    licenses::status.eq(next.as_str()),
                    licenses::updated_at.eq(now),
                ))
                .returning(LicenseRow::as_returning())
                .get_result::<LicenseRow>(conn)
                .await?;
            let kind = match action {
                LicenseAction::Suspend => AuditKind::LicenseSuspended,
                LicenseAction::Reinstate => AuditKind::LicenseReinstated,
                LicenseAction::Revoke => AuditKind::LicenseRevoked,
            };
            append!(
                conn,
                audit
                    .with_kind(kind)
                    .actor_or("app")
                    .subject(row.id.clone())
            )?;
            Ok(Some(Ok(row)))
        })
        .map_err(query_error)?;
        Ok(match decided {
            None => StatusOutcome::NotFound,
            Some(Err(())) => StatusOutcome::Revoked,
            Some(Ok(row)) => StatusOutcome::Done(row.into_domain()?),
        })
    }

    async fn list_licenses(
        &self,
        app_id: &AppId,
        user_id: Option<UserId>,
        tenant: Option<TenantSlug>,
        after: Option<LicenseId>,
        limit: u32,
    ) -> Result<Vec<License>, StoreError> {
        let after = after.map(|id| id.as_str().to_owned()).unwrap_or_default();
        let rows: Vec<LicenseRow> = with_conn!(self, |conn| {
            let mut query = licenses::table
                .filter(licenses::app_id.eq(app_id.as_str()))
                .filter(licenses::id.gt(&after))
                .into_boxed();
            if let Some(user_id) = &user_id {
                query = query.filter(licenses::user_id.eq(user_id.as_str()));
            }
            if let Some(tenant) = &tenant {
                query = query.filter(licenses::tenant.eq(tenant.as_str()));
            }
            query
                .order(licenses::id.asc())
                .limit(i64::from(limit.max(1)))
                .select(LicenseRow::as_select())
                .load(conn)
                .await
        })
        .map_err(query_error)?;
        rows.into_iter().map(LicenseRow::into_domain).collect()
    }
}
