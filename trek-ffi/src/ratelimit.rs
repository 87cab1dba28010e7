//! Fixed-window rate limiting behind an opaque handle.

use std::ffi::c_char;

use trek_lib::ratelimit::{Decision, RateLimiter};

use crate::cstr::{arg, out, write};
use crate::error::{Failure, guard, trek_result};

/// A fixed-window rate limiter. Opaque; create with `trek_rate_limiter_new`, release with
/// `trek_rate_limiter_free`. Safe to share between threads: counts stay exact under
/// concurrent use.
pub struct trek_rate_limiter {
    inner: RateLimiter,
}

/// A limiter allowing `max` attempts per key in each window of `window_ms` milliseconds, with
/// bounded memory (at most 100,000 keys tracked; the oldest windows are forgotten first).
///
/// Returns NULL when `max` or `window_ms` is zero (see `trek_last_error_message`).
///
/// Ownership: the caller owns the limiter and frees it with `trek_rate_limiter_free`.
/// Thread safety: safe to call from any thread; the limiter may then be shared.
///
/// # Safety
///
/// No pointer arguments: always safe to call.
#[unsafe(no_mangle)]
pub extern "C" fn trek_rate_limiter_new(max: u32, window_ms: u64) -> *mut trek_rate_limiter {
    let mut made = std::ptr::null_mut();
    let _ = guard(|| {
        let inner =
            RateLimiter::new(max, window_ms).map_err(|e| Failure::invalid(e.to_string()))?;
        made = Box::into_raw(Box::new(trek_rate_limiter { inner }));
        Ok(())
    });
    made
}

/// Counts an attempt for `key` at `now_ms` (milliseconds on any monotonic scale the caller
/// keeps) and decides it: `TREK_OK` when allowed, `TREK_RATE_LIMITED` when not, with the
/// milliseconds until the window ends in `*retry_after_ms_out` (0 when allowed).
///
/// Thread safety: one limiter may be used from many threads at once.
///
/// # Safety
///
/// `limiter` must come from `trek_rate_limiter_new` and not be freed; `key` must be a
/// NUL-terminated string; `retry_after_ms_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trek_rate_limiter_check(
    limiter: *const trek_rate_limiter,
    key: *const c_char,
    now_ms: u64,
    retry_after_ms_out: *mut u64,
) -> trek_result {
    guard(|| {
        if limiter.is_null() {
            return Err(Failure::invalid("limiter is NULL"));
        }
        // SAFETY: non-NULL, and the caller passes a live limiter; it is only read (Sync).
        let limiter = unsafe { &*limiter };
        // SAFETY: per this function's contract.
        let key = unsafe { arg(key, "key") }?;
        let retry_after_ms_out = out(retry_after_ms_out, "retry_after_ms_out")?;
        match limiter.inner.check(key, now_ms) {
            Decision::Allowed { .. } => {
                // SAFETY: checked by `out`, writable per the contract.
                unsafe { write(retry_after_ms_out, 0) };
                Ok(())
            }
            Decision::Limited { retry_after_ms } => {
                // SAFETY: as above.
                unsafe { write(retry_after_ms_out, retry_after_ms) };
                Err(Failure::new(
                    trek_result::TREK_RATE_LIMITED,
                    "too many attempts",
                ))
            }
        }
    })
}

/// Frees a limiter. NULL is ignored.
///
/// Ownership: takes the limiter back. Thread safety: only once no thread uses it any more.
///
/// # Safety
///
/// `limiter` must be NULL or come from `trek_rate_limiter_new`, not be freed already, and not
/// be in use by another thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trek_rate_limiter_free(limiter: *mut trek_rate_limiter) {
    let _ = guard(|| {
        if !limiter.is_null() {
            // SAFETY: made by Box::into_raw in trek_rate_limiter_new, freed once per contract.
            drop(unsafe { Box::from_raw(limiter) });
        }
        Ok(())
    });
}
