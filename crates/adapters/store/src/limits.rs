//! Rate-limit counters: one atomic upsert per hit, so limits hold across engine processes.

use async_trait::async_trait;
use auth_ports::{RateDecision, RateLimiter, StoreError};
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;
use time::{Duration, OffsetDateTime};

use crate::Store;
use crate::conn::{query_error, with_conn};
use crate::models::micros;
use crate::schema::rate_counters;

/// Whole seconds until `window_end`, at least one.
fn retry_after(window_end: i64, now: i64) -> Duration {
    let seconds = ((window_end - now).max(0) + 999_999) / 1_000_000;
    let seconds = seconds.max(1);
    Duration::seconds(seconds)
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
        let window_end =
            now.saturating_add(i64::try_from(window.whole_microseconds()).unwrap_or(i64::MAX));
        let expired = rate_counters::window_end.le(now);
        let (hits, current_end): (i64, i64) = with_conn!(self, |conn| {
            diesel::insert_into(rate_counters::table)
                .values((
                    rate_counters::key.eq(key),
                    rate_counters::window_start.eq(now),
                    rate_counters::window_end.eq(window_end),
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
                .returning((rate_counters::hits, rate_counters::window_end))
                .get_result(conn)
                .await
        })
        .map_err(query_error)?;
        if hits > i64::from(limit) {
            Ok(RateDecision::Limited {
                retry_after: retry_after(current_end, now),
            })
        } else {
            Ok(RateDecision::Allowed)
        }
    }

    async fn peek(
        &self,
        key: &str,
        limit: u32,
        _window: Duration,
        now: OffsetDateTime,
    ) -> Result<RateDecision, StoreError> {
        let now = micros(now);
        let counter: Option<(i64, i64)> = with_conn!(self, |conn| {
            rate_counters::table
                .find(key)
                .filter(rate_counters::window_end.gt(now))
                .select((rate_counters::hits, rate_counters::window_end))
                .first(conn)
                .await
                .optional()
        })
        .map_err(query_error)?;
        Ok(match counter {
            Some((hits, window_end)) if hits >= i64::from(limit) => RateDecision::Limited {
                retry_after: retry_after(window_end, now),
            },
            _ => RateDecision::Allowed,
        })
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
