//! `libtrek`: trek-lib's primitives over a C ABI, as a shared and a static library with the
//! cbindgen header `include/trek.h`.
//!
//! The conventions follow rustls-ffi: opaque handles, explicit ownership, a result code from
//! every fallible call, a per-thread last-error message, and no panic ever crossing the
//! boundary (each export runs inside [`guard`], which turns a panic into `TREK_INTERNAL`).
//! This is the one crate of the workspace where `unsafe` lives: every export documents the
//! pointer contract it relies on in a `# Safety` section, and the raw-pointer handling is
//! confined to the helpers in `cstr`.
#![allow(unsafe_code)]
#![allow(non_camel_case_types)]

mod cstr;
mod error;

pub mod net;
pub mod password;
pub mod ratelimit;
pub mod secrets;
pub mod session;
pub mod ssrf;
pub mod totp;

pub use error::{trek_last_error_message, trek_result};

use std::ffi::c_char;

use error::guard;

/// The library version, a static NUL-terminated string.
///
/// Ownership: the string belongs to the library and lives for the whole program; do not free
/// it. Thread safety: safe to call from any thread.
///
/// # Safety
///
/// No pointer arguments: always safe to call.
#[unsafe(no_mangle)]
pub extern "C" fn trek_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Frees a string this library returned through a `char **` out-parameter. NULL is ignored.
///
/// Ownership: takes the string back from the caller. Thread safety: any thread may free a
/// string, as long as no other thread still uses it.
///
/// # Safety
///
/// `s` must be NULL or a pointer returned by this library and not yet freed; afterwards it
/// must not be used.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trek_string_free(s: *mut c_char) {
    let _ = guard(|| {
        // SAFETY: the caller passes a string this library allocated with CString::into_raw.
        unsafe { cstr::free(s) };
        Ok(())
    });
}
