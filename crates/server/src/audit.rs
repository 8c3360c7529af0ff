//! `auth-engine audit seal|verify|export|archive`, and the background sealer.

use auth_http::{AuditJwkBody, AuditKeysBody};
use auth_store::Store;
use auth_usecases::{AuthService, Caller, ChainReport};
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::Config;
use crate::{AuditCommand, master_key, migrate, migrate_as_owner, wiring};

/// Records archived per transaction, so a large archive never holds the database for long.
const ARCHIVE_CHUNK: u32 = 10_000;

/// Seals waiting records every `every` for as long as the server runs; any number of processes may
/// do this.
pub async fn seal_periodically(service: Arc<AuthService>, every: std::time::Duration) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        if let Err(error) = service.seal_all().await {
            tracing::warn!(%error, "sealing audit records failed; will retry");
        }
    }
}

/// How long a stopping server may take to seal what its last requests wrote.
const FINAL_SEAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Seals what the last requests wrote, once the server has stopped taking requests (SIGTERM or
/// SIGINT): those records join the chain now rather than at the next start. Bounded, so a database
/// that stalls cannot hold the exit.
pub async fn seal_before_exit(service: &AuthService) {
    match tokio::time::timeout(FINAL_SEAL, service.seal_all()).await {
        Ok(Ok(sealed)) => tracing::info!(sealed, "sealed the last audit records before exiting"),
        Ok(Err(error)) => {
            tracing::warn!(%error, "sealing before exit failed; the next start seals them")
        }
        Err(_) => {
            tracing::warn!("sealing before exit took too long; the next start seals the rest")
        }
    }
}

/// Vouches for the audit links written before seals existed: called by the run that applied the
/// migration adding seals, right after it, and never again.
pub async fn vouch_for_legacy_links(config: &Config, store: &Store) -> Result<(), String> {
    // A new database has nothing to vouch for, and keeps no data key before its first start.
    let chains = auth_ports::AuditChain::chains(store)
        .await
        .map_err(|e| format!("database: {e}"))?;
    if chains.is_empty() {
        return Ok(());
    }
    let data_key = master_key::data_key(config, store).await?;
    let service = wiring::service(config, store, &data_key, issuer(config)).await?;
    let vouched = service
        .seal_legacy_heads()
        .await
        .map_err(|e| format!("sealing the audit chains' legacy heads: {e}"))?;
    if !vouched.is_empty() {
        tracing::info!(
            chains = vouched.len(),
            "sealed the legacy heads of the audit chains"
        );
    }
    Ok(())
}

/// The engine's `iss`: its public URL, else its listening address.
fn issuer(config: &Config) -> String {
    config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen_addr))
}

pub async fn run(config: &Config, command: AuditCommand) -> Result<(), String> {
    // Archiving drops records: a right only the tables' owner holds.
    let store = match command {
        AuditCommand::Archive { .. } => migrate_as_owner(config).await?,
        _ => migrate(config).await?,
    };
    let data_key = master_key::data_key(config, &store).await?;
    let service = wiring::service(config, &store, &data_key, issuer(config)).await?;
    match command {
        AuditCommand::Seal => {
            let sealed = service.seal_all().await.map_err(|e| e.to_string())?;
            writeln!(std::io::stdout(), "sealed {sealed} records").map_err(|e| e.to_string())
        }
        AuditCommand::Verify { app } => verify(&service, app.as_deref()).await,
        AuditCommand::Key => key(&service),
        AuditCommand::Export { app, since } => export(&service, &app, since.as_deref()).await,
        AuditCommand::Archive { app, before, out } => archive(&service, &app, &before, &out).await,
    }
}

/// How a chain is named in what the commands print.
fn shown(chain: &str) -> &str {
    if chain.is_empty() { "(no app)" } else { chain }
}

