//! Cookie and Authorization parsing on arbitrary headers: never panics, and the token found
//! is always a substring of one of the headers, non-empty and without white space.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trek_lib::session::{bearer_token, cookie_value, extract_token};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (cookie, authorization) = text.split_once('\n').unwrap_or((&text, ""));
    let cookie = (!cookie.is_empty()).then_some(cookie);
    let authorization = (!authorization.is_empty()).then_some(authorization);
    if let Some(token) = extract_token(cookie, authorization) {
        assert!(!token.is_empty());
        let inside = cookie.is_some_and(|c| c.contains(token))
            || authorization.is_some_and(|a| a.contains(token));
        assert!(inside);
    }
    if let Some(c) = cookie {
        let _ = cookie_value(c);
    }
    if let Some(t) = authorization.and_then(bearer_token) {
        assert!(!t.contains(char::is_whitespace));
    }
});
