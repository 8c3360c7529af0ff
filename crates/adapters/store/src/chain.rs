//! The audit hash chain: records waiting in `audit_pending`, links in `audit_chain`.

use async_trait::async_trait;
use auth_domain::AuditEvent;
use auth_domain::chain::{ChainLink, Checkpoint, StoredEvent};
use auth_ports::{AuditChain, EventFilter, StoreError};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::Store;
use crate::audit::append;
use crate::conn::{
    PlannedEachTime, defer_foreign_keys, is_unique_violation, query_error, transaction, with_conn,
};
use crate::link_batch::LinkBatch;
use crate::models::micros;
use crate::schema::{audit_chain, audit_checkpoints, audit_events, audit_pending};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
struct EventRow {
    seq: i64,
    id: String,
    app_id: Option<String>,
    event: String,
    outcome: String,
    actor: Option<String>,
    subject: Option<String>,
    client_ip: Option<String>,
    user_agent: Option<String>,
    request_id: Option<String>,
    details: String,
    occurred_at: i64,
}

impl From<EventRow> for StoredEvent {
    fn from(row: EventRow) -> Self {
        Self {
            seq: row.seq,
            id: row.id,
            // A record of no app is stored with `''` as its app (older SQLite rows: NULL).
            app_id: row.app_id.filter(|id| !id.is_empty()),
            event: row.event,
            outcome: row.outcome,
            actor: row.actor,
            subject: row.subject,
            client_ip: row.client_ip,
            user_agent: row.user_agent,
            request_id: row.request_id,
            details: row.details,
            occurred_at: row.occurred_at,
        }
    }
}

fn link_bytes(link: &[u8]) -> Result<[u8; 32], StoreError> {
    link.try_into()
        .map_err(|_| StoreError::Internal("a stored link is not 32 bytes".into()))
}

fn link_of(
    position: i64,
    event_seq: i64,
    link: &[u8],
    seal: Option<&[u8]>,
) -> Result<ChainLink, StoreError> {
    Ok(ChainLink {
        position,
        event_seq,
        link: link_bytes(link)?,
        // A seal of another length is no seal: verify reports the link unsealed.
        seal: seal.and_then(|seal| seal.try_into().ok()),
    })
}

fn limit(count: u32) -> i64 {
    i64::from(count.max(1))
}

impl Store {
    /// Links from position `from` (up to `below`, when given), in position order, at most `count`,
    /// each with its record if that still exists.
    async fn link_rows(
        &self,
        chain: &str,
        from: i64,
        below: Option<i64>,
        count: i64,
    ) -> Result<Vec<(ChainLink, Option<StoredEvent>)>, StoreError> {
        type Row = (i64, i64, Vec<u8>, Option<Vec<u8>>, Option<EventRow>);
        let rows: Vec<Row> = with_conn!(self, |conn| {
            let mut query = audit_chain::table
                .left_join(audit_events::table)
                .filter(audit_chain::chain.eq(chain))
                .filter(audit_chain::position.ge(from))
                .into_boxed();
            if let Some(below) = below {
                query = query.filter(audit_chain::position.lt(below));
            }
            query
                .order(audit_chain::position.asc())
                .limit(count)
                .select((
                    audit_chain::position,
                    audit_chain::event_seq,
                    audit_chain::link,
                    audit_chain::seal,
                    Option::<EventRow>::as_select(),
                ))
                .load(conn)
                .await
        })
        .map_err(query_error)?;
        rows.into_iter()
            .map(|(position, seq, link, seal, row)| {
                let link = link_of(position, seq, &link, seal.as_deref())?;
                Ok((link, row.map(StoredEvent::from)))
            })
            .collect()
    }
}

#[async_trait]
impl AuditChain for Store {
    async fn pending_chains(&self, count: u32) -> Result<Vec<String>, StoreError> {
        with_conn!(self, |conn| {
            audit_pending::table
                .select(audit_pending::chain)
                .distinct()
                .order(audit_pending::chain)
                .limit(limit(count))
                .load(conn)
                .await
        })
        .map_err(query_error)
    }

    async fn chain_head(&self, chain: &str) -> Result<Option<ChainLink>, StoreError> {
        let head: Option<(i64, i64, Vec<u8>, Option<Vec<u8>>)> = with_conn!(self, |conn| {
            audit_chain::table
                .filter(audit_chain::chain.eq(chain))
                .order(audit_chain::position.desc())
                .select((
                    audit_chain::position,
                    audit_chain::event_seq,
                    audit_chain::link,
                    audit_chain::seal,
                ))
                .first(conn)
                .await
                .optional()
        })
        .map_err(query_error)?;
        head.map(|(position, seq, link, seal)| link_of(position, seq, &link, seal.as_deref()))
            .transpose()
    }

