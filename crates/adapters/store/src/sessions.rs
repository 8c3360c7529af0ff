//! Sessions and refresh-token rotation: exactly one rotation per token, however many calls race.

use async_trait::async_trait;
use auth_domain::Identifier;
use auth_domain::claims::TenantRoles;
use auth_domain::ids::{AppId, SessionId, UserId};
use auth_domain::session::Session;
use auth_domain::{AuditEvent, AuditKind, User};
use auth_ports::{
    Digest, LogoutOutcome, RevokeSessions, RotateOutcome, RotateRefresh, SessionStore, StoreError,
    UserQuery, UserSessions,
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use std::collections::HashMap;
use time::OffsetDateTime;

use crate::Store;
use crate::audit::append;
use crate::conn::{Prepared, no_earlier_than_now, query_error, transaction, with_conn};
use crate::models::{SessionRow, UserRow, micros};
use crate::rotation::RotateAtOnce;
use crate::schema::{refresh_tokens, role_assignments, sessions, tenants, users};
use crate::tenants::{outside_scope, tenant_roles};

/// What the rotation transaction decided, as rows.
enum Verdict {
    Rotated(SessionRow, UserRow, TenantRoles),
    Retried(SessionRow, UserRow, TenantRoles),
    TenantNotFound,
    Reused,
    Revoked,
    Expired,
    Invalid,
}

/// The refresh token `$presented` of app `$app_id`, not rotated yet, of a session live at `$now`:
/// the target of the one rotation, as an `UPDATE` to `.set`. The session is checked by a correlated
/// `EXISTS`, answered by the sessions' primary key; an `IN (SELECT …)` of the live sessions would be
/// planned by SQLite as a scan of every session.
macro_rules! rotation {
    ($presented:expr, $app_id:expr, $now:expr, $idle_since:expr) => {
        diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq($presented))
                .filter(refresh_tokens::app_id.eq($app_id))
                .filter(refresh_tokens::rotated_at.is_null())
                .filter(refresh_tokens::created_at.gt($idle_since))
                .filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>(
                        "EXISTS (SELECT 1 FROM sessions \
                         WHERE sessions.id = refresh_tokens.session_id \
                         AND sessions.revoked_at IS NULL AND sessions.expires_at > ",
                    )
                    .bind::<diesel::sql_types::BigInt, _>($now)
                    .sql(")"),
                ),
        )
    };
}
#[cfg(feature = "test-support")]
pub(crate) use rotation;

/// A session of an app, its user and the user's roles in the app, in one query: one row per role
/// (or one row with no role). Evaluates to `QueryResult<Option<(SessionRow, UserRow, TenantRoles)>>`.
/// Every join is on a whole primary key, app included, so the planner knows each finds one row
/// whatever its statistics say (on a young database they say little, and a cached plan outlives
/// them: a join on the id alone was planned as a scan of every user).
macro_rules! session_with_roles {
    ($conn:expr, $app_id:expr, $session_id:expr) => {
        Prepared(
            sessions::table
                .inner_join(users::table.on($crate::sessions::user_of_session()))
                .left_join(
                    role_assignments::table.on(role_assignments::user_id
                        .eq(users::id)
                        .and(role_assignments::app_id.eq(sessions::app_id))),
                )
                .left_join(tenants::table.on($crate::tenants::tenant_of_assignment()))
                .filter(sessions::id.eq($session_id))
                .filter(sessions::app_id.eq($app_id))
                .order((tenants::slug.asc(), role_assignments::role.asc()))
                .select((
                    SessionRow::as_select(),
                    UserRow::as_select(),
                    tenants::slug.nullable(),
                    role_assignments::role.nullable(),
                )),
        )
        .load::<(SessionRow, UserRow, Option<String>, Option<String>)>($conn)
        .await
        .map(|rows| {
            let mut found = None;
            let mut roles = Vec::new();
            for (session, user, slug, role) in rows {
                roles.extend(slug.zip(role));
                found.get_or_insert((session, user));
            }
            found.map(|(session, user)| (session, user, tenant_roles(roles)))
        })
    };
}

/// A session's user, joined on the user's whole primary key (see [`session_with_roles`]).
pub(crate) fn user_of_session() -> UserOfSession {
    users::id
        .eq(sessions::user_id)
        .and(users::app_id.eq(sessions::app_id))
}

