//! The password policy on arbitrary text: never panics, and its verdict is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trek_lib::password::check_policy;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let first = check_policy(&text);
    assert_eq!(first, check_policy(&text));
    if text.chars().count() < 8 {
        assert!(first.is_err());
    }
});