    async fn pending(&self, chain: &str, count: u32) -> Result<Vec<StoredEvent>, StoreError> {
        // Planned each time: the queue and the records swing from empty to large, and a plan
        // kept from a young database's first seals scans every record for each one waiting.
        let rows: Vec<EventRow> = with_conn!(self, |conn| {
            PlannedEachTime(
                audit_pending::table
                    .inner_join(audit_events::table)
                    .filter(audit_pending::chain.eq(chain))
                    .order(audit_pending::seq.asc())
                    .limit(limit(count))
                    .select(EventRow::as_select()),
            )
            .load(conn)
            .await
        })
        .map_err(query_error)?;
        Ok(rows.into_iter().map(StoredEvent::from).collect())
    }

    async fn append_links(&self, chain: &str, links: Vec<ChainLink>) -> Result<bool, StoreError> {
        let appended = transaction!(self, |conn| {
            let removed = conn.link_batch(chain, &links).await?;
            if removed != links.len() {
                // Another sealer sealed some of these first: undo everything.
                return Err(diesel::result::Error::RollbackTransaction);
            }
            Ok(())
        });
        match appended {
            Ok(()) => Ok(true),
            Err(diesel::result::Error::RollbackTransaction) => Ok(false),
            Err(error) if is_unique_violation(&error) => Ok(false),
            Err(error) => Err(query_error(error)),
        }
    }

    async fn sealed_events(
        &self,
        chain: &str,
        after: i64,
        filter: &EventFilter,
        count: u32,
    ) -> Result<Vec<(i64, StoredEvent)>, StoreError> {
        let rows: Vec<(i64, EventRow)> = with_conn!(self, |conn| {
            let mut query = audit_chain::table
                .inner_join(audit_events::table)
                .filter(audit_chain::chain.eq(chain))
                .filter(audit_chain::position.gt(after))
                .into_boxed();
            if let Some(since) = filter.since {
                query = query.filter(audit_events::occurred_at.ge(micros(since)));
            }
            if let Some(until) = filter.until {
                query = query.filter(audit_events::occurred_at.lt(micros(until)));
            }
            if let Some(event) = &filter.event {
                query = query.filter(audit_events::event.eq(event));
            }
            if let Some(user_id) = &filter.user_id {
                query = query.filter(
                    audit_events::actor
                        .eq(user_id)
                        .or(audit_events::subject.eq(user_id)),
                );
            }
            query
                .order(audit_chain::position.asc())
                .limit(limit(count))
                .select((audit_chain::position, EventRow::as_select()))
                .load(conn)
                .await
        })
        .map_err(query_error)?;
        Ok(rows
            .into_iter()
            .map(|(position, row)| (position, row.into()))
            .collect())
    }

    async fn links(
        &self,
        chain: &str,
        from: i64,
        count: u32,
    ) -> Result<Vec<(ChainLink, Option<StoredEvent>)>, StoreError> {
        let count = limit(count);
        // In an intact chain positions have no gaps, so the next `count` positions are exactly
        // this range: the primary key answers it directly, whatever the planner's statistics say
        // (without them Postgres would sort every later link for each batch).
        let mut links = self
            .link_rows(chain, from, Some(from + count), count)
            .await?;
        let found = i64::try_from(links.len()).unwrap_or(count);
        if found < count {
            // The end of the chain, or a gap: whatever lies beyond the range comes next.
            links.extend(
                self.link_rows(chain, from + count, None, count - found)
                    .await?,
            );
        }
        Ok(links)
    }

    async fn chains(&self) -> Result<Vec<String>, StoreError> {
        let mut all: Vec<String> = with_conn!(self, |conn| {
            // One round trip; UNION drops the repeats.
            audit_chain::table
                .select(audit_chain::chain)
                .union(audit_pending::table.select(audit_pending::chain))
                .union(audit_checkpoints::table.select(audit_checkpoints::chain))
                .load(conn)
                .await
        })
        .map_err(query_error)?;
        all.sort();
        Ok(all)
    }

