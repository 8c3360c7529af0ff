//! Apps and their signing keys.

use async_trait::async_trait;
use auth_domain::app_settings::AppSettings;
use auth_domain::delivery::{DeliveryChanges, DeliveryPolicy};
use auth_domain::ids::{AppId, UserId};
use auth_domain::{App, AuditEvent, EmailTemplate, SigningKey};
use auth_ports::{AppStore, CreateAppError, NewApp, StoreError};
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable};
use diesel_async::RunQueryDsl;
use time::OffsetDateTime;

use crate::Store;
use crate::audit::append;
use crate::conn::{is_unique_violation, query_error, transaction, with_conn};
use crate::models::{AppRow, DeliveryChangeset, KeyRow, SettingsChangeset};
use crate::models::{corrupt, micros};
use crate::schema::{app_email_templates, apps, signing_keys};

#[async_trait]
impl AppStore for Store {
    async fn create_app(&self, new: NewApp, audit: AuditEvent) -> Result<(), CreateAppError> {
        let app = AppRow::from_domain(&new.app);
        let key = KeyRow::from_domain(&new.key);
        let result = transaction!(self, |conn| {
            diesel::insert_into(apps::table)
                .values(&app)
                .execute(conn)
                .await?;
            diesel::insert_into(signing_keys::table)
                .values(&key)
                .execute(conn)
                .await?;
            append!(conn, audit)
        });
        match result {
            Ok(()) => Ok(()),
            Err(error) if is_unique_violation(&error) => Err(CreateAppError::SlugTaken),
            Err(error) => Err(CreateAppError::Store(query_error(error))),
        }
    }

    async fn find_app(&self, id: &AppId) -> Result<Option<App>, StoreError> {
        let ticket = self.cache_ticket().await?;
        if let Some(app) = ticket.and_then(|_| self.cache.app(id.as_str())) {
            return Ok(Some(app));
        }
        let row: Option<AppRow> = with_conn!(self, |conn| {
            apps::table
                .find(id.as_str())
                .select(AppRow::as_select())
                .first(conn)
                .await
                .optional()
        })
        .map_err(query_error)?;
        let app = row.map(AppRow::into_domain).transpose()?;
        if let (Some(ticket), Some(app)) = (ticket, &app) {
            self.cache.keep_app(ticket, app);
        }
        Ok(app)
    }

    async fn find_app_by_slug(&self, slug: &str) -> Result<Option<App>, StoreError> {
        let row: Option<AppRow> = with_conn!(self, |conn| {
            apps::table
                .filter(apps::slug.eq(slug))
                .select(AppRow::as_select())
                .first(conn)
                .await
                .optional()
        })
        .map_err(query_error)?;
        row.map(AppRow::into_domain).transpose()
    }

    async fn rotate_secret(
        &self,
        app_id: &AppId,
        new_hash: String,
        old_valid_until: Option<OffsetDateTime>,
        audit: AuditEvent,
    ) -> Result<bool, StoreError> {
        let until = old_valid_until.map(micros);
        let rotated = transaction!(self, |conn| {
            // The old hash stays only when it keeps working for a while.
            let keeps_old = until.into_sql::<Nullable<BigInt>>().is_not_null();
            let updated = diesel::update(apps::table.find(app_id.as_str()))
                .set((
                    apps::previous_secret_hash.eq(case_when(keeps_old, apps::secret_hash)),
                    apps::previous_secret_expires_at.eq(until),
                    apps::secret_hash.eq(&new_hash),
                    apps::secret_version.eq(apps::secret_version + 1),
                ))
                .execute(conn)
                .await?;
            if updated == 0 {
                return Ok(false);
            }
            append!(conn, audit)?;
            Ok(true)
        });
        self.forget_config();
        rotated.map_err(query_error)
    }

