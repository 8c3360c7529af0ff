//! OTP requests: superseding, counting tries and consuming a code, all with conditional updates.

use async_trait::async_trait;
use auth_domain::claims::TenantRoles;
use auth_domain::ct::constant_time_eq;
use auth_domain::{AuditEvent, AuditKind, Identifier};
use auth_ports::{NewOtp, OtpStore, StoreError, VerifyOtp, VerifyOtpOutcome};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use time::OffsetDateTime;

use crate::Store;
use crate::audit::append;
use crate::conn::{Prepared, query_error, transaction, with_conn};
use crate::models::{SessionRow, UserRow, micros};
use crate::otp_writes::{LoginRows, OtpWrites};
use crate::schema::{otp_requests, refresh_tokens, role_assignments, sessions, tenants, users};
use crate::sessions::user_of_session;
use crate::tenants::{outside_scope, tenant_roles_of};

/// What the transaction decided, before rows are turned back into domain values.
enum Verdict {
    LoggedIn {
        user: UserRow,
        is_new_user: bool,
        session: SessionRow,
        tenants: TenantRoles,
    },
    TenantNotFound,
    WrongCode {
        attempts_remaining: u32,
        kind: String,
        identifier: String,
    },
    Locked,
    Expired,
    NotFound,
}

#[async_trait]
impl OtpStore for Store {
    async fn insert_otp(&self, otp: NewOtp, audit: AuditEvent) -> Result<(), StoreError> {
        with_conn!(self, |conn| conn.write_code(&otp, audit).await).map_err(query_error)
    }

    async fn purge_expired(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        let before = micros(before);
        let deleted = with_conn!(self, |conn| {
            diesel::delete(otp_requests::table.filter(otp_requests::expires_at.lt(before)))
                .execute(conn)
                .await
        })
        .map_err(query_error)?;
        Ok(u64::try_from(deleted).unwrap_or(0))
    }

