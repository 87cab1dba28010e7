//! HTTP tests of trek-server: each starts a real server on an ephemeral loopback port with a
//! temporary data directory and drives it over HTTP.

mod helpers;

mod auth_flows;
mod binary;
mod errors;
mod hardening;
mod http_layer;
mod invites;
mod mfa;
mod openapi;
mod rate_limits;
