//! Safe to host for strangers: nobody who knows a person's phone or email can lock them out, a
//! reverse proxy does not merge every client into one, and bad input is refused before anything
//! happens, on both backends.

mod ceilings;
mod input;
mod lockout;
mod proxies;
