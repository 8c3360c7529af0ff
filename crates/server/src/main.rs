//! `auth-engine`: the server and the operator's commands.

mod audit;
mod config;
mod wiring;

use actix_web::{App, HttpServer, middleware, web};
use auth_http::{ApiDocument, AppState, HtmlPage, Verb};
use auth_store::Store;
use auth_usecases::Caller;
use clap::{Parser, Subcommand};
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::config::{Config, Environment};

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
    /// Apply database migrations and exit.
    Migrate,
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
}

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Seal every record waiting to join its chain, then exit (the server also does this each second).
    Seal,
    /// Recompute every chain (or one app's) and report the first broken link; exits 1 if any.
    Verify {
        /// Only this app's chain.
        #[arg(long)]
        app: Option<String>,
    },
    /// Write one app's sealed records with their links as JSON Lines.
    Export {
        #[arg(long)]
        app: String,
        /// Only records that occurred at or after this RFC 3339 time.
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

#[derive(Debug, Subcommand)]
enum AppsCommand {
    /// Create an app and print its credentials (the secret is shown only this once).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        slug: String,
        /// Print {"app_id","app_secret","app_slug","jwt_public_key"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Give an app a new secret and print it (shown only this once). The old secret keeps
    /// working for the overlap, so deployed backends can switch over.
    RotateSecret {
        #[arg(long)]
        slug: String,
        /// Hours the old secret keeps working, 0 (it stops now) to 168 (7 days).
        #[arg(long, default_value_t = 0)]
        overlap_hours: u16,
        /// Print {"app_secret","old_secret_valid_until"} as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Give an app a new signing key. The replaced key stays in the app's JWKS until every token
    /// it signed has expired.
    RotateKey {
        #[arg(long)]
        slug: String,
    },
    /// Change an app's settings; what is not given stays as it is.
    Configure {
        #[arg(long)]
        slug: String,
        /// Whether revoking a role also revokes every session of that user in the app.
        #[arg(long, action = clap::ArgAction::Set)]
        revoke_sessions_on_role_change: Option<bool>,
        /// Country calling codes SMS may go to, e.g. 91,1,44; or `any` (the default).
        #[arg(long)]
        sms_countries: Option<String>,
        /// SMS the app may send per day (default 1000).
        #[arg(long)]
        sms_per_day: Option<u32>,
        /// Emails the app may send per day (default 10000).
        #[arg(long)]
        emails_per_day: Option<u32>,
        /// A directory holding the app's email template as subject.txt, body.txt and body.html;
        /// or `default` for the engine's own.
        #[arg(long, value_name = "DIR|default")]
        email_template: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
            Command::Migrate => migrate(&config).await.map(|_| ()),
            Command::Apps {
                command: AppsCommand::Create { name, slug, json },
            } => create_app(&config, &name, &slug, json).await,
            Command::Apps {
                command: configure @ AppsCommand::Configure { .. },
            } => configure_app(&config, configure).await,
            Command::Apps {
                command:
                    AppsCommand::RotateSecret {
                        slug,
                        overlap_hours,
                        json,
                    },
            } => rotate_secret(&config, &slug, overlap_hours, json).await,
            Command::Apps {
                command: AppsCommand::RotateKey { slug },
            } => rotate_key(&config, &slug).await,
            Command::Audit { command } => audit::run(&config, command).await,
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

pub(crate) async fn migrate(config: &Config) -> Result<Store, String> {
    let store = Store::connect(&config.database_url, config.pool_size)
        .map_err(|e| format!("database: {e}"))?;
    store
        .migrate()
        .await
        .map_err(|e| format!("database: {e}"))?;
    Ok(store)
}

async fn create_app(config: &Config, name: &str, slug: &str, json: bool) -> Result<(), String> {
    let (service, caller) = operator(config).await?;
    let created = service
        .create_app(name, slug, &caller)
        .await
        .map_err(flag_problems)?;
    let output = if json {
        serde_json::json!({
            "app_id": created.app_id.as_str(),
            "app_secret": created.app_secret,
            "app_slug": created.app_slug.as_str(),
            "jwt_public_key": created.jwt_public_key,
        })
        .to_string()
    } else {
        format!(
            "APP_ID={}\nAPP_SECRET={}\nAPP_SLUG={}\nJWT_PUBLIC_KEY=\n{}\nAPP_SECRET is shown only this once: store it now.",
            created.app_id,
            created.app_secret,
            created.app_slug.as_str(),
            created.jwt_public_key.trim_end()
        )
    };
    writeln!(std::io::stdout(), "{output}").map_err(|e| e.to_string())
}

/// The engine's use cases as an operator command runs them, with a command's `Caller`.
async fn operator(config: &Config) -> Result<(auth_usecases::AuthService, Caller), String> {
    let store = migrate(config).await?;
    let master = wiring::master_key(config)?;
    let issuer = config.public_url.clone().unwrap_or_default();
    let service = wiring::service(config, &store, &master, issuer)?;
    let caller = Caller {
        request_id: "cli".to_owned(),
        ..Caller::default()
    };
    Ok((service, caller))
}

/// A refusal as the operator reads it: each field as its `--flag`.
fn flag_problems(error: auth_usecases::AuthError) -> String {
    match error {
        auth_usecases::AuthError::InvalidRequest(problems) => problems
            .iter()
            .map(|p| format!("--{} {}", p.name, p.problem))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

async fn rotate_secret(
    config: &Config,
    slug: &str,
    overlap_hours: u16,
    json: bool,
) -> Result<(), String> {
    let (service, caller) = operator(config).await?;
    let overlap = time::Duration::hours(i64::from(overlap_hours));
    let rotated = service
        .rotate_app_secret(slug, overlap, &caller)
        .await
        .map_err(|error| flag_problems(error).replace("--overlap ", "--overlap-hours "))?;
    let until = rotated.old_valid_until.and_then(|at| {
        at.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    let output = if json {
        serde_json::json!({ "app_secret": rotated.app_secret, "old_secret_valid_until": until })
            .to_string()
    } else {
        let old = until.map_or_else(
            || "The old secret has stopped working.".to_owned(),
            |at| format!("The old secret keeps working until {at}."),
        );
        format!(
            "APP_SECRET={}\n{old}\nAPP_SECRET is shown only this once: store it now.",
            rotated.app_secret
        )
    };
    writeln!(std::io::stdout(), "{output}").map_err(|e| e.to_string())
}

async fn rotate_key(config: &Config, slug: &str) -> Result<(), String> {
    let (service, caller) = operator(config).await?;
    let kid = service
        .rotate_app_signing_key(slug, &caller)
        .await
        .map_err(flag_problems)?;
    writeln!(
        std::io::stdout(),
        "{slug}: new tokens are signed with kid {kid}; the replaced key stays in the JWKS until its tokens have expired."
    )
    .map_err(|e| e.to_string())
}

async fn configure_app(config: &Config, command: AppsCommand) -> Result<(), String> {
    let AppsCommand::Configure {
        slug,
        revoke_sessions_on_role_change,
        sms_countries,
        sms_per_day,
        emails_per_day,
        email_template,
    } = command
    else {
        return Err("not an apps configure command".into());
    };
    let (service, _) = operator(config).await?;
    let refused = |error: auth_usecases::AuthError| match error {
        auth_usecases::AuthError::InvalidRequest(problems) => problems
            .iter()
            .map(|p| format!("--{} {}", p.name, p.problem))
            .collect::<Vec<_>>()
            .join("; "),
        other => format!("--slug {slug}: {other}"),
    };
    let mut stdout = std::io::stdout();
    if let Some(on) = revoke_sessions_on_role_change {
        service
            .set_revoke_sessions_on_role_change(&slug, on)
            .await
            .map_err(refused)?;
        writeln!(stdout, "{slug}: revoke_sessions_on_role_change = {on}")
            .map_err(|e| e.to_string())?;
    }
    if sms_countries.is_some() || sms_per_day.is_some() || emails_per_day.is_some() {
        let policy = service
            .configure_delivery(&slug, sms_countries.as_deref(), sms_per_day, emails_per_day)
            .await
            .map_err(refused)?;
        let countries = policy
            .sms_countries
            .map_or_else(|| "any".to_owned(), |codes| codes.join(","));
        writeln!(
            stdout,
            "{slug}: sms_countries = {countries}, sms_per_day = {}, emails_per_day = {}",
            policy.sms_per_day, policy.emails_per_day
        )
        .map_err(|e| e.to_string())?;
    }
    if let Some(dir) = email_template {
        let parts = if dir.as_os_str() == "default" {
            None
        } else {
            Some(read_email_template(&dir)?)
        };
        service
            .configure_email_template(
                &slug,
                parts
                    .as_ref()
                    .map(|[subject, text, html]| (subject.as_str(), text.as_str(), html.as_str())),
            )
            .await
            .map_err(refused)?;
        writeln!(stdout, "{slug}: email_template = {}", dir.display())
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// `subject.txt`, `body.txt` and `body.html` from `dir`, each read only up to its size limit (and
/// one byte more, so an oversized file is refused rather than cut). A subject's final line break is
/// dropped, as editors add one.
fn read_email_template(dir: &Path) -> Result<[String; 3], String> {
    use auth_domain::email_template::{MAX_HTML_BYTES, MAX_SUBJECT_CHARS, MAX_TEXT_BYTES};
    use std::io::Read as _;
    let read = |name: &str, limit: usize| -> Result<String, String> {
        let path = dir.join(name);
        let file = std::fs::File::open(&path)
            .map_err(|e| format!("--email-template: cannot read {}: {e}", path.display()))?;
        let mut bytes = Vec::new();
        file.take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| format!("--email-template: cannot read {}: {e}", path.display()))?;
        String::from_utf8(bytes)
            .map_err(|_| format!("--email-template: {} is not UTF-8", path.display()))
    };
    let subject = read("subject.txt", MAX_SUBJECT_CHARS * 4)?;
    let subject = subject
        .strip_suffix('\n')
        .map_or(subject.as_str(), |s| s.strip_suffix('\r').unwrap_or(s))
        .to_owned();
    Ok([
        subject,
        read("body.txt", MAX_TEXT_BYTES)?,
        read("body.html", MAX_HTML_BYTES)?,
    ])
}

async fn serve(config: Config) -> Result<(), String> {
    let store = migrate(&config).await?;
    let master = wiring::master_key(&config)?;
    let listener = TcpListener::bind(config.listen_addr)
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen_addr))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    let issuer = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{bound}"));
    let secure_cookies = issuer.starts_with("https://");
    let service = Arc::new(wiring::service(&config, &store, &master, issuer.clone())?);
    let portal = auth_portal::PortalState {
        credentials: service
            .portal_credentials(&Caller::default())
            .await
            .map_err(|e| format!("cannot set up the developer portal's app: {e}"))?,
        service: Arc::clone(&service),
        keys: Arc::new(auth_crypto::HmacKeys::new(&master)),
        random: Arc::new(auth_crypto::OsRandom),
        secure_cookies,
    };
    tokio::spawn(purge_periodically(Arc::clone(&service)));
    tokio::spawn(audit::seal_periodically(
        Arc::clone(&service),
        config.seal_every,
    ));
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
    server.await.map_err(|e| format!("server: {e}"))
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
