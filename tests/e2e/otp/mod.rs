//! One-time codes: sending, verifying, their limits, and keeping them secret.

mod limits;
mod secrecy;
mod send;
mod verify;