pub(crate) type UserOfSession = diesel::dsl::And<
    diesel::dsl::Eq<users::id, sessions::user_id>,
    diesel::dsl::Eq<users::app_id, sessions::app_id>,
>;

fn into_domain(
    (session, user, tenants): (SessionRow, UserRow, TenantRoles),
) -> Result<(Session, User, TenantRoles), StoreError> {
    Ok((session.into_domain()?, user.into_domain()?, tenants))
}

#[async_trait]
impl SessionStore for Store {
    async fn rotate_refresh(
        &self,
        cmd: RotateRefresh,
        audit: AuditEvent,
    ) -> Result<RotateOutcome, StoreError> {
        let now = micros(cmd.now);
        let idle_since = micros(cmd.idle_since);
        let grace = i64::try_from(cmd.reuse_grace.whole_microseconds()).unwrap_or(0);
        let verdict = with_conn!(self, |conn| {
            // A clean rotation needs no transaction of its own where one statement can do it all.
            if let Some((session, user, tenants)) = conn.rotate_at_once(&cmd, &audit).await? {
                return Ok(Verdict::Rotated(session, user, tenants));
            }
            diesel_async::AsyncConnection::transaction(conn, async move |conn| {
                // The one rotation: a conditional update that only the first presenter can win.
                let rotated: Option<String> = Prepared(
                    rotation!(
                        cmd.presented_hash.as_slice(),
                        cmd.app_id.as_str(),
                        now,
                        idle_since
                    )
                    // The grace window opens when the rotation takes effect, not when the request
                    // arrived: a retry after a database stall must still find its successor. (Postgres
                    // moves it once more to the commit itself, by a deferred trigger.)
                    .set((
                        refresh_tokens::rotated_at.eq(no_earlier_than_now(&*conn, now)),
                        refresh_tokens::successor_hash.eq(cmd.successor_hash.as_slice()),
                    ))
                    .returning(refresh_tokens::session_id),
                )
                .get_result(conn)
                .await
                .optional()?;

                // Naming the successor created it (a trigger, in the same statement).
                if let Some(session_id) = rotated {
                    let (session, user, tenants) =
                        session_with_roles!(conn, cmd.app_id.as_str(), &session_id)?
                            .ok_or(diesel::result::Error::NotFound)?;
                    if outside_scope(cmd.tenant.as_ref(), &tenants) {
                        // Undo the rotation: a token asked for the wrong tenant stays current.
                        return Err(diesel::result::Error::RollbackTransaction);
                    }
                    append!(conn, audit.actor(user.id.clone()).subject(session_id))?;
                    return Ok(Verdict::Rotated(session, user, tenants));
                }

                let presented: Option<(String, i64, Option<i64>, Option<Vec<u8>>)> =
                    refresh_tokens::table
                        .filter(refresh_tokens::token_hash.eq(cmd.presented_hash.as_slice()))
                        .filter(refresh_tokens::app_id.eq(cmd.app_id.as_str()))
                        .select((
                            refresh_tokens::session_id,
                            refresh_tokens::created_at,
                            refresh_tokens::rotated_at,
                            refresh_tokens::successor_hash,
                        ))
                        .first(conn)
                        .await
                        .optional()?;
                let Some((session_id, issued_at, rotated_at, successor)) = presented else {
                    return Ok(Verdict::Invalid);
                };
                let (session, user, tenants) =
                    session_with_roles!(conn, cmd.app_id.as_str(), &session_id)?
                        .ok_or(diesel::result::Error::NotFound)?;
                if session.revoked_at.is_some() {
                    return Ok(Verdict::Revoked);
                }
                // Past the session's lifetime, or a current token unused for longer than the app's
                // idle timeout (a rotated one is judged by its rotation, below).
                if session.expires_at <= now || (rotated_at.is_none() && issued_at <= idle_since) {
                    return Ok(Verdict::Expired);
                }
                let rotated_at = rotated_at.unwrap_or(now);
                let successor_is_current = successor.as_deref()
                    == Some(cmd.successor_hash.as_slice())
                    && refresh_tokens::table
                        .filter(refresh_tokens::token_hash.eq(cmd.successor_hash.as_slice()))
                        .filter(refresh_tokens::rotated_at.is_null())
                        .count()
                        .get_result::<i64>(conn)
                        .await?
                        == 1;
                // A zero window turns retries off, even for a presenter that arrived before the rotation
                // took effect (whose `now` is earlier than `rotated_at`).
                if successor_is_current && grace > 0 && now < rotated_at.saturating_add(grace) {
                    if outside_scope(cmd.tenant.as_ref(), &tenants) {
                        return Err(diesel::result::Error::RollbackTransaction);
                    }
                    let event = audit
                        .actor(user.id.clone())
                        .subject(session_id)
                        .details(serde_json::json!({ "retry": true }));
                    append!(conn, event)?;
                    return Ok(Verdict::Retried(session, user, tenants));
                }

                diesel::update(
                    sessions::table
                        .filter(sessions::id.eq(&session_id))
                        .filter(sessions::revoked_at.is_null()),
                )
                .set(sessions::revoked_at.eq(now))
                .execute(conn)
                .await?;
                let event = audit
                    .with_kind(AuditKind::RefreshReuseDetected)
                    .actor(user.id.clone())
                    .subject(session_id)
                    .details(serde_json::json!({ "rotated_at_micros": rotated_at }));
                append!(conn, event)?;
                Ok(Verdict::Reused)
            })
            .await
        });
        let verdict = match verdict {
            Ok(verdict) => verdict,
            Err(diesel::result::Error::RollbackTransaction) => Verdict::TenantNotFound,
            Err(error) => return Err(query_error(error)),
        };

        Ok(match verdict {
            Verdict::Rotated(session, user, tenants) => {
                let (session, user, tenants) = into_domain((session, user, tenants))?;
                RotateOutcome::Rotated {
                    session,
                    user,
                    tenants,
                }
            }
            Verdict::Retried(session, user, tenants) => {
                let (session, user, tenants) = into_domain((session, user, tenants))?;
                RotateOutcome::Retried {
                    session,
                    user,
                    tenants,
                }
            }
            Verdict::TenantNotFound => RotateOutcome::TenantNotFound,
            Verdict::Reused => RotateOutcome::Reused,
            Verdict::Revoked => RotateOutcome::Revoked,
            Verdict::Expired => RotateOutcome::Expired,
            Verdict::Invalid => RotateOutcome::Invalid,
        })
    }

