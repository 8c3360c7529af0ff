//! The data key at rest: wrapped under the operator's master key, in `engine_settings`.

use auth_ports::StoreError;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::Store;
use crate::audit::MASTER_KEY_CHECK;
use crate::conn::{query_error, with_conn};
use crate::schema::{apps, engine_settings, signing_keys};

/// The `engine_settings` row that holds the wrapped data key.
const DATA_KEY: &str = "data_key";

/// The value of the setting `$name` on `$conn`; evaluates to
/// `Result<Vec<u8>, diesel::result::Error>` (`NotFound` when it is not kept).
macro_rules! setting {
    ($conn:expr, $name:expr) => {
        engine_settings::table
            .find($name)
            .select(engine_settings::value)
            .first::<Vec<u8>>($conn)
            .await
    };
}

impl Store {
    /// The data key as stored, wrapped under the master key; `None` before the first start.
    ///
    /// # Errors
    /// Store failures.
    pub async fn wrapped_data_key(&self) -> Result<Option<Vec<u8>>, StoreError> {
        with_conn!(self, |conn| setting!(conn, DATA_KEY).optional()).map_err(query_error)
    }

    /// Whether anything was written under a key before the data key was kept here: an app (and
    /// so its signing keys, codes, sessions and licences) or a master key check value.
    ///
    /// # Errors
    /// Store failures.
    pub async fn holds_keyed_data(&self) -> Result<bool, StoreError> {
        with_conn!(self, |conn| {
            let app = apps::table
                .select(apps::id)
                .first::<String>(conn)
                .await
                .optional();
            match app {
                Ok(Some(_)) => Ok(true),
                Ok(None) => setting!(conn, MASTER_KEY_CHECK)
                    .optional()
                    .map(|check| check.is_some()),
                Err(error) => Err(error),
            }
        })
        .map_err(query_error)
    }

    /// One app signing key as stored, sealed: `(kid, sealed private key)`. Opening it tells
    /// whether a key is the one the data was written under.
    ///
    /// # Errors
    /// Store failures.
    pub async fn a_sealed_signing_key(&self) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        with_conn!(self, |conn| {
            signing_keys::table
                .select((signing_keys::kid, signing_keys::encrypted_private_key))
                .first::<(String, Vec<u8>)>(conn)
                .await
                .optional()
        })
        .map_err(query_error)
    }

    /// Keeps `wrapped` as the data key unless one is kept already, and answers the one kept: of
    /// processes starting at once, every one ends up with the first one's key.
    ///
    /// # Errors
    /// Store failures.
    pub async fn keep_wrapped_data_key(&self, wrapped: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.setting_kept_once(DATA_KEY, wrapped).await
    }

    /// The setting `name` as kept: `value` itself if none was kept before (it is kept now, once,
    /// even when processes race). Read first, so once it is kept nothing is written (a read-only
    /// backup included).
    pub(crate) async fn setting_kept_once(
        &self,
        name: &str,
        value: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        with_conn!(self, |conn| {
            match setting!(conn, name).optional() {
                Ok(Some(kept)) => Ok(kept),
                Ok(None) => {
                    let inserted = diesel::insert_into(engine_settings::table)
                        .values((
                            engine_settings::name.eq(name),
                            engine_settings::value.eq(value),
                        ))
                        .on_conflict_do_nothing()
                        .execute(conn)
                        .await;
                    match inserted {
                        Ok(_) => setting!(conn, name),
                        Err(error) => Err(error),
                    }
                }
                Err(error) => Err(error),
            }
        })
        .map_err(query_error)
    }

    /// Replaces the wrapped data key `old` with `new` in one statement; `false` when the kept one
    /// is no longer `old` (another rotation came first), in which case nothing changed.
    ///
    /// # Errors
    /// Store failures.
    pub async fn rewrap_data_key(&self, old: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        let replaced = with_conn!(self, |conn| {
            diesel::update(
                engine_settings::table
                    .filter(engine_settings::name.eq(DATA_KEY))
                    .filter(engine_settings::value.eq(old)),
            )
            .set(engine_settings::value.eq(new))
            .execute(conn)
            .await
        })
        .map_err(query_error)?;
        Ok(replaced == 1)
    }
}
