//! The schema after every migration is ready to shard by app on a distributed PostgreSQL
//! (Citus), checked against that system's own rules: each table is either one that grows, sharded
//! by the column [`shard_key`] names, or configuration, copied to every node; a sharded table's
//! shard column is never NULL and is part of every unique key (a node can only check uniqueness
//! among its own rows); a foreign key between two sharded tables of one group pairs their shard
//! columns (so it is checked on one node), and no configuration table refers to a sharded one.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cluster::Cluster;
use crate::support::TestServer;
use crate::tables::{CONFIGURATION, GROWING, shard_key};

/// `SELECT`s whose rows are `|`-separated fields, as `psql -At` prints them.
async fn rows(cluster: &Cluster, query: &str) -> Vec<Vec<String>> {
    cluster
        .sql_in("engine", query)
        .await
        .lines()
        .map(|line| line.split('|').map(str::to_owned).collect())
        .collect()
}

/// The colocation group a sharded table belongs to: tables sharded by app, or rate counters.
fn group(table: &str) -> Option<&'static str> {
    shard_key(table).map(|key| if key == "key" { "counters" } else { "app" })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_growing_table_is_ready_to_shard_by_app() {
    let Some(cluster) = Cluster::start().await else {
        return;
    };
    cluster.sql("CREATE DATABASE engine").await;
    let url = format!("postgres://postgres@127.0.0.1:{}/engine", cluster.port());
    let migrated = TestServer::builder()
        .postgres(&url)
        .run_to_exit(&["migrate"], Duration::from_secs(60))
        .await;
    assert!(migrated.status.success(), "migrate: {migrated:?}");

    let mut problems = Vec::new();
    let tables = rows(
        &cluster,
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace \
         AND relkind = 'r' AND relname NOT LIKE '\\_\\_diesel%' ORDER BY 1",
    )
    .await;
    assert!(tables.len() > 10, "the migrated tables: {tables:?}");
    for table in tables.iter().map(|row| row[0].as_str()) {
        if !GROWING.contains(&table) && !CONFIGURATION.contains(&table) {
            problems.push(format!(
                "{table}: neither growing nor configuration; say how it shards"
            ));
        }
    }

    let nullable: BTreeMap<(String, String), bool> = rows(
        &cluster,
        "SELECT table_name, column_name, is_nullable FROM information_schema.columns \
         WHERE table_schema = 'public'",
    )
    .await
    .into_iter()
    .map(|row| ((row[0].clone(), row[1].clone()), row[2] == "YES"))
    .collect();
    for &table in GROWING {
        let key = shard_key(table).expect("a growing table has a shard key");
        match nullable.get(&(table.to_owned(), key.to_owned())) {
            None => problems.push(format!("{table}: no shard column {key}")),
            Some(true) => problems.push(format!("{table}.{key} may be NULL")),
            Some(false) => {}
        }
    }

    let unique_keys = rows(
        &cluster,
        "SELECT c.relname, i.indexrelid::regclass, \
         array_to_string(ARRAY(SELECT a.attname FROM unnest(i.indkey) k \
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k), ',') \
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid \
         WHERE i.indisunique AND c.relnamespace = 'public'::regnamespace",
    )
    .await;
    for row in &unique_keys {
        let (table, index, columns) = (&row[0], &row[1], &row[2]);
        if let Some(key) = shard_key(table)
            && !columns.split(',').any(|column| column == key)
        {
            problems.push(format!(
                "{table}: unique key {index} ({columns}) leaves out the shard column {key}"
            ));
        }
    }

    let foreign_keys = rows(
        &cluster,
        "SELECT conname, conrelid::regclass, confrelid::regclass, \
         array_to_string(ARRAY(SELECT a.attname FROM unnest(conkey) WITH ORDINALITY k(n, o) \
         JOIN pg_attribute a ON a.attrelid = conrelid AND a.attnum = k.n ORDER BY k.o), ','), \
         array_to_string(ARRAY(SELECT a.attname FROM unnest(confkey) WITH ORDINALITY k(n, o) \
         JOIN pg_attribute a ON a.attrelid = confrelid AND a.attnum = k.n ORDER BY k.o), ',') \
         FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace",
    )
    .await;
    assert!(
        foreign_keys.len() > 10,
        "the foreign keys: {foreign_keys:?}"
    );
    for row in &foreign_keys {
        let (name, from, to) = (&row[0], row[1].as_str(), row[2].as_str());
        let (columns, referenced): (Vec<&str>, Vec<&str>) =
            (row[3].split(',').collect(), row[4].split(',').collect());
        match (group(from), group(to)) {
            // To configuration, which every node holds.
            (_, None) => {}
            (None, Some(_)) => problems.push(format!(
                "{name}: configuration table {from} refers to sharded {to}"
            )),
            (Some(a), Some(b)) if a != b => problems.push(format!(
                "{name}: {from} and {to} are sharded apart, yet one refers to the other"
            )),
            (Some(_), Some(_)) => {
                let paired = columns.iter().zip(&referenced).any(|(column, target)| {
                    Some(*column) == shard_key(from) && Some(*target) == shard_key(to)
                });
                if !paired {
                    problems.push(format!(
                        "{name}: {from} ({}) -> {to} ({}) does not pair the shard columns",
                        row[3], row[4]
                    ));
                }
            }
        }
    }

    assert!(
        problems.is_empty(),
        "the schema is not ready to shard by app:\n{}",
        problems.join("\n")
    );
}