    async fn logout(
        &self,
        app_id: &AppId,
        presented_hash: Digest,
        all_sessions: bool,
        now: OffsetDateTime,
        audit: AuditEvent,
    ) -> Result<LogoutOutcome, StoreError> {
        let now = micros(now);
        let revoked = transaction!(self, |conn| {
            let owner: Option<(String, String)> = refresh_tokens::table
                .inner_join(
                    sessions::table.on(sessions::id
                        .eq(refresh_tokens::session_id)
                        .and(sessions::app_id.eq(refresh_tokens::app_id))),
                )
                .filter(refresh_tokens::token_hash.eq(presented_hash.as_slice()))
                .filter(refresh_tokens::app_id.eq(app_id.as_str()))
                .select((sessions::id, sessions::user_id))
                .first(conn)
                .await
                .optional()?;
            let Some((session_id, user_id)) = owner else {
                return Ok(None);
            };
            let open = sessions::table
                .filter(sessions::revoked_at.is_null())
                .into_boxed();
            let targets = if all_sessions {
                open.filter(sessions::app_id.eq(app_id.as_str()))
                    .filter(sessions::user_id.eq(&user_id))
            } else {
                open.filter(sessions::id.eq(&session_id))
            };
            let ids: Vec<String> = targets.select(sessions::id).load(conn).await?;
            let count = diesel::update(
                sessions::table
                    .filter(sessions::id.eq_any(&ids))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(now))
            .execute(conn)
            .await?;
            let event = audit.actor(user_id).subject(session_id).details(
                serde_json::json!({ "all_sessions": all_sessions, "revoked_sessions": count }),
            );
            append!(conn, event)?;
            Ok(Some(u64::try_from(count).unwrap_or(0)))
        })
        .map_err(query_error)?;
        Ok(revoked.map_or(LogoutOutcome::Invalid, LogoutOutcome::Revoked))
    }

    async fn find_session(
        &self,
        app_id: &AppId,
        id: &SessionId,
    ) -> Result<Option<(Session, User, TenantRoles)>, StoreError> {
        let found = with_conn!(self, |conn| {
            session_with_roles!(conn, app_id.as_str(), id.as_str())
        })
        .map_err(query_error)?;
        found.map(into_domain).transpose()
    }