    async fn verify_otp(
        &self,
        cmd: VerifyOtp,
        audit: AuditEvent,
    ) -> Result<VerifyOtpOutcome, StoreError> {
        let now = micros(cmd.now);
        let max_attempts = i64::from(cmd.max_attempts);
        let grace = i64::try_from(cmd.retry_grace.whole_microseconds()).unwrap_or(0);
        let verdict = transaction!(self, |conn| {
            // Claiming a try is one conditional update: concurrent verifications of one code queue
            // on its row, and each sees what the one before it committed.
            let claimed: Option<(Vec<u8>, String, String, i64)> = Prepared(
                diesel::update(
                    otp_requests::table
                        .filter(otp_requests::id.eq(cmd.otp_id.as_str()))
                        .filter(otp_requests::app_id.eq(cmd.app_id.as_str()))
                        .filter(otp_requests::consumed_at.is_null())
                        .filter(otp_requests::superseded_at.is_null())
                        .filter(otp_requests::expires_at.gt(now))
                        .filter(otp_requests::attempts.lt(max_attempts)),
                )
                .set(otp_requests::attempts.eq(otp_requests::attempts + 1))
                .returning((
                    otp_requests::code_hash,
                    otp_requests::identifier_kind,
                    otp_requests::identifier,
                    otp_requests::attempts,
                )),
            )
            .get_result(conn)
            .await
            .optional()?;

            let Some((code_hash, kind, identifier, attempts)) = claimed else {
                let state: Option<(i64, Option<i64>, Option<i64>)> = otp_requests::table
                    .filter(otp_requests::id.eq(cmd.otp_id.as_str()))
                    .filter(otp_requests::app_id.eq(cmd.app_id.as_str()))
                    .select((
                        otp_requests::expires_at,
                        otp_requests::consumed_at,
                        otp_requests::superseded_at,
                    ))
                    .first(conn)
                    .await
                    .optional()?;
                return match state {
                    Some((_, Some(consumed_at), None))
                        if grace > 0
                            && consumed_at < now
                            && now < consumed_at.saturating_add(grace) =>
                    {
                        // Consumed moments before this presentation arrived (one that arrived
                        // earlier raced the login, and lost): perhaps by this very client, whose
                        // answer was lost. The right code again gets the same session. A wrong
                        // one counts as a try, and past twice the tries no code is answered, so
                        // the window is no way to guess codes.
                        // One conditional statement checks the bound and holds the row for
                        // the rest of the transaction, so no wrong try slips in between.
                        let held: Option<Vec<u8>> = diesel::update(
                            otp_requests::table
                                .find(cmd.otp_id.as_str())
                                .filter(otp_requests::attempts.lt(max_attempts.saturating_mul(2))),
                        )
                        .set(otp_requests::attempts.eq(otp_requests::attempts))
                        .returning(otp_requests::code_hash)
                        .get_result(conn)
                        .await
                        .optional()?;
                        let Some(code_hash) = held else {
                            return Ok(Verdict::NotFound);
                        };
                        if !constant_time_eq(&code_hash, &cmd.presented_hash) {
                            diesel::update(otp_requests::table.find(cmd.otp_id.as_str()))
                                .set(otp_requests::attempts.eq(otp_requests::attempts + 1))
                                .execute(conn)
                                .await?;
                            return Ok(Verdict::NotFound);
                        }
                        let first: Option<(SessionRow, UserRow, Option<i64>)> = sessions::table
                            .inner_join(users::table.on(user_of_session()))
                            .inner_join(
                                refresh_tokens::table.on(refresh_tokens::session_id
                                    .eq(sessions::id)
                                    .and(refresh_tokens::app_id.eq(sessions::app_id))),
                            )
                            .filter(sessions::id.eq(cmd.login.session_id.as_str()))
                            .filter(sessions::app_id.eq(cmd.app_id.as_str()))
                            .filter(sessions::revoked_at.is_null())
                            .filter(sessions::expires_at.gt(now))
                            .filter(
                                refresh_tokens::token_hash.eq(cmd.login.refresh_hash.as_slice()),
                            )
                            .filter(refresh_tokens::rotated_at.is_null())
                            .select((
                                SessionRow::as_select(),
                                UserRow::as_select(),
                                users::first_login_at,
                            ))
                            .first(conn)
                            .await
                            .optional()?;
                        let Some((session, user, first_login_at)) = first else {
                            return Ok(Verdict::NotFound);
                        };
                        let tenants = tenant_roles_of!(conn, cmd.app_id.as_str(), &user.id)?;
                        if outside_scope(cmd.tenant.as_ref(), &tenants) {
                            return Err(diesel::result::Error::RollbackTransaction);
                        }
                        let is_new_user = first_login_at == Some(session.created_at);
                        let event = audit
                            .actor(user.id.clone())
                            .subject(session.id.clone())
                            .details(serde_json::json!({
                                "otp_request_id": cmd.otp_id.as_str(),
                                "is_new_user": is_new_user,
                                "retry": true,
                            }));
                        append!(conn, event)?;
                        Ok(Verdict::LoggedIn {
                            user,
                            is_new_user,
                            session,
                            tenants,
                        })
                    }
                    None | Some((_, Some(_), _) | (_, _, Some(_))) => Ok(Verdict::NotFound),
                    Some((expires_at, None, None)) if expires_at <= now => Ok(Verdict::Expired),
                    Some(_) => Ok(Verdict::Locked),
                };
            };

            if !constant_time_eq(&code_hash, &cmd.presented_hash) {
                let attempts_remaining =
                    u32::try_from((max_attempts - attempts).max(0)).unwrap_or(0);
                let kind_of_event = if attempts_remaining == 0 {
                    AuditKind::OtpLocked
                } else {
                    AuditKind::OtpVerifyFailed
                };
                let event = audit
                    .with_kind(kind_of_event)
                    .details(serde_json::json!({ "attempts_remaining": attempts_remaining }));
                append!(conn, event)?;
                return Ok(Verdict::WrongCode {
                    attempts_remaining,
                    kind,
                    identifier,
                });
            }

            let (phone, email) = if kind == "phone" {
                (Some(identifier.clone()), None)
            } else {
                (None, Some(identifier.clone()))
            };
            // A new person is created by their first login, in one statement; one the engine
            // knows already (perhaps given a role before signing in) is read, with their roles.
            let created: Option<UserRow> = Prepared(
                diesel::insert_into(users::table)
                    .values((
                        UserRow {
                            id: cmd.login.new_user_id.as_str().to_owned(),
                            app_id: cmd.app_id.as_str().to_owned(),
                            phone: phone.clone(),
                            email: email.clone(),
                            created_at: now,
                        },
                        users::first_login_at.eq(now),
                    ))
                    .on_conflict_do_nothing()
                    .returning(UserRow::as_returning()),
            )
            .get_result(conn)
            .await
            .optional()?;
            let (user, tenants, is_new_user) = match created {
                Some(user) => (user, TenantRoles::new(), true),
                None => {
                    let by_identifier = users::table
                        .filter(users::app_id.eq(cmd.app_id.as_str()))
                        .into_boxed();
                    let by_identifier = match (&phone, &email) {
                        (Some(phone), _) => by_identifier.filter(users::phone.eq(phone.clone())),
                        (_, email) => {
                            by_identifier.filter(users::email.eq(email.clone().unwrap_or_default()))
                        }
                    };
                    let user: UserRow = by_identifier
                        .select(UserRow::as_select())
                        .first(conn)
                        .await?;
                    let tenants = tenant_roles_of!(conn, cmd.app_id.as_str(), &user.id)?;
                    // Assigned a role before signing in: new means this is their first login.
                    let is_new_user = Prepared(
                        diesel::update(
                            users::table
                                .find(&user.id)
                                .filter(users::first_login_at.is_null()),
                        )
                        .set(users::first_login_at.eq(now)),
                    )
                    .execute(conn)
                    .await?
                        == 1;
                    (user, tenants, is_new_user)
                }
            };
            if outside_scope(cmd.tenant.as_ref(), &tenants) {
                // Undo the claimed try and the consumption: a right code asked for the wrong
                // tenant must stay usable.
                return Err(diesel::result::Error::RollbackTransaction);
            }

            let session = SessionRow {
                id: cmd.login.session_id.as_str().to_owned(),
                app_id: cmd.app_id.as_str().to_owned(),
                user_id: user.id.clone(),
                created_at: now,
                expires_at: micros(cmd.login.session_expires_at),
                revoked_at: None,
            };
            let event = audit
                .actor(user.id.clone())
                .subject(session.id.clone())
                .details(serde_json::json!({ "otp_request_id": cmd.otp_id.as_str(), "is_new_user": is_new_user }));
            // The code is consumed last, so the login takes effect as close to its commit as can
            // be: a presentation that arrived before then raced it, one after is a retry. The
            // claim above holds the row, so this cannot miss it.
            let rows = LoginRows {
                session: &session,
                refresh_hash: cmd.login.refresh_hash.as_slice(),
                otp_id: cmd.otp_id.as_str(),
            };
            if !conn.write_login(&rows, event).await? {
                return Err(diesel::result::Error::NotFound);
            }
            Ok(Verdict::LoggedIn {
                user,
                is_new_user,
                session,
                tenants,
            })
        });
        let verdict = match verdict {
            Ok(verdict) => verdict,
            Err(diesel::result::Error::RollbackTransaction) => Verdict::TenantNotFound,
            Err(error) => return Err(query_error(error)),
        };

        Ok(match verdict {
            Verdict::LoggedIn {
                user,
                is_new_user,
                session,
                tenants,
            } => VerifyOtpOutcome::LoggedIn {
                user: user.into_domain()?,
                is_new_user,
                session: session.into_domain()?,
                tenants,
            },
            Verdict::TenantNotFound => VerifyOtpOutcome::TenantNotFound,
            Verdict::WrongCode {
                attempts_remaining,
                kind,
                identifier,
            } => VerifyOtpOutcome::WrongCode {
                attempts_remaining,
                identifier: Identifier::from_parts(&kind, &identifier)
                    .map_err(|_| StoreError::Internal("stored identifier does not parse".into()))?,
            },
            Verdict::Locked => VerifyOtpOutcome::Locked,
            Verdict::Expired => VerifyOtpOutcome::Expired,
            Verdict::NotFound => VerifyOtpOutcome::NotFound,
        })
    }
}
