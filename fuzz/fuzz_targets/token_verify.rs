//! Session-token verification on arbitrary input: never panics, never accepts an unsigned or
//! foreign token, and only ever accepts what it would re-issue.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trek_lib::session::{SigningSecret, verify, verify_signed};

fuzz_target!(|data: &[u8]| {
    let secret =
        SigningSecret::new("969a7a826da8a3e8d3ca88ce7c7fa7bdc32916abf89af676ca07239e587ae801");
    let token = String::from_utf8_lossy(data);
    // A random string signed with a secret it never saw cannot verify.
    assert!(verify(&secret, &token, 1_700_000_000).is_err());
    let _ = verify_signed(&secret, &token, 1_700_000_000);
    // Every part of a valid token, mutated, must still be refused.
    let valid = trek_lib::session::issue(&secret, 1, 0, 1_700_000_000);
    if !data.is_empty() {
        let i = usize::from(data[0]) % valid.len();
        let mut bytes = valid.clone().into_bytes();
        bytes[i] = data.get(1).copied().unwrap_or(b'x');
        if bytes != valid.as_bytes() {
            if let Ok(mutated) = String::from_utf8(bytes) {
                if let Ok(claims) = verify(&secret, &mutated, 1_700_000_001) {
                    // Only base64 padding-bit aliases of the same token can survive.
                    assert_eq!((claims.user_id, claims.password_version), (1, 0));
                }
            }
        }
    }
});
