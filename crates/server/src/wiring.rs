//! Assembling the engine: adapters behind ports, once, with no globals.

use auth_crypto::{
    Argon2Secrets, Ed25519AuditKey, HmacKeys, KeyVault, MasterKey, OsRandom, RsaTokens,
};
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
use crate::master_key;

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
pub(crate) fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
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

/// The engine's use cases on `store` under `data_key`, once it is known to be the data's own.
///
/// # Errors
/// A message for a key other than the one the data was written under, or an unusable setting.
pub async fn service(
    config: &Config,
    store: &Store,
    data_key: &MasterKey,
    issuer: String,
) -> Result<AuthService, String> {
    let service = assemble(config, store, data_key, issuer)?;
    match service.master_key_matches().await {
        Ok(true) => Ok(service),
        Ok(false) => Err(master_key::WRONG_KEY.to_owned()),
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
        audit_key: Arc::new(
            Ed25519AuditKey::new(master).map_err(|e| format!("the audit key: {e}"))?,
        ),
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
