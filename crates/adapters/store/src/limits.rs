//! Rate-limit counters: atomic upserts, so limits hold across engine processes. A request's whole
//! batch of limits is one statement on Postgres.

use async_trait::async_trait;
use auth_ports::{RateDecision, RateLimit, RateLimiter, RateRefusal, StoreError};
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::{Duration, OffsetDateTime};

use crate::Store;
use crate::conn::{Prepared, SqliteConn, query_error, with_conn};
use crate::models::micros;
use crate::schema::rate_counters;

/// Whole seconds until `window_end`, at least one.
fn retry_after(window_end: i64, now: i64) -> Duration {
    let seconds = ((window_end - now).max(0) + 999_999) / 1_000_000;
    let seconds = seconds.max(1);
    Duration::seconds(seconds)
}

/// The window of a counter first hit at `now`: its end, in microseconds.
fn window_end(now: i64, window: Duration) -> i64 {
    now.saturating_add(i64::try_from(window.whole_microseconds()).unwrap_or(i64::MAX))
}

/// The statement that counts one hit on `$key`, whose window (if one starts now, at `$now`) ends
/// at `$window_end`; it returns `(i64, i64)`: the hits in the current window and its end.
macro_rules! count_hit {
    ($key:expr, $window_end:expr, $now:expr) => {{
        let expired = rate_counters::window_end.le($now);
        Prepared(
            diesel::insert_into(rate_counters::table)
                .values((
                    rate_counters::key.eq($key),
                    rate_counters::window_start.eq($now),
                    rate_counters::window_end.eq($window_end),
                    rate_counters::hits.eq(1),
                ))
                .on_conflict(rate_counters::key)
                .do_update()
                .set((
                    rate_counters::hits.eq(case_when(expired, 1.into_sql::<BigInt>())
                        .otherwise(rate_counters::hits + 1)),
                    rate_counters::window_start.eq(case_when(
                        expired,
                        excluded(rate_counters::window_start),
                    )
                    .otherwise(rate_counters::window_start)),
                    rate_counters::window_end.eq(case_when(
                        expired,
                        excluded(rate_counters::window_end),
                    )
                    .otherwise(rate_counters::window_end)),
                ))
                .returning((rate_counters::hits, rate_counters::window_end)),
        )
    }};
}

/// The query for `$key`'s counter in a window still open at `$now`, without counting: its hits
/// and the window's end, `(i64, i64)`, if there is one.
macro_rules! current_counter {
    ($key:expr, $now:expr) => {
        rate_counters::table
            .find($key)
            .filter(rate_counters::window_end.gt($now))
            .select((rate_counters::hits, rate_counters::window_end))
    };
}

/// One counter as a batch left it.
#[derive(QueryableByName)]
struct Counter {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    hits: i64,
    #[diesel(sql_type = BigInt)]
    window_start: i64,
    #[diesel(sql_type = BigInt)]
    window_end: i64,
}

/// A batch of limits, as each backend runs it best.
trait HitAll {
    async fn hit_all(&mut self, limits: &[RateLimit], now: i64)
    -> QueryResult<Option<RateRefusal>>;
}

