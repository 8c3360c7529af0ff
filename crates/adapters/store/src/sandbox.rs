//! Sandboxed apps' recipients and the operator's approval, each change with its audit record.

use async_trait::async_trait;
use auth_domain::ids::AppId;
use auth_domain::{App, AuditEvent, Identifier};
use auth_ports::{AddTestIdentifier, SandboxStore, StoreError};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use time::OffsetDateTime;

use crate::Store;
use crate::audit::append;
use crate::conn::{query_error, transaction, with_conn};
use crate::models::{corrupt, micros};
use crate::schema::{app_test_identifiers, apps, users};

#[async_trait]
impl SandboxStore for Store {
    async fn may_receive(&self, app: &App, identifier: &Identifier) -> Result<bool, StoreError> {
        let app_id = &app.id;
        let listed: i64 = with_conn!(self, |conn| {
            app_test_identifiers::table
                .filter(app_test_identifiers::app_id.eq(app_id.as_str()))
                .filter(app_test_identifiers::identifier_kind.eq(identifier.kind()))
                .filter(app_test_identifiers::identifier.eq(identifier.as_str()))
                .count()
                .get_result(conn)
                .await
        })
        .map_err(query_error)?;
        if listed > 0 {
            return Ok(true);
        }
        let Some(owner) = &app.owner else {
            return Ok(false);
        };
        let owners = users::table.filter(users::id.eq(owner.as_str()));
        let own: i64 = with_conn!(self, |conn| {
            match identifier {
                Identifier::Phone(phone) => {
                    owners
                        .filter(users::phone.eq(phone.as_str()))
                        .count()
                        .get_result(conn)
                        .await
                }
                Identifier::Email(email) => {
                    owners
                        .filter(users::email.eq(email.as_str()))
                        .count()
                        .get_result(conn)
                        .await
                }
            }
        })
        .map_err(query_error)?;
        Ok(own > 0)
    }

    async fn test_identifiers(&self, app_id: &AppId) -> Result<Vec<Identifier>, StoreError> {
        let rows: Vec<(String, String)> = with_conn!(self, |conn| {
            app_test_identifiers::table
                .filter(app_test_identifiers::app_id.eq(app_id.as_str()))
                .order((
                    app_test_identifiers::created_at,
                    app_test_identifiers::identifier,
                ))
                .select((
                    app_test_identifiers::identifier_kind,
                    app_test_identifiers::identifier,
                ))
                .load(conn)
                .await
        })
        .map_err(query_error)?;
        rows.iter()
            .map(|(kind, value)| {
                Identifier::from_parts(kind, value).map_err(|_| corrupt("test identifier"))
            })
            .collect()
    }

    async fn add_test_identifier(
        &self,
        app_id: &AppId,
        identifier: &Identifier,
        max: usize,
        now: OffsetDateTime,
        audit: AuditEvent,
    ) -> Result<AddTestIdentifier, StoreError> {
        let max = i64::try_from(max).unwrap_or(i64::MAX);
        let outcome = transaction!(self, |conn| {
            // A no-op write to the app's row: it locks the row on Postgres (SQLite has one writer
            // anyway), so racing additions count one after the other.
            diesel::update(apps::table.find(app_id.as_str()))
                .set(apps::id.eq(apps::id))
                .execute(conn)
                .await?;
            let listed = app_test_identifiers::table
                .filter(app_test_identifiers::app_id.eq(app_id.as_str()));
            let already: i64 = listed
                .filter(app_test_identifiers::identifier_kind.eq(identifier.kind()))
                .filter(app_test_identifiers::identifier.eq(identifier.as_str()))
                .count()
                .get_result(conn)
                .await?;
            if already > 0 {
                return Ok(AddTestIdentifier::AlreadyListed);
            }
            let count: i64 = listed.count().get_result(conn).await?;
            if count >= max {
                return Ok(AddTestIdentifier::Full);
            }
            diesel::insert_into(app_test_identifiers::table)
                .values((
                    app_test_identifiers::app_id.eq(app_id.as_str()),
                    app_test_identifiers::identifier_kind.eq(identifier.kind()),
                    app_test_identifiers::identifier.eq(identifier.as_str()),
                    app_test_identifiers::created_at.eq(micros(now)),
                ))
                .execute(conn)
                .await?;
            append!(conn, audit)?;
            Ok(AddTestIdentifier::Added)
        });
        outcome.map_err(query_error)
    }

    async fn remove_test_identifier(
        &self,
        app_id: &AppId,
        identifier: &Identifier,
        audit: AuditEvent,
    ) -> Result<bool, StoreError> {
        let removed = transaction!(self, |conn| {
            let deleted = diesel::delete(
                app_test_identifiers::table
                    .filter(app_test_identifiers::app_id.eq(app_id.as_str()))
                    .filter(app_test_identifiers::identifier_kind.eq(identifier.kind()))
                    .filter(app_test_identifiers::identifier.eq(identifier.as_str())),
            )
            .execute(conn)
            .await?;
            if deleted == 0 {
                return Ok(false);
            }
            append!(conn, audit)?;
            Ok(true)
        });
        removed.map_err(query_error)
    }

    async fn set_sandboxed(
        &self,
        app_id: &AppId,
        sandboxed: bool,
        audit: AuditEvent,
    ) -> Result<bool, StoreError> {
        let changed = transaction!(self, |conn| {
            let updated = diesel::update(apps::table.find(app_id.as_str()))
                .set(apps::sandboxed.eq(sandboxed))
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
}