    async fn rotate_signing_key(
        &self,
        key: SigningKey,
        withdraw: Vec<String>,
        audit: Vec<AuditEvent>,
    ) -> Result<Vec<String>, StoreError> {
        let row = KeyRow::from_domain(&key);
        let retired = transaction!(self, |conn| {
            // A no-op write to the app's row: it locks the row on Postgres (SQLite has one writer
            // anyway), so a racing rotation waits and then sees this one's key.
            diesel::update(apps::table.find(&row.app_id))
                .set(apps::id.eq(apps::id))
                .execute(conn)
                .await?;
            let signing = signing_keys::table
                .filter(signing_keys::app_id.eq(&row.app_id))
                .filter(signing_keys::retired_at.is_null());
            let retired: Vec<String> = signing.select(signing_keys::kid).load(conn).await?;
            diesel::update(signing)
                .set(signing_keys::retired_at.eq(Some(row.created_at)))
                .execute(conn)
                .await?;
            if !withdraw.is_empty() {
                diesel::update(
                    signing_keys::table
                        .filter(signing_keys::app_id.eq(&row.app_id))
                        .filter(signing_keys::kid.eq_any(&withdraw))
                        .filter(signing_keys::withdrawn_at.is_null()),
                )
                .set(signing_keys::withdrawn_at.eq(Some(row.created_at)))
                .execute(conn)
                .await?;
            }
            diesel::insert_into(signing_keys::table)
                .values(&row)
                .execute(conn)
                .await?;
            for audit in audit {
                append!(conn, audit)?;
            }
            Ok(retired)
        });
        self.forget_config();
        retired.map_err(query_error)
    }

    async fn set_refresh_idle(
        &self,
        app_id: &AppId,
        idle: Option<time::Duration>,
        audit: AuditEvent,
    ) -> Result<bool, StoreError> {
        let changed = transaction!(self, |conn| {
            let updated = diesel::update(apps::table.find(app_id.as_str()))
                .set(apps::refresh_idle_secs.eq(idle.map(|idle| idle.whole_seconds())))
                .execute(conn)
                .await?;
            if updated == 0 {
                return Ok(false);
            }
            append!(conn, audit)?;
            Ok(true)
        });
        self.forget_config();
        changed.map_err(query_error)
    }

    async fn set_disabled(
        &self,
        app_id: &AppId,
        disabled: bool,
        audit: AuditEvent,
    ) -> Result<bool, StoreError> {
        let changed = transaction!(self, |conn| {
            let updated = diesel::update(apps::table.find(app_id.as_str()))
                .set(apps::disabled.eq(disabled))
                .execute(conn)
                .await?;
            if updated == 0 {
                return Ok(false);
            }
            append!(conn, audit)?;
            Ok(true)
        });
        self.forget_config();
        changed.map_err(query_error)
    }

    async fn replace_settings(
        &self,
        app_id: &AppId,
        settings: &AppSettings,
        audit: AuditEvent,
    ) -> Result<bool, StoreError> {
        let changeset = SettingsChangeset::from_domain(settings);
        let replaced = transaction!(self, |conn| {
            let updated = diesel::update(apps::table.find(app_id.as_str()))
                .set(&changeset)
                .execute(conn)
                .await?;
            if updated == 0 {
                return Ok(false);
            }
            append!(conn, audit)?;
            Ok(true)
        });
        self.forget_config();
        replaced.map_err(query_error)
    }

    async fn apps_owned_by(&self, owner: &UserId) -> Result<Vec<App>, StoreError> {
        let rows: Vec<AppRow> = with_conn!(self, |conn| {
            apps::table
                .filter(apps::owner_id.eq(owner.as_str()))
                .order((apps::created_at.asc(), apps::id.asc()))
                .select(AppRow::as_select())
                .load(conn)
                .await
        })
        .map_err(query_error)?;
        rows.into_iter().map(AppRow::into_domain).collect()
    }

    async fn current_key(&self, app_id: &AppId) -> Result<Option<SigningKey>, StoreError> {
        Ok(self.verification_keys(app_id).await?.into_iter().next())
    }

    async fn verification_keys(&self, app_id: &AppId) -> Result<Vec<SigningKey>, StoreError> {
        let ticket = self.cache_ticket().await?;
        if let Some(keys) = ticket.and_then(|_| self.cache.keys_of(app_id.as_str())) {
            return Ok(keys);
        }
        let rows: Vec<KeyRow> = with_conn!(self, |conn| {
            signing_keys::table
                .filter(signing_keys::app_id.eq(app_id.as_str()))
                .order((signing_keys::created_at.desc(), signing_keys::kid.desc()))
                .select(KeyRow::as_select())
                .load(conn)
                .await
        })
        .map_err(query_error)?;
        let keys = rows
            .into_iter()
            .map(KeyRow::into_domain)
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(ticket) = ticket {
            self.cache.keep_keys_of(ticket, app_id.as_str(), &keys);
        }
        Ok(keys)
    }

