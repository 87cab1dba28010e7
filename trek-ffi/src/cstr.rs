//! The only place raw pointers are read or written. Every helper checks for NULL first.

use std::ffi::{CStr, CString, c_char};

use crate::error::Failure;

/// Borrows a NUL-terminated UTF-8 string argument.
///
/// # Safety
///
/// `ptr` must be NULL or point to a NUL-terminated string that stays valid and unchanged for
/// `'a`.
pub(crate) unsafe fn arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::invalid(format!("{name} is NULL")));
    }
    // SAFETY: non-NULL, and the caller promises a valid NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes
        .to_str()
        .map_err(|_| Failure::invalid(format!("{name} is not valid UTF-8")))
}

/// Refuses an empty key: a session secret or encryption key of no bytes lets anyone forge
/// tokens or open secrets, so it is a caller's mistake, not a value.
pub(crate) fn non_empty<'a>(value: &'a str, name: &str) -> Result<&'a str, Failure> {
    if value.is_empty() {
        Err(Failure::invalid(format!("{name} is empty")))
    } else {
        Ok(value)
    }
}

/// Borrows an optional string argument: NULL is `None`.
///
/// # Safety
///
/// As [`arg`].
pub(crate) unsafe fn opt_arg<'a>(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: as `arg`.
    unsafe { arg(ptr, name) }.map(Some)
}

/// Checks that an out-pointer is usable before any work is done, so a NULL out-pointer never
/// leaves an allocation behind.
pub(crate) fn out<T>(ptr: *mut T, name: &str) -> Result<*mut T, Failure> {
    if ptr.is_null() {
        Err(Failure::invalid(format!("{name} is NULL")))
    } else {
        Ok(ptr)
    }
}

/// Writes a value through a checked out-pointer.
///
/// # Safety
///
/// `ptr` must come from [`out`] and point to writable memory for a `T`.
pub(crate) unsafe fn write<T>(ptr: *mut T, value: T) {
    // SAFETY: non-NULL (checked by `out`) and writable per the caller.
    unsafe { ptr.write(value) };
}

/// Hands a Rust string to C, to be released with `trek_string_free`.
pub(crate) fn to_c(value: &str) -> Result<*mut c_char, Failure> {
    CString::new(value).map(CString::into_raw).map_err(|_| {
        Failure::new(
            crate::trek_result::TREK_DECRYPTION_FAILED,
            "value contains a NUL byte and cannot be returned as a C string",
        )
    })
}

/// Writes a newly allocated copy of `value` through a checked out-pointer.
///
/// # Safety
///
/// As [`write`].
pub(crate) unsafe fn write_string(ptr: *mut *mut c_char, value: &str) -> Result<(), Failure> {
    let c = to_c(value)?;
    // SAFETY: as `write`.
    unsafe { write(ptr, c) };
    Ok(())
}

/// Releases a string made by [`to_c`].
///
/// # Safety
///
/// `ptr` must be NULL or come from [`to_c`] and not have been freed.
pub(crate) unsafe fn free(ptr: *mut c_char) {
    if !ptr.is_null() {
        // SAFETY: allocated by CString::into_raw in `to_c`, freed exactly once per the caller.
        drop(unsafe { CString::from_raw(ptr) });
    }
}
