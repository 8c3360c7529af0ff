//! `auth-engine`: the server and the operator's commands.

mod apps;
mod audit;
mod config;
mod db;
mod master_key;
mod serve_lock;
mod wiring;

use actix_web::{App, HttpServer, middleware, web};
use auth_http::{ApiDocument, AppState, HtmlPage, Verb};
use auth_store::{DatabaseUrl, Store};
use auth_usecases::Caller;
use clap::{Parser, Subcommand};
use std::io::Write as _;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use crate::apps::AppsCommand;
use crate::config::{Config, Environment};
use crate::db::DbCommand;
use crate::master_key::MasterKeyCommand;

/// Auth Engine: OTP login, rotating tokens and RS256 JWTs for your backend.
#[derive(Debug, Parser)]
#[command(name = "auth-engine", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply database migrations and exit, as the schema's owner (AUTH_MIGRATION_DATABASE_URL).
    Migrate,
    /// Database roles (PostgreSQL).
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Manage apps.
    Apps {
        #[command(subcommand)]
        command: AppsCommand,
    },
    /// Verify, export or archive the tamper-evident audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Master keys.
    MasterKey {
        #[command(subcommand)]
        command: MasterKeyCommand,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Seal every record waiting to join its chain, then exit (the server also does this each second).
    Seal,
    /// Check every chain (or one app's): each link's seal, each record against its link; report
    /// the first break and the records not yet sealed. Exits 1 if anything sealed is broken.
    Verify {
        /// Only this app's chain.
        #[arg(long)]
        app: Option<String>,
    },
    /// Print the public half of the audit key (a JWK Set), which checkpoints and exports are signed
    /// with: what a third party needs to check them without the database.
    Key,
    /// Write one app's sealed records with their links as JSON Lines, each checked, and a last line
    /// signed with the audit key.
    Export {
        #[arg(long)]
        app: String,
        /// Start at the first record that occurred at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
    },
    /// Move one app's records that occurred before a time into a file, then drop them from the
    /// database behind a signed checkpoint.
    Archive {
        #[arg(long)]
        app: String,
        /// Archive the records that occurred before this RFC 3339 time (not in the future).
        #[arg(long)]
        before: String,
        /// The archive file to create (JSON Lines); it must not exist yet.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Needs no configuration: it is how an operator fixes a refused one.
    if let Some(Command::MasterKey {
        command: MasterKeyCommand::Generate,
    }) = cli.command
    {
        return match master_key::generate() {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => fail(&error),
        };
    }
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => return fail(&format!("configuration: {error}")),
    };
    init_logging(&config);
    // One crypto stack: outgoing TLS (webhooks) uses ring like everything else.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(&format!("cannot start the async runtime: {error}")),
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(config).await,
            Command::Migrate => migrate_as_owner(&config).await.map(|_| ()),
            Command::Db { command } => db::run(&config, command).await,
            Command::Apps { command } => apps::run(&config, command).await,
            Command::Audit { command } => audit::run(&config, command).await,
            Command::MasterKey {
                command: MasterKeyCommand::Rotate,
            } => master_key::rotate(&config, &migrate(&config).await?).await,
            // Handled above, before the configuration is read.
            Command::MasterKey {
                command: MasterKeyCommand::Generate,
            } => Ok(()),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

fn fail(message: &str) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "auth-engine: {message}");
    ExitCode::FAILURE
}

fn init_logging(config: &Config) {
    // Driver debug output can include query parameters: keep it quiet whatever the filter says.
    let filter = format!("{},tokio_postgres=warn,diesel=warn", config.log_filter);
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if config.environment == Environment::Production {
        builder.json().try_init()
    } else {
        builder
            .with_ansi(std::env::var_os("NO_COLOR").is_none())
            .try_init()
    };
}

/// How long an operator command waits for the database: on a SQLite file an engine is serving, its
/// turn to write may take a while under load, and a command should wait rather than fail.
const OPERATOR_DB_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The store, migrated, for an operator command.
pub(crate) async fn migrate(config: &Config) -> Result<Store, String> {
    let timeout = config.db_timeout.max(OPERATOR_DB_TIMEOUT);
    open_store(config, &config.database_url, timeout).await
}

