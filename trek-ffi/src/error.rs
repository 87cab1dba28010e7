//! Result codes, the per-thread last-error message, and the panic guard.

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// What a call did. `TREK_OK` is 0; every other value names one kind of failure.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum trek_result {
    /// Success.
    TREK_OK = 0,
    /// A pointer was NULL, a string was not UTF-8, or a value was out of range.
    TREK_INVALID_ARGUMENT = 1,
    /// The password breaks the policy (the reason is given).
    TREK_POLICY_VIOLATION = 2,
    /// A signature, token, code or password did not verify.
    TREK_VERIFICATION_FAILED = 3,
    /// A sealed secret did not open: wrong key, altered or malformed value.
    TREK_DECRYPTION_FAILED = 4,
    /// A rate limit refused the attempt.
    TREK_RATE_LIMITED = 5,
    /// The SSRF guard refused the address.
    TREK_BLOCKED = 6,
    /// A bug in the library (a caught panic) or a failure of the system (no randomness).
    TREK_INTERNAL = 7,
    /// A token verified but has expired (or is not valid yet).
    TREK_EXPIRED = 8,
}

/// A failure on its way to the caller: the code and the reason kept for
/// `trek_last_error_message`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: trek_result,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(code: trek_result, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(trek_result::TREK_INVALID_ARGUMENT, message)
    }
}

pub(crate) type FfiResult = Result<(), Failure>;

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

fn remember(message: &str) {
    // A message with a NUL byte cannot be a C string; keep what precedes it.
    let text = message.split('\0').next().unwrap_or_default();
    let c = CString::new(text).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = Some(c));
}

/// Runs an export's body: panics become `TREK_INTERNAL`, failures are remembered for
/// `trek_last_error_message`.
pub(crate) fn guard(body: impl FnOnce() -> FfiResult) -> trek_result {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => trek_result::TREK_OK,
        Ok(Err(failure)) => {
            remember(&failure.message);
            failure.code
        }
        Err(_) => {
            remember("internal error: the library panicked (a bug; please report it)");
            trek_result::TREK_INTERNAL
        }
    }
}

/// A readable reason for the calling thread's last failed call, or an empty string when no
/// call on this thread has failed. Never NULL.
///
/// Ownership: the string belongs to the library; do not free it. It stays valid until the
/// next failing call on the same thread. Thread safety: each thread has its own message.
///
/// # Safety
///
/// No pointer arguments: always safe to call.
#[unsafe(no_mangle)]
pub extern "C" fn trek_last_error_message() -> *const c_char {
    LAST_ERROR.with(|slot| match slot.borrow().as_ref() {
        Some(message) => message.as_ptr(),
        None => c"".as_ptr(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last() -> String {
        // SAFETY: the function always returns a valid NUL-terminated string.
        unsafe { CStr::from_ptr(trek_last_error_message()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_trek_internal_and_is_explained() {
        let code = guard(|| panic!("boom"));
        assert_eq!(code, trek_result::TREK_INTERNAL);
        assert!(last().contains("panicked"));
    }

    #[test]
    fn failures_are_remembered_per_thread() {
        assert_eq!(
            guard(|| Err(Failure::invalid("first"))),
            trek_result::TREK_INVALID_ARGUMENT
        );
        assert_eq!(last(), "first");
        std::thread::spawn(|| assert_eq!(last(), ""))
            .join()
            .expect("thread");
        assert_eq!(
            guard(|| Err(Failure::invalid("a\0b"))),
            trek_result::TREK_INVALID_ARGUMENT
        );
        assert_eq!(last(), "a");
    }
}
