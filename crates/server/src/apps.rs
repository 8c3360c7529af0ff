//! `auth-engine apps …`: the operator's commands for apps.

use auth_usecases::{AuthError, AuthService, Caller};
use clap::Subcommand;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::{master_key, migrate, wiring};

#[derive(Debug, Subcommand)]
pub(crate) enum AppsCommand {
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
    /// it signed has expired, unless --revoke-previous.
    RotateKey {
        #[arg(long)]
        slug: String,
        /// After a leak: withdraw every earlier key at once. It leaves the JWKS now, and no token it
        /// signed is accepted any more (its users' apps refresh to get new ones).
        #[arg(long)]
        revoke_previous: bool,
    },
    /// Lift an app out of the sandbox: it may then send codes to anyone. Apps made in the
    /// developer portal start in the sandbox; apps made with `apps create` are approved.
    Approve {
        #[arg(long)]
        slug: String,
    },
    /// Put an app back in the sandbox: it then sends codes only to its owner's own sign-in
    /// identifier and its test identifiers.
    Sandbox {
        #[arg(long)]
        slug: String,
    },
    /// Disable an app: every call answers 403 app_disabled and its access tokens fail /auth/me,
    /// until it is enabled again.
    Disable {
        #[arg(long)]
        slug: String,
    },
    /// Enable a disabled app again; tokens issued before then follow their own expiry.
    Enable {
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
        /// How long the app's refresh tokens may go unused, in seconds (60 to 31536000; default
        /// 14 days): one unused for longer answers 401 refresh_token_expired.
        #[arg(long)]
        refresh_idle_secs: Option<i64>,
    },
}

/// Runs one `apps` command.
pub(crate) async fn run(config: &Config, command: AppsCommand) -> Result<(), String> {
    match command {
        AppsCommand::Create { name, slug, json } => create_app(config, &name, &slug, json).await,
        configure @ AppsCommand::Configure { .. } => configure_app(config, configure).await,
        AppsCommand::RotateSecret {
            slug,
            overlap_hours,
            json,
        } => rotate_secret(config, &slug, overlap_hours, json).await,
        AppsCommand::RotateKey {
            slug,
            revoke_previous,
        } => rotate_key(config, &slug, revoke_previous).await,
        AppsCommand::Approve { slug } => set_sandboxed(config, &slug, false).await,
        AppsCommand::Sandbox { slug } => set_sandboxed(config, &slug, true).await,
        AppsCommand::Disable { slug } => set_disabled(config, &slug, true).await,
        AppsCommand::Enable { slug } => set_disabled(config, &slug, false).await,
    }
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
async fn operator(config: &Config) -> Result<(AuthService, Caller), String> {
    let store = migrate(config).await?;
    let data_key = master_key::data_key(config, &store).await?;
    let issuer = config.public_url.clone().unwrap_or_default();
    let service = wiring::service(config, &store, &data_key, issuer).await?;
    let caller = Caller {
        request_id: "cli".to_owned(),
        ..Caller::default()
    };
    Ok((service, caller))
}

/// A refusal as the operator reads it: each field as its `--flag`.
fn flag_problems(error: AuthError) -> String {
    match error {
        AuthError::InvalidRequest(problems) => problems
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

async fn rotate_key(config: &Config, slug: &str, revoke_previous: bool) -> Result<(), String> {
    let (service, caller) = operator(config).await?;
    let rotated = service
        .rotate_app_signing_key(slug, revoke_previous, &caller)
        .await
        .map_err(flag_problems)?;
    let kid = &rotated.kid;
    let line = if revoke_previous {
        let withdrawn = match rotated.withdrawn.as_slice() {
            [] => "no earlier key was still published".to_owned(),
            kids => format!(
                "withdrew {} (out of the JWKS now; tokens they signed are refused)",
                kids.join(", ")
            ),
        };
        format!("{slug}: new tokens are signed with kid {kid}; {withdrawn}.")
    } else {
        format!(
            "{slug}: new tokens are signed with kid {kid}; the replaced key stays in the JWKS until its tokens have expired."
        )
    };
    writeln!(std::io::stdout(), "{line}").map_err(|e| e.to_string())
}

async fn configure_app(config: &Config, command: AppsCommand) -> Result<(), String> {
    let AppsCommand::Configure {
        slug,
        revoke_sessions_on_role_change,
        sms_countries,
        sms_per_day,
        emails_per_day,
        email_template,
        refresh_idle_secs,
    } = command
    else {
        return Err("not an apps configure command".into());
    };
    let (service, caller) = operator(config).await?;
    let refused = |error: AuthError| match error {
        AuthError::InvalidRequest(problems) => problems
            .iter()
            .map(|p| format!("--{} {}", p.name, p.problem))
            .collect::<Vec<_>>()
            .join("; "),
        other => format!("--slug {slug}: {other}"),
    };
    let mut stdout = std::io::stdout();
    // What can be refused is checked before anything is saved: the template's files and parts
    // here, the caps and countries by the use case before it writes.
    let template = match email_template {
        Some(dir) if dir.as_os_str() == "default" => Some((dir, None)),
        Some(dir) => {
            let parts = read_email_template(&dir)?;
            let [subject, text, html] = &parts;
            auth_domain::EmailTemplate::new(subject, text, html)
                .map_err(|e| format!("--email-template.{} {}", e.part, e.problem))?;
            Some((dir, Some(parts)))
        }
        None => None,
    };
    // The same rule the use case applies, checked before anything else is saved.
    if let Some(seconds) = refresh_idle_secs {
        auth_domain::app_settings::TokenOverrides::default()
            .with_refresh_idle(Some(time::Duration::seconds(seconds)))
            .map_err(|problem| format!("--refresh-idle-secs {}, got {seconds}", problem.0))?;
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
    if let Some((dir, parts)) = &template {
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
    if let Some(on) = revoke_sessions_on_role_change {
        service
            .set_revoke_sessions_on_role_change(&slug, on)
            .await
            .map_err(refused)?;
        writeln!(stdout, "{slug}: revoke_sessions_on_role_change = {on}")
            .map_err(|e| e.to_string())?;
    }
    if let Some(seconds) = refresh_idle_secs {
        service
            .configure_refresh_idle(&slug, seconds, &caller)
            .await
            .map_err(refused)?;
        writeln!(stdout, "{slug}: refresh_idle_secs = {seconds}").map_err(|e| e.to_string())?;
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

/// `apps approve` (`sandboxed = false`) and `apps sandbox` (`true`).
async fn set_sandboxed(config: &Config, slug: &str, sandboxed: bool) -> Result<(), String> {
    let (service, caller) = operator(config).await?;
    service
        .set_app_sandboxed(slug, sandboxed, &caller)
        .await
        .map_err(flag_problems)?;
    let state = if sandboxed {
        "is in the sandbox: it sends codes only to its owner and its test identifiers"
    } else {
        "is approved: it may send codes to anyone"
    };
    writeln!(std::io::stdout(), "{slug} {state}").map_err(|e| e.to_string())
}

async fn set_disabled(config: &Config, slug: &str, disabled: bool) -> Result<(), String> {
    let (service, caller) = operator(config).await?;
    service
        .set_app_disabled(slug, disabled, &caller)
        .await
        .map_err(flag_problems)?;
    let state = if disabled {
        "is disabled: its calls answer 403 app_disabled and its access tokens fail /auth/me"
    } else {
        "is enabled"
    };
    writeln!(std::io::stdout(), "{slug} {state}").map_err(|e| e.to_string())
}
