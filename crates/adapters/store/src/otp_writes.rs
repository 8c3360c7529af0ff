//! The writes of a code sent and of a login, as each backend does them best: on PostgreSQL one
//! statement each (a code sent commits on its own, in one round trip instead of five; a login's
//! rows take one round trip of its transaction instead of four), on SQLite (in process, where a
//! statement costs no round trip) a statement per row.

use std::sync::LazyLock;

use auth_domain::AuditEvent;
use auth_ports::NewOtp;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::audit::{QUEUE_RECORD, append_in_process, bind_record, record_cte};
use crate::conn::{Dialect, Prepared, SqliteConn, no_earlier_than_now};
use crate::models::{NewAuditRow, SessionRow, micros};
use crate::schema::{otp_requests, refresh_tokens, sessions};

/// What a right code writes: the login's session and first refresh token, both made at the
/// session's `created_at`.
pub(crate) struct LoginRows<'a> {
    pub session: &'a SessionRow,
    pub refresh_hash: &'a [u8],
    /// The code that logged in, consumed last.
    pub otp_id: &'a str,
}

pub(crate) trait OtpWrites {
    /// Supersedes the caller's earlier live codes for the same person, stores `otp` and records
    /// `audit`: all of it or none, in a transaction of its own.
    async fn write_code(&mut self, otp: &NewOtp, audit: AuditEvent) -> QueryResult<()>;

    /// In the verifying transaction: `login`'s session and refresh token, its audit record, and
    /// the code consumed (when it took effect: no earlier than the database's clock); whether the
    /// code was still unconsumed.
    async fn write_login(&mut self, login: &LoginRows<'_>, audit: AuditEvent) -> QueryResult<bool>;
}

/// A code sent, as one statement: `WITH` queries run on one snapshot, so the new code is not
/// among the codes it supersedes.
static WRITE_CODE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH superseded AS (UPDATE otp_requests SET superseded_at = $6 \
           WHERE app_id = $2 AND identifier_kind = $3 AND identifier = $4 AND caller_key = $5 \
           AND consumed_at IS NULL AND superseded_at IS NULL), \
         code AS (INSERT INTO otp_requests (id, app_id, identifier_kind, identifier, caller_key, \
           created_at, code_hash, attempts, expires_at) \
           VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)), \
         {} {QUEUE_RECORD}",
        record_cte(9)
    )
});

/// A login's rows, as one statement; the code's consumption is the statement's own result.
static WRITE_LOGIN: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH session AS (INSERT INTO sessions (id, app_id, user_id, created_at, expires_at) \
           VALUES ($1, $2, $3, $4, $5)), \
         token AS (INSERT INTO refresh_tokens (token_hash, session_id, app_id, created_at) \
           VALUES ($6, $1, $2, $4)), \
         {}, queued AS ({QUEUE_RECORD}) \
         UPDATE otp_requests SET consumed_at = GREATEST($4, {clock}) \
         WHERE id = $7 AND consumed_at IS NULL",
        record_cte(8),
        clock = <AsyncPgConnection as Dialect>::CLOCK_MICROS,
    )
});

impl OtpWrites for AsyncPgConnection {
    async fn write_code(&mut self, otp: &NewOtp, audit: AuditEvent) -> QueryResult<()> {
        let query = diesel::sql_query(WRITE_CODE.as_str())
            .into_boxed()
            .bind::<Text, _>(otp.id.as_str().to_owned())
            .bind::<Text, _>(otp.app_id.as_str().to_owned())
            .bind::<Text, _>(otp.identifier.kind())
            .bind::<Text, _>(otp.identifier.as_str().to_owned())
            .bind::<Text, _>(otp.caller_key.clone())
            .bind::<BigInt, _>(micros(otp.created_at))
            .bind::<Binary, _>(otp.code_hash.to_vec())
            .bind::<BigInt, _>(micros(otp.expires_at));
        Prepared(bind_record(query, NewAuditRow::from_domain(audit)))
            .execute(self)
            .await
            .map(|_| ())
    }

