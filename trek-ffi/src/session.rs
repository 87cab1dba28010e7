//! Session tokens.

use std::ffi::c_char;

use trek_lib::session::{SigningSecret, TokenError, issue, verify};

use crate::cstr::{arg, non_empty, out, write, write_string};
use crate::error::{Failure, guard, trek_result};

/// Issues a session token (HS256; claims `id`, `pv`, `iat` = `now`, `exp` = `now` + 24 h),
/// keyed by the text of `jwt_secret` (the contents of `data/.jwt_secret`), byte-identical to
/// TREK's.
///
/// Thread safety: safe to call from any thread.
///
/// # Safety
///
/// `jwt_secret` must be a NUL-terminated string; `token_out` must be writable. On success
/// `*token_out` is owned by the caller (free with `trek_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trek_session_issue(
    jwt_secret: *const c_char,
    user_id: i64,
    password_version: i64,
    now: i64,
    token_out: *mut *mut c_char,
) -> trek_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let secret = non_empty(unsafe { arg(jwt_secret, "jwt_secret") }?, "jwt_secret")?;
        let token_out = out(token_out, "token_out")?;
        let token = issue(&SigningSecret::new(secret), user_id, password_version, now);
        // SAFETY: checked by `out`, writable per the contract.
        unsafe { write_string(token_out, &token) }
    })
}

/// Verifies a session token at time `now` (seconds since the epoch).
///
/// Returns `TREK_OK` with the user id and password version (the caller must still compare
/// the version with the account's); `TREK_EXPIRED` for an expired or not-yet-valid token;
/// `TREK_VERIFICATION_FAILED` for a bad signature, another algorithm, a malformed token, or a
/// token with a `purpose` claim (an MFA-pending token is never a session).
///
/// Thread safety: safe to call from any thread.
///
/// # Safety
///
/// `jwt_secret` and `token` must be NUL-terminated strings; `user_id_out` and
/// `password_version_out` must be writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trek_session_verify(
    jwt_secret: *const c_char,
    token: *const c_char,
    now: i64,
    user_id_out: *mut i64,
    password_version_out: *mut i64,
) -> trek_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let (secret, token) = unsafe { (arg(jwt_secret, "jwt_secret")?, arg(token, "token")?) };
        let secret = non_empty(secret, "jwt_secret")?;
        let user_id_out = out(user_id_out, "user_id_out")?;
        let password_version_out = out(password_version_out, "password_version_out")?;
        let claims = verify(&SigningSecret::new(secret), token, now).map_err(|e| {
            let code = match e {
                TokenError::Expired => trek_result::TREK_EXPIRED,
                _ => trek_result::TREK_VERIFICATION_FAILED,
            };
            Failure::new(code, e.to_string())
        })?;
        // SAFETY: both checked by `out`, writable per the contract.
        unsafe {
            write(user_id_out, claims.user_id);
            write(password_version_out, claims.password_version);
        }
        Ok(())
    })
}
