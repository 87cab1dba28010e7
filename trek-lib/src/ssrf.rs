//! The address half of the SSRF guard: reading a URL host the way the socket layer would, and
//! deciding whether an address may be the target of an outbound request (decision 17).
//!
//! TREK tested address *strings* by prefix, so forms the socket layer accepts (`0x7f.1`,
//! `::ffff:7f00:1`, NAT64 and 6to4 addresses carrying a private IPv4) slipped through. Here
//! every host is parsed into an address first, exactly as `inet_aton` and the IPv6 parser
//! read it, addresses that embed an IPv4 address are judged by that address, and only then are
//! ranges compared.
//!
//! Resolution, connecting only to the validated address and re-checking redirects belong to
//! the hostname-level guard, which builds on [`check_ip`].
//!
//! ```
//! use trek_lib::ssrf::{check_ip, parse_host, SsrfError};
//!
//! let ip = parse_host("0x7f.1").unwrap();          // 127.0.0.1, as the socket layer reads it
//! assert_eq!(check_ip(ip, true), Err(SsrfError::LoopbackOrLinkLocal));
//! assert_eq!(check_ip("10.0.0.5".parse().unwrap(), false), Err(SsrfError::PrivateNetwork));
//! assert!(check_ip("10.0.0.5".parse().unwrap(), true).is_ok());
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address may not be requested. The messages are TREK's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SsrfError {
    /// Loopback, link-local (cloud metadata), unspecified, multicast, broadcast or reserved:
    /// never a legitimate target, whatever `ALLOW_INTERNAL_NETWORK` says.
    #[error("Requests to loopback and link-local addresses are not allowed")]
    LoopbackOrLinkLocal,
    /// A private, shared (CGNAT) or otherwise non-public range; allowed only with
    /// `ALLOW_INTERNAL_NETWORK=true`.
    #[error(
        "Requests to private/internal network addresses are not allowed. Set \
         ALLOW_INTERNAL_NETWORK=true to permit this for self-hosted setups."
    )]
    PrivateNetwork,
}

/// How an address is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// Routable on the public internet.
    Public,
    /// A private or internal range.
    Private,
    /// Never to be requested.
    Forbidden,
}

/// Reads a URL host as an IP address the way the socket layer does: IPv4 in every
/// `inet_aton` form (`2130706433`, `0x7f000001`, `017700000001`, `0x7f.1`, `127.1`), or IPv6
/// with or without brackets. `None` for a host name.
pub fn parse_host(host: &str) -> Option<IpAddr> {
    let host = host.trim_end_matches('.');
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    if let Ok(v6) = host.parse::<Ipv6Addr>() {
        return Some(IpAddr::V6(v6));
    }
    parse_inet_aton(host).map(IpAddr::V4)
}

/// `inet_aton`: one to four parts, each decimal, octal (leading `0`) or hex (`0x`); the last
/// part fills all remaining bytes.
fn parse_inet_aton(host: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let values: Vec<u64> = parts.iter().map(|p| parse_part(p)).collect::<Option<_>>()?;
    let (last, leading) = values.split_last()?;
    if leading.iter().any(|&v| v > 255) {
        return None;
    }
    let last_bits = 8 * (4 - leading.len() as u32);
    if *last >= 1u64 << last_bits {
        return None;
    }
    let mut addr: u64 = 0;
    for (i, &v) in leading.iter().enumerate() {
        addr |= v << (24 - 8 * i as u32);
    }
    addr |= last;
    Some(Ipv4Addr::from(u32::try_from(addr).ok()?))
}

fn parse_part(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        // "0x" alone is 0 for inet_aton.
        return (radix == 16).then_some(0);
    }
    if digits.len() > 16 || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// The IPv4 address an IPv6 address carries, if it is of a form that reaches one: mapped
/// (`::ffff:a.b.c.d`), compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`, `64:ff9b:1::/48`) or
/// 6to4 (`2002:aabb:ccdd::/16`).
pub fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..5] == [0; 5] && s[5] == 0xffff {
        return Some(low);
    }
    if s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1) {
        return Some(low);
    }
    if s[0] == 0x64 && s[1] == 0xff9b && (s[2..6] == [0; 4] || s[2] == 1) {
        return Some(low);
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    None
}