/// The store connected as the schema's owner (`AUTH_MIGRATION_DATABASE_URL`), migrated, for the
/// operator commands that change the schema, grants or the audit log's history.
pub(crate) async fn migrate_as_owner(config: &Config) -> Result<Store, String> {
    let timeout = config.db_timeout.max(OPERATOR_DB_TIMEOUT);
    open_store(config, &config.migration_database_url, timeout).await
}

/// The store at `url` with every call bounded by `timeout`, migrated.
async fn open_store(
    config: &Config,
    url: &DatabaseUrl,
    timeout: std::time::Duration,
) -> Result<Store, String> {
    let store =
        Store::connect(url, config.pool_size, timeout).map_err(|e| format!("database: {e}"))?;
    let applied = store
        .migrate()
        .await
        .map_err(|e| format!("database: {e}"))?;
    if applied
        .iter()
        .any(|version| version == auth_store::SEALS_MIGRATION)
    {
        audit::vouch_for_legacy_links(config, &store).await?;
    }
    Ok(store)
}

async fn serve(config: Config) -> Result<(), String> {
    // Held until the process ends: no second engine serves this SQLite file meanwhile.
    let _serving = match &config.database_url {
        DatabaseUrl::Sqlite(path) => Some(serve_lock::claim(std::path::Path::new(path))?),
        DatabaseUrl::Postgres(_) => None,
    };
    let store = open_store(&config, &config.database_url, config.db_timeout).await?;
    let data_key = master_key::data_key(&config, &store).await?;
    let listener = TcpListener::bind(config.listen_addr)
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen_addr))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let issuer = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    let secure_cookies = issuer.starts_with("https://");
    let service = Arc::new(wiring::service(&config, &store, &data_key, issuer.clone()).await?);
    let portal = auth_portal::PortalState {
        credentials: service
            .portal_credentials(&Caller::default())
            .await
            .map_err(|e| format!("cannot set up the developer portal's app: {e}"))?,
        service: Arc::clone(&service),
        keys: Arc::new(auth_crypto::HmacKeys::new(&data_key)),
        random: Arc::new(auth_crypto::OsRandom),
        secure_cookies,
    };
    tokio::spawn(purge_periodically(Arc::clone(&service)));
    tokio::spawn(audit::seal_periodically(
        Arc::clone(&service),
        config.seal_every,
    ));
    let sealer = Arc::clone(&service);
    let pages: Vec<HtmlPage> = auth_portal::PAGES
        .iter()
        .map(|page| HtmlPage {
            verb: match page.verb {
                auth_portal::Verb::Get => Verb::Get,
                auth_portal::Verb::Post => Verb::Post,
            },
            path: format!("/portal{}", page.path),
            summary: page.summary,
        })
        .collect();
    let state = AppState {
        api: ApiDocument::new(&issuer, &pages),
        service,
        random: Arc::new(auth_crypto::OsRandom),
        metrics: Arc::default(),
        trusted_proxies: config.trusted_proxies.clone(),
        hsts: secure_cookies,
    };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .app_data(web::Data::new(portal.clone()))
            .wrap(middleware::from_fn(auth_http::request_context))
            .configure(auth_portal::configure)
            .configure(auth_http::configure)
    })
    .listen(listener)
    .map_err(|e| format!("cannot serve on {bound}: {e}"))?
    .run();
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "auth-engine listening on http://{bound}");
    let _ = writeln!(
        stdout,
        "create an app at http://{bound}/portal, or with: auth-engine apps create --name NAME --slug SLUG"
    );
    let _ = stdout.flush();
    tracing::info!(%bound, database = ?store, "serving");
    let served = server.await.map_err(|e| format!("server: {e}"));
    audit::seal_before_exit(&sealer).await;
    served
}

/// How often expired counters and codes are deleted.
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Keeps storage bounded for as long as the server runs. Every process does this; the deletes are
/// idempotent, so several processes on one database only repeat cheap work.
async fn purge_periodically(service: Arc<auth_usecases::AuthService>) {
    let mut ticks = tokio::time::interval(PURGE_EVERY);
    loop {
        ticks.tick().await;
        match service.purge_expired().await {
            Ok(purged) => tracing::debug!(purged, "purged expired rows"),
            Err(error) => tracing::warn!(%error, "purging expired rows failed; will retry"),
        }
    }
}
