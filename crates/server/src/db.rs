//! `auth-engine db grant-runtime`: the least-privilege role the server runs with on PostgreSQL.

use auth_store::GrantError;
use clap::Subcommand;
use std::io::Write as _;

use crate::config::Config;
use crate::migrate_as_owner;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Grant an existing role exactly what serving needs (run as the schema's owner, with
    /// AUTH_MIGRATION_DATABASE_URL, after every migrate); then run the server as that role.
    GrantRuntime {
        /// The role, created beforehand with LOGIN and a password.
        #[arg(long)]
        role: String,
    },
}

pub async fn run(config: &Config, command: DbCommand) -> Result<(), String> {
    let DbCommand::GrantRuntime { role } = command;
    let store = migrate_as_owner(config).await?;
    let grants = store
        .grant_runtime(&role)
        .await
        .map_err(|error| match error {
            GrantError::Refused(problem) => problem,
            GrantError::Store(error) => format!("database: {error}"),
        })?;
    let mut stdout = std::io::stdout();
    let say = |stdout: &mut std::io::Stdout, line: String| {
        writeln!(stdout, "{line}").map_err(|e| e.to_string())
    };
    say(
        &mut stdout,
        format!(
            "granted {role} what serving needs in schema {} (and revoked anything more):",
            grants.schema
        ),
    )?;
    for (table, privileges) in &grants.tables {
        say(&mut stdout, format!("  {table}: {privileges}"))?;
    }
    say(
        &mut stdout,
        format!(
            "run the server with AUTH_DATABASE_URL as {role}; run this again after every `auth-engine migrate`"
        ),
    )
}
