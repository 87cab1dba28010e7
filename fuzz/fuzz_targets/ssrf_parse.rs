//! Reading URL hosts as addresses: never panics, and whatever is parsed as loopback by the
//! standard library is forbidden by the guard in every form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trek_lib::ssrf::{AddressClass, check_ip, classify, parse_host};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(ip) = parse_host(&text) {
        if ip.to_canonical().is_loopback() || ip.is_unspecified() {
            assert_eq!(classify(ip), AddressClass::Forbidden, "{text} -> {ip}");
            assert!(check_ip(ip, true).is_err());
        }
    }
});
