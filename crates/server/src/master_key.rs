//! The master key and the data key it wraps: checked at start, generated and rotated by commands.
//!
//! Everything the engine keeps secret at rest (sealed signing keys, the keyed hashes of codes,
//! refresh tokens and licence keys) is derived from a data key. The database keeps that data key
//! only wrapped (AES-256-GCM) under the operator's master key, so a wrong master key is refused at
//! start, and rotating the master key rewraps one value instead of rewriting every row.

use auth_crypto::{KeyVault, MasterKey};
use auth_store::Store;
use clap::Subcommand;
use std::io::Write as _;
use std::path::Path;

use crate::config::Config;
use crate::wiring;

#[derive(Debug, Subcommand)]
pub enum MasterKeyCommand {
    /// Print a new master key: base64 of 32 random bytes, for AUTH_MASTER_KEY.
    Generate,
    /// Rewrap the data key under AUTH_NEW_MASTER_KEY; afterwards the engine starts only with it.
    Rotate,
}

/// Why an engine with another master key than its data's refuses to start.
pub const WRONG_KEY: &str = "AUTH_MASTER_KEY is not the key this database's data was written under (its check value differs): start with that key; with another one no signing key, code or refresh token could be read";

/// Prints a new master key. Needs no configuration: it is how an operator fixes a refused one.
pub fn generate() -> Result<(), String> {
    writeln!(std::io::stdout(), "{}", MasterKey::generate_base64()).map_err(|e| e.to_string())
}

/// Where a development master key is kept when none is configured.
const DEV_MASTER_KEY_PATH: &str = "./data/master.key";

/// The configured master key, or (development only) the one under ./data, made on first use.
///
/// # Errors
/// A message for an unreadable, unwritable or malformed key.
fn configured(config: &Config) -> Result<MasterKey, String> {
    if let Some(encoded) = &config.master_key {
        return MasterKey::from_base64(encoded).map_err(|e| format!("AUTH_MASTER_KEY: {e}"));
    }
    let path = Path::new(DEV_MASTER_KEY_PATH);
    if !path.exists() {
        if let Some(parent) = path.parent() {
            wiring::create_private_dir(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        wiring::write_private(path, &MasterKey::generate_base64())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        tracing::warn!(path = %path.display(), "generated a development master key; set AUTH_MASTER_KEY in production");
    }
    let encoded = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    MasterKey::from_base64(&encoded).map_err(|e| format!("{}: {e}", path.display()))
}

/// The data key of `store`, opened with the configured master key; kept (wrapped) on first start.
///
/// # Errors
/// [`WRONG_KEY`] for another master key than the data's; store failures.
pub async fn data_key(config: &Config, store: &Store) -> Result<MasterKey, String> {
    let master = configured(config)?;
    kept(config, store, &master)
        .await
        .map(|(data_key, _wrapped)| data_key)
}

/// The data key and its wrapped form as kept, choosing and keeping one if there is none yet.
async fn kept(
    config: &Config,
    store: &Store,
    master: &MasterKey,
) -> Result<(MasterKey, Vec<u8>), String> {
    let wrapped = match store.wrapped_data_key().await.map_err(database)? {
        Some(wrapped) => wrapped,
        None => {
            let data_key = if store.holds_keyed_data().await.map_err(database)? {
                // Written before data keys existed: under the master key itself, which must be
                // the right one before it is kept as the data key: it opens the sealed signing
                // keys, and matches the check value if one was stored.
                if let Some((kid, sealed)) = store.a_sealed_signing_key().await.map_err(database)?
                    && KeyVault::new(master).open(&kid, &sealed).is_err()
                {
                    return Err(WRONG_KEY.to_owned());
                }
                wiring::service(config, store, master, String::new()).await?;
                master.clone()
            } else {
                MasterKey::generate()
            };
            store
                .keep_wrapped_data_key(&master.wrap(&data_key))
                .await
                .map_err(database)?
        }
    };
    let data_key = master.unwrap(&wrapped).map_err(|_| WRONG_KEY.to_owned())?;
    Ok((data_key, wrapped))
}

/// `master-key rotate`: rewraps the data key under `AUTH_NEW_MASTER_KEY` in one statement. Engines
/// already running keep serving; any engine started afterwards needs the new key, and the old one
/// no longer opens this database (backups taken before keep their own wrapped key). Running it
/// again after it succeeded changes nothing and says so.
pub async fn rotate(config: &Config, store: &Store) -> Result<(), String> {
    if config.master_key.is_none() {
        return Err("master-key rotate needs AUTH_MASTER_KEY set to the current key (a development key under ./data is not rotated)".to_owned());
    }
    let new = config
        .new_master_key
        .as_deref()
        .ok_or("master-key rotate needs AUTH_NEW_MASTER_KEY: the key to rotate to (make one with `auth-engine master-key generate`)")?;
    let new = MasterKey::from_base64(new).map_err(|e| format!("AUTH_NEW_MASTER_KEY: {e}"))?;
    let old = configured(config)?;
    if old.same_as(&new) {
        return Err(
            "AUTH_NEW_MASTER_KEY is the current master key: rotate to a newly generated one"
                .to_owned(),
        );
    }
    if let Some(wrapped) = store.wrapped_data_key().await.map_err(database)?
        && new.unwrap(&wrapped).is_ok()
    {
        return say(
            "the data key is already wrapped under AUTH_NEW_MASTER_KEY: start engines with it as AUTH_MASTER_KEY",
        );
    }
    let (data_key, wrapped) = kept(config, store, &old).await?;
    if !store
        .rewrap_data_key(&wrapped, &new.wrap(&data_key))
        .await
        .map_err(database)?
    {
        return Err("the data key changed during the rotation (another rotation ran): run the command again".to_owned());
    }
    say(
        "rotated: the data key is now wrapped under AUTH_NEW_MASTER_KEY; restart every engine with it as AUTH_MASTER_KEY (running engines keep serving meanwhile); the old key no longer opens this database",
    )
}

fn say(line: &str) -> Result<(), String> {
    writeln!(std::io::stdout(), "{line}").map_err(|e| e.to_string())
}

fn database(error: auth_ports::StoreError) -> String {
    format!("database: {error}")
}
