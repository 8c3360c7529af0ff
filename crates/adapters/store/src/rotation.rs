//! A refresh that rotates its token, as one statement where the backend allows it: on PostgreSQL
//! the rotation, its audit record and the answer's session, user and roles take one round trip
//! (and commit on their own) instead of five. Anything but a clean rotation (a racer won, a reuse,
//! a revoked session, a tenant the user is not in) is left to the transaction that tells those
//! apart.

use auth_domain::AuditEvent;
use auth_domain::claims::TenantRoles;
use auth_ports::RotateRefresh;
use std::sync::LazyLock;

use diesel::QueryResult;
use diesel::sql_types::{BigInt, Binary, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::conn::{Dialect, Prepared, SqliteConn};
use crate::models::{NewAuditRow, SessionRow, UserRow, micros};
use crate::tenants::tenant_roles;

/// A rotation's session, its user and the user's roles in the session's app.
pub(crate) type Rotated = (SessionRow, UserRow, TenantRoles);

pub(crate) trait RotateAtOnce {
    /// Rotates `cmd`'s token and records `audit` (as the session's user, about the session) if the
    /// token is current, its session live, and its user a member of the asked tenant; `None` when
    /// not, or when this backend leaves it all to the transaction.
    async fn rotate_at_once(
        &mut self,
        cmd: &RotateRefresh,
        audit: &AuditEvent,
    ) -> QueryResult<Option<Rotated>>;
}

impl RotateAtOnce for SqliteConn {
    /// SQLite runs in this process: a transaction costs no round trips, so it does it all.
    async fn rotate_at_once(
        &mut self,
        _cmd: &RotateRefresh,
        _audit: &AuditEvent,
    ) -> QueryResult<Option<Rotated>> {
        Ok(None)
    }
}

/// One row per role of the rotated session's user (or one row with no role).
#[derive(diesel::QueryableByName)]
struct RotatedRow {
    #[diesel(sql_type = Text)]
    session_id: String,
    #[diesel(sql_type = Text)]
    app_id: String,
    #[diesel(sql_type = Text)]
    user_id: String,
    #[diesel(sql_type = BigInt)]
    session_created_at: i64,
    #[diesel(sql_type = BigInt)]
    expires_at: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    revoked_at: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    phone: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    email: Option<String>,
    #[diesel(sql_type = BigInt)]
    user_created_at: i64,
    #[diesel(sql_type = Nullable<Text>)]
    slug: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    role: Option<String>,
}

/// The rotation, its audit record and the answer, as one statement. The same conditions as the
/// transaction's rotation, and the asked tenant's membership besides: a token the transaction would
/// rotate and then refuse for its tenant is not rotated here.
static STATEMENT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH rotated AS (\
           UPDATE refresh_tokens SET rotated_at = GREATEST($1, {clock}), successor_hash = $2 \
           WHERE token_hash = $3 AND app_id = $4 AND rotated_at IS NULL AND created_at > $15 \
           AND EXISTS (SELECT 1 FROM sessions \
             WHERE sessions.id = refresh_tokens.session_id \
             AND sessions.app_id = refresh_tokens.app_id \
             AND sessions.revoked_at IS NULL AND sessions.expires_at > $1 \
             AND ($5::TEXT IS NULL OR EXISTS (SELECT 1 FROM role_assignments \
               JOIN tenants ON tenants.id = role_assignments.tenant_id \
               WHERE role_assignments.user_id = sessions.user_id \
               AND role_assignments.app_id = sessions.app_id AND tenants.slug = $5))) \
           RETURNING session_id, app_id), \
         session AS (SELECT sessions.* FROM sessions JOIN rotated \
           ON sessions.id = rotated.session_id AND sessions.app_id = rotated.app_id), \
         record AS (INSERT INTO audit_events (id, app_id, event, outcome, actor, subject, \
           client_ip, user_agent, request_id, details, occurred_at) \
           SELECT $6, $7, $8, $9, session.user_id, session.id, $10, $11, $12, $13, $14 \
           FROM session RETURNING seq, app_id), \
         pending AS (INSERT INTO audit_pending (seq, chain) SELECT seq, app_id FROM record) \
         SELECT session.id AS session_id, session.app_id, session.user_id, \
           session.created_at AS session_created_at, session.expires_at, session.revoked_at, \
           users.phone, users.email, users.created_at AS user_created_at, \
           tenants.slug, role_assignments.role \
         FROM session JOIN users ON users.id = session.user_id AND users.app_id = session.app_id \
         LEFT JOIN role_assignments ON role_assignments.user_id = session.user_id \
           AND role_assignments.app_id = session.app_id \
         LEFT JOIN tenants ON tenants.id = role_assignments.tenant_id \
           AND tenants.app_id = role_assignments.app_id \
         ORDER BY tenants.slug, role_assignments.role",
        clock = <AsyncPgConnection as Dialect>::CLOCK_MICROS,
    )
});

impl RotateAtOnce for AsyncPgConnection {
    async fn rotate_at_once(
        &mut self,
        cmd: &RotateRefresh,
        audit: &AuditEvent,
    ) -> QueryResult<Option<Rotated>> {
        let now = micros(cmd.now);
        let record = NewAuditRow::from_domain(audit.clone());
        let rows: Vec<RotatedRow> = Prepared(
            diesel::sql_query(STATEMENT.as_str())
                .bind::<BigInt, _>(now)
                .bind::<Binary, _>(cmd.successor_hash.as_slice())
                .bind::<Binary, _>(cmd.presented_hash.as_slice())
                .bind::<Text, _>(cmd.app_id.as_str())
                .bind::<Nullable<Text>, _>(cmd.tenant.as_ref().map(|t| t.as_str()))
                .bind::<Text, _>(record.id)
                .bind::<Text, _>(record.app_id)
                .bind::<Text, _>(record.event)
                .bind::<Text, _>(record.outcome)
                .bind::<Nullable<Text>, _>(record.client_ip)
                .bind::<Nullable<Text>, _>(record.user_agent)
                .bind::<Nullable<Text>, _>(record.request_id)
                .bind::<Text, _>(record.details)
                .bind::<BigInt, _>(record.occurred_at)
                .bind::<BigInt, _>(micros(cmd.idle_since)),
        )
        .load(self)
        .await?;
        let mut rows = rows.into_iter().peekable();
        let Some(first) = rows.peek() else {
            return Ok(None);
        };
        let session = SessionRow {
            id: first.session_id.clone(),
            app_id: first.app_id.clone(),
            user_id: first.user_id.clone(),
            created_at: first.session_created_at,
            expires_at: first.expires_at,
            revoked_at: first.revoked_at,
        };
        let user = UserRow {
            id: first.user_id.clone(),
            app_id: first.app_id.clone(),
            phone: first.phone.clone(),
            email: first.email.clone(),
            created_at: first.user_created_at,
        };
        let roles = tenant_roles(rows.filter_map(|row| row.slug.zip(row.role)));
        Ok(Some((session, user, roles)))
    }
}