    async fn write_login(&mut self, login: &LoginRows<'_>, audit: AuditEvent) -> QueryResult<bool> {
        let session = login.session;
        let query = diesel::sql_query(WRITE_LOGIN.as_str())
            .into_boxed()
            .bind::<Text, _>(session.id.clone())
            .bind::<Text, _>(session.app_id.clone())
            .bind::<Text, _>(session.user_id.clone())
            .bind::<BigInt, _>(session.created_at)
            .bind::<BigInt, _>(session.expires_at)
            .bind::<Binary, _>(login.refresh_hash.to_vec())
            .bind::<Text, _>(login.otp_id.to_owned());
        let consumed = Prepared(bind_record(query, NewAuditRow::from_domain(audit)))
            .execute(self)
            .await?;
        Ok(consumed == 1)
    }
}

impl OtpWrites for SqliteConn {
    /// A transaction of a statement per row, in one trip to the thread that runs SQLite's
    /// statements: a trip per statement would hold the one connection between them.
    async fn write_code(&mut self, otp: &NewOtp, audit: AuditEvent) -> QueryResult<()> {
        let otp = otp.clone();
        let now = micros(otp.created_at);
        self.spawn_blocking(move |conn| {
            conn.transaction(|conn| {
                diesel::RunQueryDsl::execute(
                    Prepared(
                        diesel::update(
                            otp_requests::table
                                .filter(otp_requests::app_id.eq(otp.app_id.as_str()))
                                .filter(otp_requests::identifier_kind.eq(otp.identifier.kind()))
                                .filter(otp_requests::identifier.eq(otp.identifier.as_str()))
                                .filter(otp_requests::caller_key.eq(&otp.caller_key))
                                .filter(otp_requests::consumed_at.is_null())
                                .filter(otp_requests::superseded_at.is_null()),
                        )
                        .set(otp_requests::superseded_at.eq(now)),
                    ),
                    conn,
                )?;
                diesel::RunQueryDsl::execute(
                    Prepared(diesel::insert_into(otp_requests::table).values((
                        otp_requests::id.eq(otp.id.as_str()),
                        otp_requests::app_id.eq(otp.app_id.as_str()),
                        otp_requests::identifier_kind.eq(otp.identifier.kind()),
                        otp_requests::identifier.eq(otp.identifier.as_str()),
                        otp_requests::code_hash.eq(otp.code_hash.as_slice()),
                        otp_requests::attempts.eq(0),
                        otp_requests::created_at.eq(now),
                        otp_requests::expires_at.eq(micros(otp.expires_at)),
                        otp_requests::caller_key.eq(&otp.caller_key),
                    ))),
                    conn,
                )?;
                append_in_process(conn, NewAuditRow::from_domain(audit))
            })
        })
        .await
    }

    /// A statement per row, in the caller's transaction, in one trip to the thread that runs
    /// SQLite's statements.
    async fn write_login(&mut self, login: &LoginRows<'_>, audit: AuditEvent) -> QueryResult<bool> {
        let session = login.session.clone();
        let refresh_hash = login.refresh_hash.to_vec();
        let otp_id = login.otp_id.to_owned();
        self.spawn_blocking(move |conn| {
            diesel::RunQueryDsl::execute(
                Prepared(diesel::insert_into(sessions::table).values(&session)),
                conn,
            )?;
            diesel::RunQueryDsl::execute(
                Prepared(diesel::insert_into(refresh_tokens::table).values((
                    refresh_tokens::token_hash.eq(&refresh_hash),
                    refresh_tokens::session_id.eq(&session.id),
                    refresh_tokens::app_id.eq(&session.app_id),
                    refresh_tokens::created_at.eq(session.created_at),
                ))),
                conn,
            )?;
            append_in_process(conn, NewAuditRow::from_domain(audit))?;
            // Last, so the login takes effect as close to its commit as can be.
            let consumed = diesel::RunQueryDsl::execute(
                Prepared(
                    diesel::update(
                        otp_requests::table
                            .filter(otp_requests::id.eq(&otp_id))
                            .filter(otp_requests::consumed_at.is_null()),
                    )
                    .set(
                        otp_requests::consumed_at
                            .eq(no_earlier_than_now(&*conn, session.created_at)),
                    ),
                ),
                conn,
            )?;
            Ok(consumed == 1)
        })
        .await
    }
}