/// What the records of a chain not yet sealed are, when there are any.
fn unsealed(count: u64) -> String {
    match count {
        0 => String::new(),
        count => format!(
            "; {count} record(s) not yet sealed (sealable: they wait in the queue, and the next seal pass chains them)"
        ),
    }
}

fn describe(report: &ChainReport) -> String {
    let chain = shown(&report.chain);
    let archived = report
        .archived_through
        .map(|position| format!(" after the checkpoint at position {position}"))
        .unwrap_or_default();
    match &report.first_break {
        None => format!(
            "chain {chain}: {} sealed records{archived}, intact{}",
            report.records,
            unsealed(report.unsealed)
        ),
        Some(broken) => format!(
            "chain {chain}: BROKEN {broken} ({} records verified before it){}",
            report.records,
            unsealed(report.unsealed)
        ),
    }
}

/// The chain of `--app`, or every chain.
async fn chains(service: &AuthService, app: Option<&str>) -> Result<Vec<String>, String> {
    match app {
        Some(slug) => Ok(vec![
            service
                .audit_chain_of(slug)
                .await
                .map_err(|e| format!("--app {slug}: {e}"))?,
        ]),
        None => service.audit_chains().await.map_err(|e| e.to_string()),
    }
}

async fn verify(service: &AuthService, app: Option<&str>) -> Result<(), String> {
    let mut stdout = std::io::stdout();
    let (mut broken, mut records, mut waiting) = (0, 0, 0);
    let chains = chains(service, app).await?;
    for chain in &chains {
        let report = service
            .verify_chain(chain)
            .await
            .map_err(|e| e.to_string())?;
        broken += usize::from(report.first_break.is_some());
        (records, waiting) = (records + report.records, waiting + report.unsealed);
        writeln!(stdout, "{}", describe(&report)).map_err(|e| e.to_string())?;
    }
    if broken > 0 {
        return Err(format!("{broken} audit chain(s) are broken"));
    }
    writeln!(
        stdout,
        "{records} sealed records in {} chain(s), intact{}",
        chains.len(),
        unsealed(waiting)
    )
    .map_err(|e| e.to_string())
}

/// An RFC 3339 time given as `--flag`, in microseconds since the epoch.
fn parse_time(flag: &str, raw: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(raw, &Rfc3339)
        .map_err(|_| format!("--{flag} {raw}: not an RFC 3339 time"))
}

fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

/// Writes the app's sealed records, each checked against its seal and link, from the first that
/// occurred at or after `since`; then a last line signed with the audit key that vouches for them
/// all. A break stops it, unsigned.
async fn export(service: &AuthService, slug: &str, since: Option<&str>) -> Result<(), String> {
    let chain = service
        .audit_chain_of(slug)
        .await
        .map_err(|e| format!("--app {slug}: {e}"))?;
    let since = since
        .map(|raw| parse_time("since", raw))
        .transpose()?
        .map(micros);
    let origin = service
        .export_origin(&chain)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if let Some(checkpoint) = origin.checkpoint.as_ref().filter(|_| since.is_none()) {
        writeln!(out, "{}", checkpoint.to_line()).map_err(|e| e.to_string())?;
    }
    let (mut from, mut previous) = (origin.position, origin.previous);
    let (mut first, mut last) = (None, None);
    loop {
        let written = service.export_chain(&chain, from, previous).await;
        // What was written so far stays readable; it is just not signed.
        let batch = match written {
            Ok(batch) => batch,
            Err(broken) => {
                out.flush().map_err(|e| e.to_string())?;
                return Err(broken.to_string());
            }
        };
        let Some(end) = batch.last() else {
            break;
        };
        (from, previous) = (end.link.position + 1, end.link.link);
        for record in batch {
            if first.is_none() && since.is_some_and(|since| record.event.occurred_at < since) {
                continue;
            }
            writeln!(out, "{}", record.to_line()).map_err(|e| e.to_string())?;
            if first.is_none() {
                first = Some(record.clone());
            }
            last = Some(record);
        }
    }
    if let (Some(first), Some(last)) = (first, last) {
        let token = service
            .seal_export(&chain, &first, &last)
            .map_err(|e| e.to_string())?;
        let key = AuditJwkBody::from(service.audit_public_key());
        let line = serde_json::json!({ "export": token, "key": key });
        writeln!(out, "{line}").map_err(|e| e.to_string())?;
    }
    out.flush().map_err(|e| e.to_string())
}

