//! A sealed batch of the audit chain written in the sealer's transaction, as each backend writes
//! it best: on PostgreSQL two statements whatever the batch's size, on SQLite (in process, where a
//! statement costs no round trip) one per link, in one trip to the thread that runs them.

use auth_domain::chain::ChainLink;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Binary, Nullable, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::conn::{Prepared, SqliteConn};
use crate::schema::{audit_chain, audit_pending};

/// A sealed batch written, as each backend writes it best.
pub(crate) trait LinkBatch {
    /// Appends `links` to `chain` and takes their records out of the queue, in the caller's
    /// transaction; how many records it took out.
    async fn link_batch(&mut self, chain: &str, links: &[ChainLink]) -> QueryResult<usize>;
}

impl LinkBatch for AsyncPgConnection {
    /// Two statements, however large the batch: the links from arrays, the queue's rows by `ANY`.
    async fn link_batch(&mut self, chain: &str, links: &[ChainLink]) -> QueryResult<usize> {
        let seqs: Vec<i64> = links.iter().map(|link| link.event_seq).collect();
        Prepared(
            diesel::sql_query(
                "INSERT INTO audit_chain (chain, position, event_seq, link, seal) \
                 SELECT $1, position, event_seq, link, seal \
                 FROM unnest($2::bigint[], $3::bigint[], $4::bytea[], $5::bytea[]) \
                 AS t(position, event_seq, link, seal)",
            )
            .bind::<Text, _>(chain)
            .bind::<Array<BigInt>, _>(links.iter().map(|link| link.position).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(&seqs)
            .bind::<Array<Binary>, _>(
                links
                    .iter()
                    .map(|link| link.link.as_slice())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Nullable<Binary>>, _>(
                links
                    .iter()
                    .map(|link| link.seal.as_ref().map(<[u8; 32]>::as_slice))
                    .collect::<Vec<_>>(),
            ),
        )
        .execute(self)
        .await?;
        Prepared(diesel::delete(
            audit_pending::table.filter(audit_pending::seq.eq_any(&seqs)),
        ))
        .execute(self)
        .await
    }
}

impl LinkBatch for SqliteConn {
    /// A statement per link, all in one trip to the thread that runs SQLite's statements: SQLite
    /// runs in this process, so a statement costs no round trip, but a trip per statement would
    /// hold the one connection between them.
    async fn link_batch(&mut self, chain: &str, links: &[ChainLink]) -> QueryResult<usize> {
        let chain = chain.to_owned();
        let links = links.to_vec();
        self.spawn_blocking(move |conn| {
            for link in &links {
                diesel::RunQueryDsl::execute(
                    Prepared(diesel::insert_into(audit_chain::table).values((
                        audit_chain::chain.eq(&chain),
                        audit_chain::position.eq(link.position),
                        audit_chain::event_seq.eq(link.event_seq),
                        audit_chain::link.eq(link.link.as_slice()),
                        audit_chain::seal.eq(link.seal.as_ref().map(<[u8; 32]>::as_slice)),
                    ))),
                    conn,
                )?;
            }
            let seqs: Vec<i64> = links.iter().map(|link| link.event_seq).collect();
            diesel::RunQueryDsl::execute(
                diesel::delete(audit_pending::table.filter(audit_pending::seq.eq_any(&seqs))),
                conn,
            )
        })
        .await
    }
}
