//! Password policy, hashing and verification.

use std::ffi::c_char;
use std::ptr;

use trek_lib::password::{Hasher, check_policy};

use crate::cstr::{arg, out, write, write_string};
use crate::error::{Failure, guard, trek_result};

/// Checks `password` against the policy.
///
/// Returns `TREK_OK`, or `TREK_POLICY_VIOLATION` with the policy's message (TREK's wording).
/// `reason_out` is optional: when non-NULL it receives the message on a violation (free it
/// with `trek_string_free`) and NULL on success.
///
/// Thread safety: safe to call from any thread.
///
/// # Safety
///
/// `password` must be a NUL-terminated string; `reason_out` must be NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trek_password_check(
    password: *const c_char,
    reason_out: *mut *mut c_char,
) -> trek_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let password = unsafe { arg(password, "password") }?;
        let verdict = check_policy(password);
        if !reason_out.is_null() {
            match &verdict {
                // SAFETY: non-NULL and writable per the contract.
                Ok(()) => unsafe { write(reason_out, ptr::null_mut()) },
                // SAFETY: as above.
                Err(v) => unsafe { write_string(reason_out, &v.to_string()) }?,
            }
        }
        verdict.map_err(|v| Failure::new(trek_result::TREK_POLICY_VIOLATION, v.to_string()))
    })
}

/// Hashes `password` with Argon2id (m=19456 KiB, t=2, p=1) into a PHC string.
///
/// The password is not checked against the policy; call `trek_password_check` first. Takes
/// tens of milliseconds of CPU by design: do not call it on an event loop.
///
/// Thread safety: safe to call from any thread.
///
/// # Safety
///
/// `password` must be a NUL-terminated string; `hash_out` must be writable. On success
/// `*hash_out` is owned by the caller (free with `trek_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trek_password_hash(
    password: *const c_char,
    hash_out: *mut *mut c_char,
) -> trek_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let password = unsafe { arg(password, "password") }?;
        let hash_out = out(hash_out, "hash_out")?;
        let hash = Hasher::default()
            .hash(password)
            .map_err(|e| Failure::new(trek_result::TREK_INTERNAL, e.to_string()))?;
        // SAFETY: checked by `out`, writable per the contract.
        unsafe { write_string(hash_out, &hash) }
    })
}

/// Verifies `password` against a stored Argon2id or bcrypt (`$2a$`/`$2b$`/`$2y$`) hash.
///
/// Returns `TREK_OK` with `*matches_out` telling whether it matched and `*needs_rehash_out`
/// whether the hash should be replaced by a fresh Argon2id one after this successful check
/// (bcrypt, or other parameters). A wrong password is `TREK_OK` with `*matches_out = false`;
/// a hash that cannot be read is `TREK_INVALID_ARGUMENT`.
///
/// Thread safety: safe to call from any thread.
///
/// # Safety
///
/// `password` and `hash` must be NUL-terminated strings; `matches_out` and
/// `needs_rehash_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trek_password_verify(
    password: *const c_char,
    hash: *const c_char,
    matches_out: *mut bool,
    needs_rehash_out: *mut bool,
) -> trek_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let (password, hash) = unsafe { (arg(password, "password")?, arg(hash, "hash")?) };
        let matches_out = out(matches_out, "matches_out")?;
        let needs_rehash_out = out(needs_rehash_out, "needs_rehash_out")?;
        let hasher = Hasher::default();
        let matches = hasher
            .verify(password, hash)
            .map_err(|e| Failure::invalid(e.to_string()))?;
        // SAFETY: both checked by `out`, writable per the contract.
        unsafe {
            write(matches_out, matches);
            write(needs_rehash_out, matches && hasher.needs_rehash(hash));
        }
        Ok(())
    })
}
