//! Every C entry point with arbitrary bytes as its string arguments (NUL-terminated, possibly
//! not UTF-8) and arbitrary integers: never crashes, never panics across the boundary (a
//! caught panic would show as TREK_INTERNAL, which is asserted never to happen), and frees
//! everything it is given.
#![no_main]

use std::ffi::{CString, c_char};
use std::ptr;

use libfuzzer_sys::fuzz_target;
use trek::net::*;
use trek::password::*;
use trek::ratelimit::*;
use trek::secrets::*;
use trek::session::*;
use trek::ssrf::*;
use trek::totp::*;
use trek::{trek_result, trek_string_free};

fn take(s: *mut c_char) {
    // SAFETY: `s` is NULL or a string the library returned and nobody freed.
    unsafe { trek_string_free(s) };
}

fn ok(r: trek_result) {
    assert_ne!(
        r,
        trek_result::TREK_INTERNAL,
        "an entry point panicked or failed internally"
    );
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 9 {
        return;
    }
    let (selector, rest) = (data[0], &data[1..]);
    let number = i64::from_le_bytes(rest[..8].try_into().expect("8 bytes"));
    let strings: Vec<CString> = rest[8..]
        .split(|&b| b == 0xff)
        .map(|part| {
            CString::new(
                part.iter()
                    .copied()
                    .filter(|&b| b != 0)
                    .collect::<Vec<u8>>(),
            )
            .expect("no NUL")
        })
        .chain(std::iter::repeat_with(|| {
            CString::new("x").expect("static")
        }))
        .take(3)
        .collect();
    let (a, b, c) = (
        strings[0].as_ptr(),
        strings[1].as_ptr(),
        strings[2].as_ptr(),
    );
    let mut out: *mut c_char = ptr::null_mut();
    let (mut b1, mut b2, mut i1, mut i2, mut u1) = (false, false, 0i64, 0i64, 0u64);
    // SAFETY: every pointer is a live NUL-terminated string or a live out-location.
    unsafe {
        match selector % 10 {
            0 => {
                ok(trek_password_check(a, &mut out));
                take(out);
            }
            1 => {
                // Only cheap hashes: a real bcrypt or Argon2 cost would slow fuzzing to a crawl.
                if !rest[8..].starts_with(b"$2") {
                    ok(trek_password_verify(a, b, &mut b1, &mut b2));
                }
            }
            2 => {
                ok(trek_secret_open(a, (number & 3) as u32, b, &mut out));
                take(out);
            }
            3 => {
                ok(trek_secret_seal(a, (number & 3) as u32, b, &mut out));
                take(out);
            }
            4 => ok(trek_session_verify(a, b, number, &mut i1, &mut i2)),
            5 => {
                ok(trek_session_issue(
                    a,
                    number,
                    number >> 3,
                    number >> 7,
                    &mut out,
                ));
                take(out);
            }
            6 => {
                ok(trek_totp_generate(a, number, &mut out));
                take(out);
                ok(trek_totp_verify(a, b, number, number >> 40, &mut i1));
            }
            7 => {
                ok(trek_client_ip(a, b, c, &mut out));
                take(out);
            }
            8 => ok(trek_ssrf_check_ip(a, number & 1 == 1)),
            _ => {
                let limiter =
                    trek_rate_limiter_new((number & 0xff) as u32, (number >> 8) as u64 & 0xffff);
                if !limiter.is_null() {
                    ok(trek_rate_limiter_check(limiter, a, number as u64, &mut u1));
                    trek_rate_limiter_free(limiter);
                }
            }
        }
    }
});
