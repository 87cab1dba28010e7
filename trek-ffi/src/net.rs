//! Client-IP derivation behind proxies.

use std::ffi::c_char;
use std::net::IpAddr;

use trek_lib::net::{TrustProxy, client_ip};

use crate::cstr::{arg, opt_arg, out, write_string};
use crate::error::{Failure, guard, trek_result};

/// The client's address for a request that arrived from `peer`, per `TRUST_PROXY`:
/// `X-Forwarded-For` (optional, NULL when absent; join several headers with ", ") is read only
/// when the peer is a trusted proxy, right to left past trusted hops.
///
/// `trust_proxy` is the `TRUST_PROXY` value: a hop count, a comma-separated list of CIDRs or
/// addresses, `0`/`false` (off), or NULL (unset: off; this function has no notion of
/// production mode, whose default is one loopback or private hop).
///
/// Returns `TREK_INVALID_ARGUMENT` for an unparsable `peer` or `trust_proxy`.
///
/// Thread safety: safe to call from any thread.
///
/// # Safety
///
/// `peer` must be a NUL-terminated string; `x_forwarded_for` and `trust_proxy` must be NULL
/// or NUL-terminated strings; `ip_out` must be writable. On success `*ip_out` is owned by the
/// caller (free with `trek_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trek_client_ip(
    peer: *const c_char,
    x_forwarded_for: *const c_char,
    trust_proxy: *const c_char,
    ip_out: *mut *mut c_char,
) -> trek_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let (peer, forwarded, trust) = unsafe {
            (
                arg(peer, "peer")?,
                opt_arg(x_forwarded_for, "x_forwarded_for")?,
                opt_arg(trust_proxy, "trust_proxy")?,
            )
        };
        let peer: IpAddr = peer
            .trim()
            .parse()
            .map_err(|_| Failure::invalid(format!("peer {peer:?} is not an IP address")))?;
        let trust = TrustProxy::from_env_value(trust, false)
            .map_err(|e| Failure::invalid(e.to_string()))?;
        let ip_out = out(ip_out, "ip_out")?;
        let ip = client_ip(peer, forwarded, &trust);
        // SAFETY: checked by `out`, writable per the contract.
        unsafe { write_string(ip_out, &ip.to_string()) }
    })
}
