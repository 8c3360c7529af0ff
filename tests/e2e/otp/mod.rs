//! One-time codes: sending, verifying, their limits, and keeping them secret.

mod delivery;
mod limits;
mod secrecy;
mod send;
mod verify;
