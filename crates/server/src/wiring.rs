//! Assembling the engine: adapters behind ports, once, with no globals.

use auth_crypto::{Argon2Secrets, HmacKeys, KeyVault, MasterKey, OsRandom, RsaTokens};
use auth_notify::{ByChannel, ConsoleNotifier, WebhookNotifier};
use auth_ports::{Clock, Notifier};
use auth_sms::SmsGateway;
use auth_smtp::SmtpMailer;
use auth_store::Store;
use auth_usecases::{AuthService, Ports, Settings};
use std::path::Path;
use std::sync::Arc;
use time::OffsetDateTime;

use crate::config::{Config, NotifierKind};

/// The wall clock: the one place the engine reads the time of day.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    /// Now, to the microsecond: the precision storage keeps, so a time read back equals the one
    /// written and lifetimes computed from either agree.
    #[expect(clippy::disallowed_methods, reason = "this is the clock adapter")]
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now)
    }
}

/// Where a development master key is kept when none is configured.
const DEV_MASTER_KEY_PATH: &str = "./data/master.key";

/// The configured master key, or (development only) the one under ./data, made on first use.
///
/// # Errors
/// A message for an unreadable, unwritable or malformed key.
pub fn master_key(config: &Config) -> Result<MasterKey, String> {
    if let Some(encoded) = &config.master_key {
        return MasterKey::from_base64(encoded).map_err(|e| format!("AUTH_MASTER_KEY: {e}"));
    }
    let path = Path::new(DEV_MASTER_KEY_PATH);
    if !path.exists() {
        if let Some(parent) = path.parent() {
            create_private_dir(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        write_private(path, &MasterKey::generate_base64())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        tracing::warn!(path = %path.display(), "generated a development master key; set AUTH_MASTER_KEY in production");
    }
    let encoded = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    MasterKey::from_base64(&encoded).map_err(|e| format!("{}: {e}", path.display()))
}

/// Creates a directory (and its parents) only its owner can enter.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes a file only its owner can read.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)?.write_all(contents.as_bytes())
}

fn notifier(config: &Config) -> Result<Arc<dyn Notifier>, String> {
    Ok(match &config.notifier {
        NotifierKind::Console => Arc::new(ConsoleNotifier),
        NotifierKind::Webhook { url, timeout } => {
            Arc::new(WebhookNotifier::new(url, *timeout).map_err(|e| e.to_string())?)
        }
        NotifierKind::Gateways { sms, email } => {
            let sms: Option<Arc<dyn Notifier>> = match sms {
                Some((dialect, timeout)) => Some(Arc::new(
                    SmsGateway::new(dialect.clone(), *timeout).map_err(|e| e.to_string())?,
                )),
                None => None,
            };
            let email: Option<Arc<dyn Notifier>> = match email {
                Some(settings) => Some(Arc::new(
                    SmtpMailer::new(settings).map_err(|e| e.to_string())?,
                )),
                None => None,
            };
            Arc::new(ByChannel { sms, email })
        }
    })
}

/// The use cases on `store`, with every other adapter built from `config`.
///
/// # Errors
/// A message when an adapter cannot be built.
/// The engine's use cases on `store`, once the master key is known to be the data's own.
///
/// # Errors
/// A message for a master key other than the one the data was written under, or an unusable
/// setting.
pub async fn service(
    config: &Config,
    store: &Store,
    master: &MasterKey,
    issuer: String,
) -> Result<AuthService, String> {
    let service = assemble(config, store, master, issuer)?;
    match service.master_key_matches().await {
        Ok(true) => Ok(service),
        Ok(false) => Err(
            "AUTH_MASTER_KEY is not the key this database's data was written under (its check value differs): start with that key; with another one no signing key, code or refresh token could be read"
                .to_owned(),
        ),
        Err(error) => Err(format!("database: {error}")),
    }
}

fn assemble(
    config: &Config,
    store: &Store,
    master: &MasterKey,
    issuer: String,
) -> Result<AuthService, String> {
    let store = Arc::new(store.clone());
    let ports = Ports {
        apps: store.clone(),
        otps: store.clone(),
        sessions: store.clone(),
        tenants: store.clone(),
        chain: store.clone(),
        licenses: store.clone(),
        sandbox: store.clone(),
        limiter: store.clone(),
        audit: store.clone(),
        health: store,
        notifier: notifier(config)?,
        tokens: Arc::new(RsaTokens::new(KeyVault::new(master))),
        secrets: Arc::new(Argon2Secrets),
        mac: Arc::new(HmacKeys::new(master)),
        clock: Arc::new(SystemClock),
        random: Arc::new(OsRandom),
    };
    let settings = Settings {
        issuer,
        otp: config.otp,
        tokens: config.tokens,
        limits: config.limits,
    };
    Ok(AuthService::new(ports, settings))
}
