//! Security primitives for self-hosted web apps of the TREK kind.
#![forbid(unsafe_code)]

pub mod clock;
pub mod keyfile;
pub mod net;
pub mod password;
pub mod ratelimit;
pub mod secrets;
pub mod session;
pub mod ssrf;
pub mod totp;