/// Prints the audit key's public half as a JWK Set, for whoever checks archives and exports.
fn key(service: &AuthService) -> Result<(), String> {
    let keys = AuditKeysBody::from(service.audit_public_key());
    let keys = serde_json::to_string(&keys).map_err(|e| e.to_string())?;
    writeln!(std::io::stdout(), "{keys}").map_err(|e| e.to_string())
}

/// Writes chunk after chunk of the app's oldest records to `out`, each followed by its checkpoint
/// line and made durable before the database drops it.
async fn archive(
    service: &AuthService,
    slug: &str,
    before: &str,
    out: &Path,
) -> Result<(), String> {
    let chain = service
        .audit_chain_of(slug)
        .await
        .map_err(|e| format!("--app {slug}: {e}"))?;
    let before_time = parse_time("before", before)?;
    if before_time > auth_ports::Clock::now(&wiring::SystemClock) {
        return Err(format!(
            "--before {before}: is in the future; only records that already happened can be archived"
        ));
    }
    // What committed before now joins the chain first, so it can be archived now.
    service.seal(&chain).await.map_err(|e| e.to_string())?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|e| format!("--out {}: {e}", out.display()))?;
    let caller = Caller {
        request_id: "cli".to_owned(),
        ..Caller::default()
    };
    // Positions archived so far: (first, last, records).
    let mut archived: Option<(i64, i64, usize)> = None;
    loop {
        let step = archive_chunk(service, &chain, before_time, &mut file, out, &caller).await;
        let (from, through, records) = match step {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(problem) => {
                return Err(match archived {
                    None => problem,
                    Some((first, last, records)) => format!(
                        "{problem} (before that, {records} records, positions {first} to {last}, were archived to {})",
                        out.display()
                    ),
                });
            }
        };
        archived = Some(match archived {
            None => (from, through, records),
            Some((first, _, before)) => (first, through, before + records),
        });
    }
    let mut stdout = std::io::stdout();
    let Some((first, last, records)) = archived else {
        drop(file);
        std::fs::remove_file(out).map_err(|e| format!("--out {}: {e}", out.display()))?;
        return writeln!(
            stdout,
            "nothing to archive: no sealed record of {slug} occurred before {before}"
        )
        .map_err(|e| e.to_string());
    };
    writeln!(
        stdout,
        "archived {records} records of {slug} (positions {first} to {last}) to {}",
        out.display()
    )
    .map_err(|e| e.to_string())
}

/// Archives the next chunk: writes its records and checkpoint to `file`, makes them durable, then
/// lets the database drop them. Its first and last position and record count; `None` when nothing
/// is left before the cut.
async fn archive_chunk(
    service: &AuthService,
    chain: &str,
    before: OffsetDateTime,
    file: &mut std::fs::File,
    out: &Path,
    caller: &Caller,
) -> Result<Option<(i64, i64, usize)>, String> {
    let Some(chunk) = service
        .next_archive_chunk(chain, before, ARCHIVE_CHUNK)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(None);
    };
    let mut text = String::new();
    for record in &chunk.records {
        text.push_str(&record.to_line().to_string());
        text.push('\n');
    }
    text.push_str(&chunk.checkpoint.to_line().to_string());
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("writing {}: {e}; nothing more was dropped", out.display()))?;
    service
        .drop_archived(&chunk, caller)
        .await
        .map_err(|e| e.to_string())?;
    let checkpoint = &chunk.checkpoint;
    Ok(Some((
        checkpoint.from_position,
        checkpoint.position,
        chunk.records.len(),
    )))
}
