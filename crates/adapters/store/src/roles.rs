//! Least privilege on PostgreSQL: the grants a runtime role needs, and no more.
//!
//! The role the engine serves with must not own the tables: only an owner can alter them, disable
//! their triggers or truncate them. It gets row access to what it writes, and on the audit log's
//! tables only `SELECT` and `INSERT` (plus `DELETE` on the sealing queue, which it drains).

use auth_ports::StoreError;
use diesel::QueryableByName;
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use crate::Store;
use crate::conn::{Pools, pool_error, query_error};

/// Tables whose rows are history: the runtime role may read and append, never change or remove.
const APPEND_ONLY: [&str; 2] = ["audit_events", "audit_chain"];
/// Checkpoints are written only by `audit archive`, as the owner: the runtime role only reads them.
const READ_ONLY: [&str; 2] = ["audit_checkpoints", "__diesel_schema_migrations"];
/// The sealing queue: appended with each record, drained by the sealer.
const QUEUE: &str = "audit_pending";

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct RoleFacts {
    #[diesel(sql_type = Bool)]
    exists: bool,
    /// A superuser, or a role that may create roles (and so, before PostgreSQL 16, grant itself
    /// the owner's).
    #[diesel(sql_type = Bool)]
    superuser: bool,
    /// It owns a table of the schema, or is a member of a role that does.
    #[diesel(sql_type = Bool)]
    owns_tables: bool,
}

/// Why no grant was made.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// The backend, the name or the role is not one to grant to; the text says why.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a runtime role was granted, table by table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeGrants {
    pub schema: String,
    /// `(table, privileges)`, in table order.
    pub tables: Vec<(String, &'static str)>,
}

/// Whether `role` is a plain SQL identifier: what an operator names a role, and safe to quote.
fn plain_identifier(role: &str) -> bool {
    let mut chars = role.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && role.len() <= 63
}

/// The privileges the runtime role gets on `table`.
fn privileges(table: &str) -> &'static str {
    if APPEND_ONLY.contains(&table) {
        "SELECT, INSERT"
    } else if table == QUEUE {
        "SELECT, INSERT, DELETE"
    } else if READ_ONLY.contains(&table) {
        "SELECT"
    } else {
        "SELECT, INSERT, UPDATE, DELETE"
    }
}

impl Store {
    /// Grants `role` exactly what serving needs on this database's tables and sequences, after
    /// revoking whatever it held on them; run by the tables' owner, after every migration (new
    /// tables need grants too). The same grants however often it runs.
    ///
    /// # Errors
    /// [`GrantError::Refused`] on SQLite (no roles), for a name that is not a plain lower-case
    /// identifier, a role that does not exist, is a superuser or owns the tables; store failures.
    pub async fn grant_runtime(&self, role: &str) -> Result<RuntimeGrants, GrantError> {
        let Pools::Postgres(pool) = &self.pools else {
            return Err(GrantError::Refused(
                "SQLite has no database roles: the database file's permissions decide who may write it".into(),
            ));
        };
        if !plain_identifier(role) {
            return Err(GrantError::Refused(format!(
                "--role {role}: a role name of lower-case letters, digits and underscores, starting with a letter or underscore"
            )));
        }
        let mut conn = pool.get().await.map_err(pool_error)?;
        let facts: RoleFacts = diesel::sql_query(
            "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS exists, \
                    COALESCE((SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = $1), \
                             false) AS superuser, \
                    EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() \
                            AND EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) \
                            AND pg_has_role($1, tableowner, 'MEMBER')) AS owns_tables",
        )
        .bind::<Text, _>(role)
        .get_result(&mut *conn)
        .await
        .map_err(query_error)?;
        if !facts.exists {
            return Err(GrantError::Refused(format!(
                "--role {role}: no such role; create it first: CREATE ROLE {role} LOGIN PASSWORD '…'"
            )));
        }
        if facts.superuser || facts.owns_tables {
            return Err(GrantError::Refused(format!(
                "--role {role}: a superuser, a role that may create roles, or the tables' owner (or a member of its role) can lift every guard; the runtime role must be none of them"
            )));
        }
        Ok(grant(&mut conn, role).await.map_err(query_error)?)
    }
}

async fn grant(conn: &mut AsyncPgConnection, role: &str) -> diesel::QueryResult<RuntimeGrants> {
    let role = role.to_owned();
    conn.transaction::<_, diesel::result::Error, _>(async move |conn| {
        let schema: Name = diesel::sql_query("SELECT current_schema() AS name")
            .get_result(conn)
            .await?;
        let schema = schema.name;
        let tables: Vec<Name> = diesel::sql_query(
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1",
        )
        .load(conn)
        .await?;
        let quoted = |name: &str| format!("\"{}\"", name.replace('"', "\"\""));
        let (schema_q, role_q) = (quoted(&schema), quoted(&role));
        let mut statements = vec![
            format!("REVOKE ALL ON ALL TABLES IN SCHEMA {schema_q} FROM {role_q}"),
            format!("REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema_q} FROM {role_q}"),
            format!("REVOKE CREATE ON SCHEMA {schema_q} FROM {role_q}"),
            format!("GRANT USAGE ON SCHEMA {schema_q} TO {role_q}"),
            format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema_q} TO {role_q}"),
        ];
        let mut granted = Vec::new();
        for table in tables {
            let privileges = privileges(&table.name);
            statements.push(format!(
                "GRANT {privileges} ON {schema_q}.{} TO {role_q}",
                quoted(&table.name)
            ));
            granted.push((table.name, privileges));
        }
        for statement in statements {
            diesel::sql_query(statement).execute(conn).await?;
        }
        Ok(RuntimeGrants {
            schema,
            tables: granted,
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_lower_case_identifiers_name_a_role() {
        for good in ["auth_runtime", "_r", "r2"] {
            assert!(plain_identifier(good), "{good}");
        }
        for bad in ["", "2r", "Auth", "a-b", "a\"b", "a b", &"r".repeat(64)] {
            assert!(!plain_identifier(bad), "{bad}");
        }
    }

    #[test]
    fn the_audit_log_is_read_and_appended_only() {
        for table in APPEND_ONLY {
            assert_eq!(privileges(table), "SELECT, INSERT");
        }
        assert_eq!(privileges("audit_checkpoints"), "SELECT");
        assert_eq!(privileges("audit_pending"), "SELECT, INSERT, DELETE");
        assert_eq!(privileges("sessions"), "SELECT, INSERT, UPDATE, DELETE");
    }
}
