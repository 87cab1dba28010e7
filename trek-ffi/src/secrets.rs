//! Sealing and opening secrets in TREK's two stored formats.

use std::ffi::c_char;

use trek_lib::secrets::{EncryptionKey, SecretBox, SecretKind};

use crate::cstr::{arg, non_empty, out, write_string};
use crate::error::{Failure, guard, trek_result};

/// Which stored format (and derived key) a secret uses.
pub type trek_secret_kind = u32;

/// `enc:v1:` values (provider keys, SMTP passwords, webhook URLs, invite tokens).
pub const TREK_SECRET_API_KEY: trek_secret_kind = 0;

/// TOTP secrets: unprefixed base64 under their own key.
pub const TREK_SECRET_MFA: trek_secret_kind = 1;

fn kind_of(kind: trek_secret_kind) -> Result<SecretKind, Failure> {
    match kind {
        TREK_SECRET_API_KEY => Ok(SecretKind::ApiKey),
        TREK_SECRET_MFA => Ok(SecretKind::Mfa),
        other => Err(Failure::invalid(format!(
            "unknown secret kind {other}: use TREK_SECRET_API_KEY or TREK_SECRET_MFA"
        ))),
    }
}

/// Seals `plaintext` with AES-256-GCM under a key derived from `encryption_key` (the
/// `ENCRYPTION_KEY` text, used verbatim), in the stored format of `kind`, with a fresh random
/// nonce.
///
/// Thread safety: safe to call from any thread.
///
/// # Safety
///
/// `encryption_key` and `plaintext` must be NUL-terminated strings; `stored_out` must be
/// writable. On success `*stored_out` is owned by the caller (free with `trek_string_free`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trek_secret_seal(
    encryption_key: *const c_char,
    kind: trek_secret_kind,
    plaintext: *const c_char,
    stored_out: *mut *mut c_char,
) -> trek_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let (key, plaintext) = unsafe {
            (
                arg(encryption_key, "encryption_key")?,
                arg(plaintext, "plaintext")?,
            )
        };
        let key = non_empty(key, "encryption_key")?;
        let kind = kind_of(kind)?;
        let stored_out = out(stored_out, "stored_out")?;
        let sealed = SecretBox::new(&EncryptionKey::new(key)).seal(kind, plaintext);
        // SAFETY: checked by `out`, writable per the contract.
        unsafe { write_string(stored_out, &sealed) }
    })
}

/// Opens a stored value of `kind` under `encryption_key`.
///
/// For `TREK_SECRET_API_KEY`, a value without the `enc:v1:` prefix is legacy plaintext and is
/// returned as it is. Returns `TREK_DECRYPTION_FAILED` for a wrong key or an altered or
/// malformed value (and for a plaintext containing a NUL byte, which C cannot receive).
///
/// Thread safety: safe to call from any thread.
///
/// # Safety
///
/// `encryption_key` and `stored` must be NUL-terminated strings; `plaintext_out` must be
/// writable. On success `*plaintext_out` is owned by the caller (free with
/// `trek_string_free`, ideally after overwriting it).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trek_secret_open(
    encryption_key: *const c_char,
    kind: trek_secret_kind,
    stored: *const c_char,
    plaintext_out: *mut *mut c_char,
) -> trek_result {
    guard(|| {
        // SAFETY: per this function's contract.
        let (key, stored) = unsafe {
            (
                arg(encryption_key, "encryption_key")?,
                arg(stored, "stored")?,
            )
        };
        let key = non_empty(key, "encryption_key")?;
        let kind = kind_of(kind)?;
        let plaintext_out = out(plaintext_out, "plaintext_out")?;
        let opened = SecretBox::new(&EncryptionKey::new(key))
            .open(kind, stored)
            .map_err(|e| Failure::new(trek_result::TREK_DECRYPTION_FAILED, e.to_string()))?;
        // SAFETY: checked by `out`, writable per the contract.
        unsafe { write_string(plaintext_out, &opened) }
    })
}