    async fn set_revoke_sessions_on_role_change(
        &self,
        slug: &str,
        on: bool,
    ) -> Result<bool, StoreError> {
        let updated = with_conn!(self, |conn| {
            diesel::update(apps::table.filter(apps::slug.eq(slug)))
                .set(apps::revoke_sessions_on_role_change.eq(on))
                .execute(conn)
                .await
        })
        .map_err(query_error)?;
        self.forget_config();
        Ok(updated == 1)
    }

    async fn change_delivery_policy(
        &self,
        slug: &str,
        changes: &DeliveryChanges,
    ) -> Result<Option<DeliveryPolicy>, StoreError> {
        let changeset = DeliveryChangeset::from_domain(changes);
        let row: Option<AppRow> = transaction!(self, |conn| {
            let updated = diesel::update(apps::table.filter(apps::slug.eq(slug)))
                .set(&changeset)
                .execute(conn)
                .await?;
            if updated == 0 {
                return Ok(None);
            }
            apps::table
                .filter(apps::slug.eq(slug))
                .select(AppRow::as_select())
                .first(conn)
                .await
                .optional()
        })
        .map_err(query_error)?;
        self.forget_config();
        row.map(|row| row.into_domain().map(|app| app.delivery))
            .transpose()
    }

    async fn email_template(&self, app_id: &AppId) -> Result<Option<EmailTemplate>, StoreError> {
        let row: Option<(String, String, String)> = with_conn!(self, |conn| {
            app_email_templates::table
                .find(app_id.as_str())
                .select((
                    app_email_templates::subject,
                    app_email_templates::text_body,
                    app_email_templates::html_body,
                ))
                .first(conn)
                .await
                .optional()
        })
        .map_err(query_error)?;
        row.map(|(subject, text, html)| {
            EmailTemplate::new(&subject, &text, &html).map_err(|_| corrupt("email template"))
        })
        .transpose()
    }

    async fn set_email_template(
        &self,
        slug: &str,
        template: Option<EmailTemplate>,
    ) -> Result<bool, StoreError> {
        let found = transaction!(self, |conn| {
            let Some(app_id) = apps::table
                .filter(apps::slug.eq(slug))
                .select(apps::id)
                .first::<String>(conn)
                .await
                .optional()?
            else {
                return Ok(false);
            };
            let row = app_email_templates::table.find(&app_id);
            match &template {
                Some(template) => {
                    let parts = (
                        app_email_templates::subject.eq(template.subject()),
                        app_email_templates::text_body.eq(template.text()),
                        app_email_templates::html_body.eq(template.html()),
                    );
                    diesel::insert_into(app_email_templates::table)
                        .values((app_email_templates::app_id.eq(&app_id), parts))
                        .on_conflict(app_email_templates::app_id)
                        .do_update()
                        .set(parts)
                        .execute(conn)
                        .await?;
                }
                None => {
                    diesel::delete(row).execute(conn).await?;
                }
            }
            Ok(true)
        });
        found.map_err(query_error)
    }

    async fn find_key(&self, kid: &str) -> Result<Option<SigningKey>, StoreError> {
        let ticket = self.cache_ticket().await?;
        if let Some(key) = ticket.and_then(|_| self.cache.key(kid)) {
            return Ok(Some(key));
        }
        let row: Option<KeyRow> = with_conn!(self, |conn| {
            signing_keys::table
                .find(kid)
                .select(KeyRow::as_select())
                .first(conn)
                .await
                .optional()
        })
        .map_err(query_error)?;
        let key = row.map(KeyRow::into_domain).transpose()?;
        if let (Some(ticket), Some(key)) = (ticket, &key) {
            self.cache.keep_key(ticket, key);
        }
        Ok(key)
    }
}
