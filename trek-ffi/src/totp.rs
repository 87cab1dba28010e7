//! TOTP codes.

use std::ffi::c_char;

use trek_lib::totp::{TotpSecret, code_at, verify};

use crate::cstr::{arg, out, write, write_string};
use crate::error::{Failure, guard, trek_result};

fn secret(text: &str) -> Result<TotpSecret, Failure> {
    TotpSecret::from_base32(text).map_err(|e| Failure::invalid(e.to_string()))
}

fn time(unix_time: i64) -> Result<u64, Failure> {
    u64::try_from(unix_time).map_err(|_| Failure::invalid("unix_time is before 1970"))
}

/// The 6-digit code (SHA-1, 30-second steps) for `secret_base32` at `unix_time`.
///
/// Thread safety: safe to call from any thread.
///
/// # Safety
///
/// `secret_base32` must be a NUL-terminated string; `code_out` must be writable. On success
/// `*code_out` is owned by the caller (free with `trek_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trek_totp_generate(
    secret_base32: *const c_char,
    unix_time: i64,
    code_out: *mut *mut c_char,
) -> trek_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let secret = secret(unsafe { arg(secret_base32, "secret_base32") }?)?;
        let unix_time = time(unix_time)?;
        let code_out = out(code_out, "code_out")?;
        // SAFETY: checked by `out`, writable per the contract.
        unsafe { write_string(code_out, &code_at(&secret, unix_time)) }
    })
}

/// Verifies `code` (white space ignored) for `secret_base32` at `unix_time`, accepting one
/// step either side, and refusing any step at or before `last_step` (the last step this
/// account accepted; -1 when none), so a code works once.
///
/// Returns `TREK_OK` with the matched step in `*matched_step_out` (store it as the new
/// `last_step`), or `TREK_VERIFICATION_FAILED`.
///
/// Thread safety: safe to call from any thread.
///
/// # Safety
///
/// `secret_base32` and `code` must be NUL-terminated strings; `matched_step_out` must be
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trek_totp_verify(
    secret_base32: *const c_char,
    code: *const c_char,
    unix_time: i64,
    last_step: i64,
    matched_step_out: *mut i64,
) -> trek_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let (secret_text, code) =
            unsafe { (arg(secret_base32, "secret_base32")?, arg(code, "code")?) };
        let secret = secret(secret_text)?;
        let unix_time = time(unix_time)?;
        let last = match last_step {
            -1 => None,
            n => Some(
                u64::try_from(n)
                    .map_err(|_| Failure::invalid("last_step must be -1 or a step number"))?,
            ),
        };
        let matched_step_out = out(matched_step_out, "matched_step_out")?;
        let step = verify(&secret, code, unix_time, last).ok_or_else(|| {
            Failure::new(
                trek_result::TREK_VERIFICATION_FAILED,
                "the code does not match",
            )
        })?;
        let step = i64::try_from(step).map_err(|_| Failure::invalid("step out of range"))?;
        // SAFETY: checked by `out`, writable per the contract.
        unsafe { write(matched_step_out, step) };
        Ok(())
    })
}