    async fn users(&self, query: UserQuery) -> Result<Vec<UserSessions>, StoreError> {
        let now = micros(query.now);
        let after = query
            .after
            .map(|id| id.as_str().to_owned())
            .unwrap_or_default();
        let (users, counts) = with_conn!(self, |conn| {
            let page = async {
                let mut users = users::table
                    .filter(users::app_id.eq(query.app_id.as_str()))
                    .filter(users::id.gt(&after))
                    .into_boxed();
                users = match &query.identifier {
                    Some(Identifier::Phone(phone)) => users.filter(users::phone.eq(phone.as_str())),
                    Some(Identifier::Email(email)) => users.filter(users::email.eq(email.as_str())),
                    None => users,
                };
                let users: Vec<UserRow> = users
                    .order(users::id.asc())
                    .limit(i64::from(query.limit.max(1)))
                    .select(UserRow::as_select())
                    .load(conn)
                    .await?;
                let ids: Vec<&str> = users.iter().map(|user| user.id.as_str()).collect();
                let counts: Vec<(String, i64)> = sessions::table
                    .filter(sessions::user_id.eq_any(&ids))
                    .filter(sessions::revoked_at.is_null())
                    .filter(sessions::expires_at.gt(now))
                    .group_by(sessions::user_id)
                    .select((sessions::user_id, diesel::dsl::count_star()))
                    .load(conn)
                    .await?;
                Ok((users, counts))
            };
            page.await
        })
        .map_err(query_error)?;
        let counts: HashMap<String, i64> = counts.into_iter().collect();
        users
            .into_iter()
            .map(|row| {
                let live = counts.get(&row.id).copied().unwrap_or(0);
                Ok(UserSessions {
                    user: row.into_domain()?,
                    live_sessions: u64::try_from(live).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn user_sessions(
        &self,
        app_id: &AppId,
        user_id: &UserId,
        limit: u32,
    ) -> Result<Option<(User, Vec<Session>)>, StoreError> {
        let found = with_conn!(self, |conn| {
            let rows = async {
                let user: Option<UserRow> = users::table
                    .filter(users::app_id.eq(app_id.as_str()))
                    .filter(users::id.eq(user_id.as_str()))
                    .select(UserRow::as_select())
                    .first(conn)
                    .await
                    .optional()?;
                let Some(user) = user else {
                    return Ok(None);
                };
                let sessions: Vec<SessionRow> = sessions::table
                    .filter(sessions::app_id.eq(app_id.as_str()))
                    .filter(sessions::user_id.eq(user_id.as_str()))
                    .order((sessions::created_at.desc(), sessions::id.desc()))
                    .limit(i64::from(limit.max(1)))
                    .select(SessionRow::as_select())
                    .load(conn)
                    .await?;
                Ok(Some((user, sessions)))
            };
            rows.await
        })
        .map_err(query_error)?;
        let Some((user, sessions)) = found else {
            return Ok(None);
        };
        let sessions = sessions
            .into_iter()
            .map(SessionRow::into_domain)
            .collect::<Result<_, _>>()?;
        Ok(Some((user.into_domain()?, sessions)))
    }

    async fn revoke_sessions(
        &self,
        revoke: RevokeSessions,
        audit: AuditEvent,
    ) -> Result<u64, StoreError> {
        let now = micros(revoke.now);
        let revoked = transaction!(self, |conn| {
            let mut live = diesel::update(sessions::table)
                .filter(sessions::app_id.eq(revoke.app_id.as_str()))
                .filter(sessions::user_id.eq(revoke.user_id.as_str()))
                .filter(sessions::revoked_at.is_null())
                .filter(sessions::expires_at.gt(now))
                .into_boxed();
            if let Some(session) = &revoke.session {
                live = live.filter(sessions::id.eq(session.as_str()));
            }
            let count = live.set(sessions::revoked_at.eq(now)).execute(conn).await?;
            if count > 0 {
                let subject = revoke
                    .session
                    .as_ref()
                    .map_or(revoke.user_id.as_str(), SessionId::as_str);
                let event = audit.subject(subject).details(serde_json::json!({
                    "user_id": revoke.user_id.as_str(),
                    "all_sessions": revoke.session.is_none(),
                    "revoked_sessions": count,
                }));
                append!(conn, event)?;
            }
            Ok(u64::try_from(count).unwrap_or(0))
        })
        .map_err(query_error)?;
        Ok(revoked)
    }
}
