//! The store contract: every guarantee the store ports document, checked on SQLite and on Postgres.
//!
//! Each case is one behaviour a user of the engine would notice; `contract!` runs it on both
//! backends, each case on a database of its own. Postgres cases read `TEST_DATABASE_URL` (an admin
//! connection) and are skipped without it, except under `CI=true`, where a missing URL fails.

// The whole binary is test code: this lets clippy's allow-unwrap-in-tests cover the case functions
// and fixtures too, not only the generated `#[test]` functions.
#![cfg(test)]

mod support;

mod apps;
mod archive;
mod audit;
mod licenses;
mod limits;
mod otps;
mod sandbox;
mod sessions;
mod tenants;
