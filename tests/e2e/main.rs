//! Black-box tests of the real `auth-engine` binary: every test starts its own server process with
//! its own directory and database, and speaks to it over HTTP exactly as an integrating backend does.
//! Postgres tests need `TEST_DATABASE_URL` (an admin URL) and are skipped without it, except in CI.

// Compiled only as a test target; cfg(test) also tells clippy that this is all test code.
#[cfg(test)]
mod audit;
#[cfg(test)]
mod cutoffs;
#[cfg(test)]
mod docs;
#[cfg(test)]
mod errors;
#[cfg(test)]
mod example;
#[cfg(test)]
mod licenses;
#[cfg(test)]
mod master_key;
#[cfg(test)]
mod openapi;
#[cfg(test)]
mod otp;
#[cfg(test)]
mod portal;
#[cfg(test)]
mod postgres;
#[cfg(test)]
mod rotation;
#[path = "../smtp_sink.rs"]
mod smtp_sink;
#[cfg(test)]
mod sqlite;
#[cfg(test)]
mod strangers;
#[cfg(test)]
mod support;
#[cfg(test)]
mod tenants;
#[cfg(test)]
mod tokens;
#[cfg(test)]
mod verify;
