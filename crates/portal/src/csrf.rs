//! Anti-forgery tokens: each browser gets a random cookie; every form carries a keyed hash of it.
//! Another site can neither read the cookie nor compute the hash, and SameSite=Strict keeps the
//! cookie off its requests as well.

use auth_domain::ct::constant_time_eq;
use auth_domain::ids::base32;
use auth_ports::MacPurpose;

use crate::PortalState;

/// Random bytes in a browser's anti-forgery cookie.
const SECRET_BYTES: usize = 32;

/// A fresh cookie value.
pub fn new_secret(state: &PortalState) -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    state.random.fill(&mut bytes);
    base32(&bytes)
}

/// The form token for the browser holding `secret`.
pub fn token(state: &PortalState, secret: &str) -> String {
    base32(&state.keys.mac(MacPurpose::PortalCsrf, secret.as_bytes()))
}

/// Whether `presented` is the form token for `secret`, compared in constant time.
pub fn verify(state: &PortalState, secret: Option<&str>, presented: &str) -> bool {
    secret.is_some_and(|secret| {
        constant_time_eq(token(state, secret).as_bytes(), presented.as_bytes())
    })
}