/// Classifies an address, judging IPv6 forms that embed IPv4 by the IPv4 address.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => classify_v4(v4),
            None => classify_v6(v6),
        },
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    let forbidden =
        a == 0 || a == 127 || (a == 169 && b == 254) || a >= 224 || (a == 192 && b == 0 && c == 0);
    if forbidden {
        return AddressClass::Forbidden;
    }
    let private = a == 10
        || (a == 172 && (16..=31).contains(&b))
        || (a == 192 && b == 168)
        || (a == 100 && (64..=127).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || (a == 192 && b == 0 && c == 2)
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113);
    if private {
        AddressClass::Private
    } else {
        AddressClass::Public
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    let first = ip.segments()[0];
    let forbidden = ip.is_unspecified()
        || ip.is_loopback()
        || (first & 0xffc0) == 0xfe80
        || (first & 0xff00) == 0xff00
        || ip.segments()[..6] == [0; 6];
    if forbidden {
        return AddressClass::Forbidden;
    }
    let private = (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfec0
        || first == 0x2001 && ip.segments()[1] == 0x0db8;
    if private {
        AddressClass::Private
    } else {
        AddressClass::Public
    }
}

/// Whether an outbound request to `ip` is allowed; `allow_internal` is
/// `ALLOW_INTERNAL_NETWORK=true`.
///
/// # Errors
///
/// [`SsrfError::LoopbackOrLinkLocal`] for forbidden addresses in any case;
/// [`SsrfError::PrivateNetwork`] for private ones unless `allow_internal`.
pub fn check_ip(ip: IpAddr, allow_internal: bool) -> Result<(), SsrfError> {
    match classify(ip) {
        AddressClass::Public => Ok(()),
        AddressClass::Private if allow_internal => Ok(()),
        AddressClass::Private => Err(SsrfError::PrivateNetwork),
        AddressClass::Forbidden => Err(SsrfError::LoopbackOrLinkLocal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn host(h: &str) -> IpAddr {
        parse_host(h).unwrap_or_else(|| panic!("{h} parses"))
    }

    #[test]
    fn every_inet_aton_form_of_loopback_is_loopback() {
        for h in [
            "2130706433",
            "0x7f000001",
            "017700000001",
            "0x7f.1",
            "127.1",
            "127.0.0.1",
            "0177.0.0.01",
            "127.0.0.1.",
        ] {
            assert_eq!(host(h), IpAddr::V4(Ipv4Addr::LOCALHOST), "{h}");
            assert_eq!(
                check_ip(host(h), true),
                Err(SsrfError::LoopbackOrLinkLocal),
                "{h}"
            );
        }
        assert_eq!(host("0"), IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    }

    #[test]
    fn non_addresses_are_host_names() {
        for h in [
            "example.com",
            "256.1.1.1",
            "1.2.3.4.5",
            "0x1g",
            "1..2",
            "",
            "08.0.0.1",
            "4294967296",
        ] {
            assert_eq!(parse_host(h), None, "{h}");
        }
    }

    #[test]
    fn ipv6_forms_that_carry_ipv4_are_judged_by_it() {
        for h in [
            "[::ffff:127.0.0.1]",
            "::ffff:7f00:1",
            "[::127.0.0.1]",
            "64:ff9b::7f00:1",
            "64:ff9b:1::a9fe:a9fe",
            "2002:7f00:1::1",
            "[::ffff:169.254.169.254]",
        ] {
            assert_eq!(
                check_ip(host(h), true),
                Err(SsrfError::LoopbackOrLinkLocal),
                "{h}"
            );
        }
        for h in [
            "::ffff:10.0.0.1",
            "64:ff9b::c0a8:101",
            "2002:c0a8:101::1",
            "::ffff:100.64.0.1",
        ] {
            assert_eq!(
                check_ip(host(h), false),
                Err(SsrfError::PrivateNetwork),
                "{h}"
            );
            assert!(check_ip(host(h), true).is_ok(), "{h}");
        }
        assert!(check_ip(host("::ffff:8.8.8.8"), false).is_ok());
        assert!(check_ip(host("2002:808:808::1"), false).is_ok());
    }

    #[test]
    fn forbidden_ranges_stay_forbidden_even_with_internal_allowed() {
        for h in [
            "0.0.0.0",
            "169.254.169.254",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.0.1",
            "::",
            "::1",
            "fe80::1",
            "febf::1",
            "ff02::1",
        ] {
            assert_eq!(
                check_ip(host(h), true),
                Err(SsrfError::LoopbackOrLinkLocal),
                "{h}"
            );
        }
    }

    #[test]
    fn private_ranges_need_allow_internal() {
        for h in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "198.18.0.1",
            "fd00::1",
            "fc00::1",
            "fec0::1",
        ] {
            assert_eq!(
                check_ip(host(h), false),
                Err(SsrfError::PrivateNetwork),
                "{h}"
            );
            assert!(check_ip(host(h), true).is_ok(), "{h}");
        }
        for h in [
            "172.32.0.1",
            "100.128.0.1",
            "8.8.8.8",
            "2606:4700::1111",
            "1.1.1.1",
        ] {
            assert!(check_ip(host(h), false).is_ok(), "{h}");
        }
    }

    proptest! {
        #[test]
        fn dotted_quads_parse_as_std_does(a in any::<u32>()) {
            let ip = Ipv4Addr::from(a);
            prop_assert_eq!(parse_host(&ip.to_string()), Some(IpAddr::V4(ip)));
            prop_assert_eq!(parse_host(&a.to_string()), Some(IpAddr::V4(ip)));
            prop_assert_eq!(parse_host(&format!("{a:#x}")), Some(IpAddr::V4(ip)));
        }

        #[test]
        fn mapped_addresses_classify_like_their_ipv4(a in any::<u32>()) {
            let v4 = Ipv4Addr::from(a);
            prop_assert_eq!(classify(IpAddr::V6(v4.to_ipv6_mapped())), classify(IpAddr::V4(v4)));
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,40}") {
            let _ = parse_host(&s);
        }
    }
}