    async fn waiting(&self, chain: &str) -> Result<u64, StoreError> {
        let count: i64 = with_conn!(self, |conn| {
            audit_pending::table
                .filter(audit_pending::chain.eq(chain))
                .count()
                .get_result(conn)
                .await
        })
        .map_err(query_error)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn give_seals(
        &self,
        chain: &str,
        seals: Vec<(i64, [u8; 32])>,
    ) -> Result<u64, StoreError> {
        let given = transaction!(self, |conn| {
            let mut given = 0;
            for (position, seal) in &seals {
                given += diesel::update(
                    audit_chain::table
                        .filter(audit_chain::chain.eq(chain))
                        .filter(audit_chain::position.eq(position))
                        .filter(audit_chain::seal.is_null()),
                )
                .set(audit_chain::seal.eq(seal.as_slice()))
                .execute(conn)
                .await?;
            }
            Ok(given)
        })
        .map_err(query_error)?;
        Ok(u64::try_from(given).unwrap_or(0))
    }

    async fn outside_chain(&self, chain: &str, count: u32) -> Result<Vec<StoredEvent>, StoreError> {
        let rows: Vec<EventRow> = with_conn!(self, |conn| {
            // Anti-joins, which both backends plan well on large logs.
            let mut query = audit_events::table
                .left_join(audit_chain::table)
                .left_join(audit_pending::table)
                .filter(audit_chain::event_seq.is_null())
                .filter(audit_pending::seq.is_null())
                .into_boxed();
            query = if chain.is_empty() {
                query.filter(
                    audit_events::app_id
                        .is_null()
                        .or(audit_events::app_id.eq(chain)),
                )
            } else {
                query.filter(audit_events::app_id.eq(chain))
            };
            query
                .order(audit_events::seq.asc())
                .limit(limit(count))
                .select(EventRow::as_select())
                .load(conn)
                .await
        })
        .map_err(query_error)?;
        Ok(rows.into_iter().map(StoredEvent::from).collect())
    }

    async fn latest_checkpoint(&self, chain: &str) -> Result<Option<Checkpoint>, StoreError> {
        let row: Option<(i64, i64, Vec<u8>, String)> = with_conn!(self, |conn| {
            audit_checkpoints::table
                .filter(audit_checkpoints::chain.eq(chain))
                .order(audit_checkpoints::position.desc())
                .select((
                    audit_checkpoints::from_position,
                    audit_checkpoints::position,
                    audit_checkpoints::link,
                    audit_checkpoints::token,
                ))
                .first(conn)
                .await
                .optional()
        })
        .map_err(query_error)?;
        row.map(|(from_position, position, link, token)| {
            Ok(Checkpoint {
                chain: chain.to_owned(),
                from_position,
                position,
                link: link_bytes(&link)?,
                token,
            })
        })
        .transpose()
    }

    async fn archive(&self, checkpoint: Checkpoint, audit: AuditEvent) -> Result<bool, StoreError> {
        let covered = checkpoint.position - checkpoint.from_position + 1;
        let archived = transaction!(self, |conn| {
            // Writing first takes SQLite's write lock before anything is read, so the transaction
            // waits for other writers instead of failing on a stale snapshot.
            diesel::insert_into(audit_checkpoints::table)
                .values((
                    audit_checkpoints::chain.eq(&checkpoint.chain),
                    audit_checkpoints::from_position.eq(checkpoint.from_position),
                    audit_checkpoints::position.eq(checkpoint.position),
                    audit_checkpoints::link.eq(checkpoint.link.as_slice()),
                    audit_checkpoints::token.eq(&checkpoint.token),
                    audit_checkpoints::created_at.eq(micros(audit.occurred_at)),
                ))
                .execute(conn)
                .await?;
            let of_chain =
                audit_checkpoints::table.filter(audit_checkpoints::chain.eq(&checkpoint.chain));
            let previous: Option<i64> = of_chain
                .filter(audit_checkpoints::from_position.lt(checkpoint.from_position))
                .select(diesel::dsl::max(audit_checkpoints::position))
                .first(conn)
                .await?;
            let later: i64 = of_chain
                .filter(audit_checkpoints::from_position.gt(checkpoint.from_position))
                .count()
                .get_result(conn)
                .await?;
            if previous.unwrap_or(0) + 1 != checkpoint.from_position || later > 0 || covered < 1 {
                return Err(diesel::result::Error::RollbackTransaction);
            }
            // Records go first, while their links still show the checkpoint covers them; the
            // links' foreign key is checked at commit, when both are gone.
            diesel::sql_query(defer_foreign_keys(&*conn))
                .execute(conn)
                .await?;
            let covered_links = audit_chain::table
                .filter(audit_chain::chain.eq(&checkpoint.chain))
                .filter(audit_chain::position.ge(checkpoint.from_position))
                .filter(audit_chain::position.le(checkpoint.position));
            let records = diesel::delete(
                audit_events::table
                    .filter(audit_events::seq.eq_any(covered_links.select(audit_chain::event_seq))),
            )
            .execute(conn)
            .await?;
            let links = diesel::delete(covered_links).execute(conn).await?;
            if i64::try_from(records) != Ok(covered) || i64::try_from(links) != Ok(covered) {
                return Err(diesel::result::Error::QueryBuilderError(
                    format!(
                        "the archive covers {covered} positions but {links} links and {records} records were found"
                    )
                    .into(),
                ));
            }
            append!(conn, audit)
        });
        match archived {
            Ok(()) => Ok(true),
            Err(diesel::result::Error::RollbackTransaction) => Ok(false),
            Err(error) if is_unique_violation(&error) => Ok(false),
            Err(error) => Err(query_error(error)),
        }
    }
}
