//! `auth-engine audit verify|export`, and the background sealer.

use auth_usecases::{AuthService, ChainReport};
use std::io::Write as _;
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::Config;
use crate::{AuditCommand, migrate, wiring};

/// How often each process seals waiting audit records.
const SEAL_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Seals waiting records for as long as the server runs; any number of processes may do this.
pub async fn seal_periodically(service: Arc<AuthService>) {
    let mut ticks = tokio::time::interval(SEAL_EVERY);
    loop {
        ticks.tick().await;
        if let Err(error) = service.seal_all().await {
            tracing::warn!(%error, "sealing audit records failed; will retry");
        }
    }
}

pub async fn run(config: &Config, command: AuditCommand) -> Result<(), String> {
    let store = migrate(config).await?;
    let master = wiring::master_key(config)?;
    let service = wiring::service(config, &store, &master, String::new())?;
    match command {
        AuditCommand::Seal => {
            let sealed = service.seal_all().await.map_err(|e| e.to_string())?;
            writeln!(std::io::stdout(), "sealed {sealed} records").map_err(|e| e.to_string())
        }
        AuditCommand::Verify { app } => verify(&service, app.as_deref()).await,
        AuditCommand::Export { app, since } => export(&service, &app, since.as_deref()).await,
    }
}

fn describe(report: &ChainReport) -> String {
    let chain = if report.chain.is_empty() {
        "(no app)"
    } else {
        report.chain.as_str()
    };
    match &report.first_break {
        None => format!("chain {chain}: {} records, intact", report.records),
        Some(broken) => {
            let position = broken
                .position
                .map(|p| format!(" at position {p}"))
                .unwrap_or_default();
            let record = broken
                .event_id
                .as_ref()
                .map(|id| format!(" (record {id})"))
                .unwrap_or_default();
            format!(
                "chain {chain}: BROKEN{position}{record}: {} ({} records verified before it)",
                broken.problem, report.records
            )
        }
    }
}

async fn verify(service: &AuthService, app: Option<&str>) -> Result<(), String> {
    let chains = match app {
        Some(slug) => vec![
            service
                .audit_chain_of(slug)
                .await
                .map_err(|e| format!("--app {slug}: {e}"))?,
        ],
        None => service.audit_chains().await.map_err(|e| e.to_string())?,
    };
    let mut stdout = std::io::stdout();
    let mut broken = 0;
    for chain in chains {
        let report = service
            .verify_chain(&chain)
            .await
            .map_err(|e| e.to_string())?;
        broken += usize::from(report.first_break.is_some());
        writeln!(stdout, "{}", describe(&report)).map_err(|e| e.to_string())?;
    }
    if broken == 0 {
        Ok(())
    } else {
        Err(format!("{broken} audit chain(s) are broken"))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn export(service: &AuthService, slug: &str, since: Option<&str>) -> Result<(), String> {
    let chain = service
        .audit_chain_of(slug)
        .await
        .map_err(|e| format!("--app {slug}: {e}"))?;
    let since = since
        .map(|raw| {
            OffsetDateTime::parse(raw, &Rfc3339)
                .map_err(|_| format!("--since {raw}: not an RFC 3339 time"))
        })
        .transpose()?
        .map(|at| i64::try_from(at.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX));
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let (mut from, mut previous) = (1, auth_domain::chain::GENESIS);
    loop {
        let batch = service
            .export_chain(&chain, from, previous)
            .await
            .map_err(|e| e.to_string())?;
        let Some(last) = batch.last() else {
            break;
        };
        (from, previous) = (last.link.position + 1, last.link.link);
        for record in batch
            .iter()
            .filter(|r| since.is_none_or(|since| r.event.occurred_at >= since))
        {
            let event = &record.event;
            let line = serde_json::json!({
                "position": record.link.position,
                "seq": event.seq,
                "id": event.id,
                "app_id": event.app_id,
                "occurred_at": event.occurred_at,
                "event": event.event,
                "outcome": event.outcome,
                "actor": event.actor,
                "subject": event.subject,
                "client_ip": event.client_ip,
                "user_agent": event.user_agent,
                "request_id": event.request_id,
                "details": event.details_value(),
                "prev_link": hex(&record.previous),
                "link": hex(&record.link.link),
            });
            writeln!(out, "{line}").map_err(|e| e.to_string())?;
        }
    }
    out.flush().map_err(|e| e.to_string())
}
