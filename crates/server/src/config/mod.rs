//! Operator configuration from the environment. Every problem names its variable.

mod delivery;
mod env;
mod limits;
mod production;
#[cfg(test)]
mod tests;

use auth_domain::otp::OtpPolicy;
use auth_domain::session::TokenPolicy;
use auth_http::TrustedProxies;
use auth_store::DatabaseUrl;
use auth_usecases::Limits;
use std::net::SocketAddr;

pub use delivery::NotifierKind;
pub use env::ConfigError;
use env::{Env, error};

/// `development` (the default) or `production`, which refuses unsafe settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

/// Everything the engine reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub database_url: DatabaseUrl,
    /// The schema owner's connection (`AUTH_MIGRATION_DATABASE_URL`, by default the same): what
    /// `migrate`, `db grant-runtime` and `audit archive` connect as. The server never
    /// uses it.
    pub migration_database_url: DatabaseUrl,
    pub pool_size: usize,
    /// The most any one database call may take (`AUTH_DB_TIMEOUT_MS`): connecting, waiting for a
    /// pooled connection, a lock or a statement. Past it the answer is `503 service_unavailable`.
    pub db_timeout: std::time::Duration,
    pub listen_addr: SocketAddr,
    pub public_url: Option<String>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`AUTH_TRUSTED_PROXIES`).
    pub trusted_proxies: TrustedProxies,
    /// Base64 of 32 bytes; `None` means "generate one under ./data" (development only).
    pub master_key: Option<String>,
    /// `AUTH_NEW_MASTER_KEY`: the key `master-key rotate` moves the data key under.
    pub new_master_key: Option<String>,
    pub notifier: NotifierKind,
    pub otp: OtpPolicy,
    pub tokens: TokenPolicy,
    pub limits: Limits,
    /// How often each process seals waiting audit records.
    pub seal_every: std::time::Duration,
    pub log_filter: String,
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    /// [`ConfigError`] for the first unusable variable, or every unsafe production setting.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads configuration from `vars` (the environment, or a test's map).
    ///
    /// # Errors
    /// [`ConfigError`] for the first unusable variable, or every unsafe setting of a production
    /// engine at once.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let env = Env(vars.into_iter().collect());
        let environment = match env.get("AUTH_ENV").unwrap_or("development") {
            "development" => Environment::Development,
            "production" => Environment::Production,
            other => {
                return Err(error(
                    "AUTH_ENV",
                    format!("must be development or production, got {other:?}"),
                ));
            }
        };
        let database_url = DatabaseUrl::parse(
            env.get("AUTH_DATABASE_URL")
                .unwrap_or("sqlite://./data/auth-engine.db"),
        )
        .map_err(|problem| error("AUTH_DATABASE_URL", problem))?;
        let migration_database_url = match env.get("AUTH_MIGRATION_DATABASE_URL") {
            None => database_url.clone(),
            Some(raw) => match (DatabaseUrl::parse(raw), &database_url) {
                (Ok(url @ DatabaseUrl::Postgres(_)), DatabaseUrl::Postgres(_)) => url,
                (Err(problem), _) => return Err(error("AUTH_MIGRATION_DATABASE_URL", problem)),
                _ => {
                    return Err(error(
                        "AUTH_MIGRATION_DATABASE_URL",
                        "names the PostgreSQL role that owns the schema, beside a PostgreSQL AUTH_DATABASE_URL (SQLite has no roles)",
                    ));
                }
            },
        };
        let listen_addr = env
            .get("AUTH_LISTEN_ADDR")
            .unwrap_or("127.0.0.1:8080")
            .parse()
            .map_err(|_| error("AUTH_LISTEN_ADDR", "must be IP:PORT, e.g. 127.0.0.1:8080"))?;
        let public_url = env
            .get("AUTH_PUBLIC_URL")
            .map(|url| url.trim_end_matches('/').to_owned());
        if public_url
            .as_ref()
            .is_some_and(|url| !(url.starts_with("http://") || url.starts_with("https://")))
        {
            return Err(error(
                "AUTH_PUBLIC_URL",
                "must start with http:// or https://",
            ));
        }
        let trusted_proxies = TrustedProxies::parse(env.get("AUTH_TRUSTED_PROXIES").unwrap_or(""))
            .map_err(|problem| error("AUTH_TRUSTED_PROXIES", problem))?;
        let otp = OtpPolicy {
            ttl: env.seconds("AUTH_OTP_TTL_SECS", 300, 1, 3600)?,
            max_attempts: env.number("AUTH_OTP_MAX_ATTEMPTS", 5, 1, 20)?,
            resend_cooldown: env.seconds("AUTH_OTP_RESEND_COOLDOWN_SECS", 60, 0, 3600)?,
        };
        let tokens = TokenPolicy {
            access_ttl: env.seconds("AUTH_ACCESS_TOKEN_TTL_SECS", 900, 60, 3600)?,
            session_ttl: env.seconds("AUTH_SESSION_TTL_SECS", 2_592_000, 300, 31_536_000)?,
            reuse_grace: env.seconds("AUTH_REFRESH_REUSE_GRACE_SECS", 10, 0, 60)?,
            refresh_idle: env.seconds("AUTH_REFRESH_IDLE_SECS", 1_209_600, 60, 31_536_000)?,
        };
        let config = Self {
            environment,
            database_url,
            migration_database_url,
            pool_size: env.number("AUTH_DATABASE_POOL_SIZE", 16, 1, 1024)?,
            db_timeout: std::time::Duration::from_millis(env.number(
                "AUTH_DB_TIMEOUT_MS",
                2000,
                100,
                60_000,
            )?),
            listen_addr,
            public_url,
            trusted_proxies,
            master_key: env.get("AUTH_MASTER_KEY").map(str::to_owned),
            new_master_key: env.get("AUTH_NEW_MASTER_KEY").map(str::to_owned),
            notifier: delivery::notifier(&env)?,
            otp,
            tokens,
            limits: limits::limits(&env)?,
            seal_every: std::time::Duration::from_millis(env.number(
                "AUTH_AUDIT_SEAL_INTERVAL_MS",
                1000,
                100,
                60_000,
            )?),
            log_filter: env
                .get("AUTH_LOG")
                .or_else(|| env.get("RUST_LOG"))
                .unwrap_or("info")
                .to_owned(),
        };
        if config.environment == Environment::Production {
            production::refuse_unsafe(&config)?;
        }
        Ok(config)
    }
}