impl HitAll for AsyncPgConnection {
    /// One statement counts every counted limit and reads every other. The counters are locked in
    /// key order, whatever order the batch names them in, so two batches never deadlock. Counts
    /// after the first refusal are then taken back (a second statement, only when refused).
    async fn hit_all(
        &mut self,
        limits: &[RateLimit],
        now: i64,
    ) -> QueryResult<Option<RateRefusal>> {
        let (counted, peeked): (Vec<&RateLimit>, Vec<&RateLimit>) =
            limits.iter().partition(|limit| limit.counted);
        let counters: Vec<Counter> = Prepared(
            diesel::sql_query(
                "WITH hit AS (\
                 INSERT INTO rate_counters AS c (key, window_start, window_end, hits) \
                 SELECT key, $3, ends, 1 FROM unnest($1::text[], $2::bigint[]) AS t(key, ends) \
                 ORDER BY key \
                 ON CONFLICT (key) DO UPDATE SET \
                 hits = CASE WHEN c.window_end <= $3 THEN 1 ELSE c.hits + 1 END, \
                 window_start = CASE WHEN c.window_end <= $3 THEN excluded.window_start ELSE c.window_start END, \
                 window_end = CASE WHEN c.window_end <= $3 THEN excluded.window_end ELSE c.window_end END \
                 RETURNING key, hits, window_start, window_end) \
                 SELECT key, hits, window_start, window_end FROM hit \
                 UNION ALL \
                 SELECT key, hits, window_start, window_end FROM rate_counters \
                 WHERE key = ANY($4::text[]) AND window_end > $3",
            )
            .bind::<Array<Text>, _>(counted.iter().map(|limit| limit.key.as_str()).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(
                counted
                    .iter()
                    .map(|limit| window_end(now, limit.window))
                    .collect::<Vec<_>>(),
            )
            .bind::<BigInt, _>(now)
            .bind::<Array<Text>, _>(peeked.iter().map(|limit| limit.key.as_str()).collect::<Vec<_>>()),
        )
        .load(self)
        .await?;
        let Some(refusal) = first_refusal(limits, &counters, now) else {
            return Ok(None);
        };
        for limit in limits[refusal.index + 1..]
            .iter()
            .filter(|limit| limit.counted)
        {
            let Some(counter) = counters.iter().find(|counter| counter.key == limit.key) else {
                continue;
            };
            // Only the window this batch counted in: a counter restarted since keeps its count.
            Prepared(
                diesel::update(
                    rate_counters::table
                        .find(&counter.key)
                        .filter(rate_counters::window_start.eq(counter.window_start))
                        .filter(rate_counters::hits.gt(0)),
                )
                .set(rate_counters::hits.eq(rate_counters::hits - 1)),
            )
            .execute(self)
            .await?;
        }
        Ok(Some(refusal))
    }
}

impl HitAll for SqliteConn {
    /// One after another, stopping at the first refusal, in one trip to the thread that runs
    /// SQLite's statements: a trip per statement would hold the one connection between them.
    async fn hit_all(
        &mut self,
        limits: &[RateLimit],
        now: i64,
    ) -> QueryResult<Option<RateRefusal>> {
        let limits = limits.to_vec();
        self.spawn_blocking(move |conn| {
            for (index, limit) in limits.iter().enumerate() {
                let counter = if limit.counted {
                    Some(diesel::RunQueryDsl::get_result::<(i64, i64)>(
                        count_hit!(&limit.key, window_end(now, limit.window), now),
                        conn,
                    )?)
                } else {
                    diesel::RunQueryDsl::first::<(i64, i64)>(
                        current_counter!(&limit.key, now),
                        conn,
                    )
                    .optional()?
                };
                if let Some(retry_after) = counter
                    .and_then(|(hits, end)| refused(limit.counted, limit.limit, hits, end, now))
                {
                    return Ok(Some(RateRefusal { index, retry_after }));
                }
            }
            Ok(None)
        })
        .await
    }
}

/// When a limit of `limit` hits refuses a request that left its counter at `hits` until
/// `window_end`: how long until it would not. A counted hit refuses past the limit, a check (the
/// hit not counted) at it.
fn refused(counted: bool, limit: u32, hits: i64, window_end: i64, now: i64) -> Option<Duration> {
    let ceiling = i64::from(limit);
    let over = if counted {
        hits > ceiling
    } else {
        hits >= ceiling
    };
    over.then(|| retry_after(window_end, now))
}

/// [`refused`] as the port answers for one limit.
fn decision(refused: Option<Duration>) -> RateDecision {
    refused.map_or(RateDecision::Allowed, |retry_after| RateDecision::Limited {
        retry_after,
    })
}

/// The first of `limits`, in order, that `counters` refuse.
fn first_refusal(limits: &[RateLimit], counters: &[Counter], now: i64) -> Option<RateRefusal> {
    limits.iter().enumerate().find_map(|(index, limit)| {
        let counter = counters.iter().find(|counter| counter.key == limit.key)?;
        let retry_after = refused(
            limit.counted,
            limit.limit,
            counter.hits,
            counter.window_end,
            now,
        )?;
        Some(RateRefusal { index, retry_after })
    })
}

#[async_trait]
impl RateLimiter for Store {
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        let now = micros(now);
        let window_end = window_end(now, window);
        let (hits, current_end) = with_conn!(self, |conn| count_hit!(key, window_end, now)
            .get_result::<(i64, i64)>(conn)
            .await)
        .map_err(query_error)?;
        Ok(decision(refused(true, limit, hits, current_end, now)))
    }

    async fn peek(
        &self,
        key: &str,
        limit: u32,
        _window: Duration,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        let now = micros(now);
        let counter = with_conn!(self, |conn| current_counter!(key, now)
            .first::<(i64, i64)>(conn)
            .await
            .optional())
        .map_err(query_error)?;
        Ok(decision(counter.and_then(|(hits, end)| {
            refused(false, limit, hits, end, now)
        })))
    }

    async fn hit_all(
        &self,
        limits: &[RateLimit],
        now: OffsetDateTime,
    ) -> Result<Option<RateRefusal>, StoreError> {
        let now = micros(now);
        with_conn!(self, |conn| HitAll::hit_all(conn, limits, now).await).map_err(query_error)
    }

    async fn purge_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        let now = micros(now);
        let deleted = with_conn!(self, |conn| {
            diesel::delete(rate_counters::table.filter(rate_counters::window_end.le(now)))
                .execute(conn)
                .await
        })
        .map_err(query_error)?;
        Ok(u64::try_from(deleted).unwrap_or(0))
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        with_conn!(self, |conn| {
            diesel::delete(rate_counters::table.find(key))
                .execute(conn)
                .await
        })
        .map(|_| ())
        .map_err(query_error)
    }
}
