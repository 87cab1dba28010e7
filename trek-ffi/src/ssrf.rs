//! The SSRF guard's address check.

use std::ffi::c_char;

use trek_lib::ssrf::{check_ip, parse_host};

use crate::cstr::arg;
use crate::error::{Failure, guard, trek_result};

/// Whether an outbound request to `ip` is allowed: `TREK_OK`, or `TREK_BLOCKED` with the
/// reason. `ip` is read as the socket layer reads a host (`127.1`, `0x7f000001`,
/// `[::ffff:127.0.0.1]` are all loopback), and IPv6 forms that carry an IPv4 address
/// (mapped, compatible, NAT64, 6to4) are judged by it. Loopback, link-local (cloud
/// metadata), unspecified, multicast and reserved addresses are always blocked; private
/// ranges only unless `allow_internal` (`ALLOW_INTERNAL_NETWORK=true`).
///
/// Returns `TREK_INVALID_ARGUMENT` when `ip` is not an address (a host name needs the
/// hostname-level guard, which resolves it first).
///
/// Thread safety: safe to call from any thread.
///
/// # Safety
///
/// `ip` must be a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trek_ssrf_check_ip(
    ip: *const c_char,
    allow_internal: bool,
) -> trek_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let text = unsafe { arg(ip, "ip") }?;
        let addr = parse_host(text.trim())
            .ok_or_else(|| Failure::invalid(format!("{text:?} is not an IP address")))?;
        check_ip(addr, allow_internal)
            .map_err(|e| Failure::new(trek_result::TREK_BLOCKED, e.to_string()))
    })
}
