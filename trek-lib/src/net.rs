//! Client-IP derivation behind reverse proxies.
//!
//! `X-Forwarded-For` is only believed when the immediate peer (the address
//! the TCP connection comes from) is a trusted proxy, and it is read right to
//! left, past trusted hops only: everything left of the first untrusted hop
//! was written by someone we have no reason to believe. The rate limiter, the
//! audit log and the Secure-cookie rule all derive addresses through
//! [`client_ip`] and [`TrustProxy::trusts_peer`], so they never disagree
//! about who the client is.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use ipnet::{IpNet, Ipv4Net};

/// Which peers may tell us, through forwarding headers, who the client is.
///
/// Usually built from the `TRUST_PROXY` environment variable with
/// [`TrustProxy::from_env_value`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TrustProxy {
    /// Forwarding headers are ignored; the peer is the client.
    Off,
    /// The nearest `n` hops (the peer included) are proxies, trusted blindly.
    ///
    /// The peer's headers are believed whoever the peer is, so use this only
    /// when the server can be reached solely through its proxies. The count
    /// must be exact: one too many lets any client pick its own address by
    /// sending `X-Forwarded-For`, one too few makes a proxy look like the
    /// client. `Hops(0)` trusts nothing, like [`TrustProxy::Off`].
    Hops(u32),
    /// Every address in these networks is a trusted proxy, wherever it
    /// appears in the chain.
    Networks(Vec<IpNet>),
    /// The production default: one proxy, trusted only when the peer is a
    /// loopback or private address, i.e. a proxy beside the server.
    LocalHop,
}

/// Why a network setting could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// A `TRUST_PROXY` list entry is neither an IP address nor a CIDR.
    #[error(
        "invalid TRUST_PROXY value {value:?}: {entry:?} is not an IP address or CIDR; \
         use `0` or `false` to disable, `true` or a hop count such as `1`, \
         or a comma-separated list of IPs and CIDRs such as `10.0.0.0/8, ::1`"
    )]
    InvalidTrustProxy {
        /// The whole value, as given.
        value: String,
        /// The list entry that failed to parse, trimmed.
        entry: String,
    },
    /// A `TRUST_PROXY` hop count does not fit in 32 bits.
    #[error(
        "invalid TRUST_PROXY value {value:?}: the hop count is too large; \
         use the number of proxies in front of the server, such as `1`, \
         `0` or `false` to disable, or a comma-separated list of IPs and CIDRs"
    )]
    HopCountTooLarge {
        /// The whole value, as given.
        value: String,
    },
}

impl TrustProxy {
    /// Parses the `TRUST_PROXY` environment variable (`None` when unset).
    ///
    /// - unset, empty or blank: [`TrustProxy::LocalHop`] in production,
    ///   [`TrustProxy::Off`] elsewhere;
    /// - `0` or `false`, in any case: [`TrustProxy::Off`];
    /// - `true`, in any case: [`TrustProxy::Hops(1)`](TrustProxy::Hops);
    /// - a decimal number `n`: [`TrustProxy::Hops(n)`](TrustProxy::Hops) (`Off` if `n` is 0);
    /// - otherwise a comma-separated list of CIDRs or bare IPs (a bare IP
    ///   means /32 or /128), spaces allowed around entries:
    ///   [`TrustProxy::Networks`]. IPv4-mapped IPv6 entries become IPv4, so
    ///   they match peers as [`normalize`] presents them.
    ///
    /// # Errors
    ///
    /// [`NetError::HopCountTooLarge`] if a hop count exceeds `u32::MAX`, and
    /// [`NetError::InvalidTrustProxy`] if any list entry (an empty one
    /// included) is neither an IP address nor a CIDR.
    pub fn from_env_value(value: Option<&str>, production: bool) -> Result<Self, NetError> {
        let raw = value.unwrap_or_default();
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(if production {
                Self::LocalHop
            } else {
                Self::Off
            });
        }
        if trimmed == "0" || trimmed.eq_ignore_ascii_case("false") {
            return Ok(Self::Off);
        }
        if trimmed.eq_ignore_ascii_case("true") {
            return Ok(Self::Hops(1));
        }
        if trimmed.bytes().all(|byte| byte.is_ascii_digit()) {
            return parse_hops(raw, trimmed);
        }
        parse_networks(raw, trimmed).map(Self::Networks)
    }

    /// Whether the forwarding headers (`X-Forwarded-For`,
    /// `X-Forwarded-Proto`) sent by the immediate `peer` may be believed.
    #[must_use]
    pub fn trusts_peer(&self, peer: IpAddr) -> bool {
        let peer = normalize(peer);
        match self {
            Self::Off => false,
            Self::Hops(hops) => *hops > 0,
            Self::Networks(networks) => in_networks(networks, peer),
            Self::LocalHop => is_loopback_or_private(peer),
        }
    }
}

fn parse_hops(raw: &str, digits: &str) -> Result<TrustProxy, NetError> {
    match digits.parse::<u32>() {
        Ok(0) => Ok(TrustProxy::Off),
        Ok(hops) => Ok(TrustProxy::Hops(hops)),
        Err(_) => Err(NetError::HopCountTooLarge {
            value: raw.to_owned(),
        }),
    }
}

fn parse_networks(raw: &str, list: &str) -> Result<Vec<IpNet>, NetError> {
    list.split(',')
        .map(str::trim)
        .map(|entry| {
            parse_network(entry).ok_or_else(|| NetError::InvalidTrustProxy {
                value: raw.to_owned(),
                entry: entry.to_owned(),
            })
        })
        .collect()
}

fn parse_network(entry: &str) -> Option<IpNet> {
    let network = match entry.parse::<IpNet>() {
        Ok(network) => network.trunc(),
        Err(_) => IpNet::from(entry.parse::<IpAddr>().ok()?),
    };
    Some(unmap_network(network))
}

/// `::ffff:10.0.0.0/104` becomes `10.0.0.0/8`: peers are normalised to IPv4
/// before matching, so a mapped network left as IPv6 would never match.
fn unmap_network(network: IpNet) -> IpNet {
    let IpNet::V6(v6) = network else {
        return network;
    };
    let unmapped = v6
        .addr()
        .to_ipv4_mapped()
        .filter(|_| v6.prefix_len() >= 96)
        .and_then(|v4| Ipv4Net::new(v4, v6.prefix_len() - 96).ok());
    unmapped.map_or(network, IpNet::V4)
}

fn in_networks(networks: &[IpNet], ip: IpAddr) -> bool {
    networks.iter().any(|network| network.contains(&ip))
}

/// The address of the client that `peer` connected for.
///
/// `x_forwarded_for` is the `X-Forwarded-For` header, several headers joined
/// with `", "`. It is read only if `trust` trusts the peer, from right to
/// left: [`TrustProxy::Hops(n)`](TrustProxy::Hops) takes the n-th entry from the right (or
/// the leftmost if there are fewer), [`TrustProxy::Networks`] the first
/// entry outside the trusted networks (or the leftmost if all are inside),
/// and [`TrustProxy::LocalHop`] the rightmost.
///
/// Entries may carry a port (`1.2.3.4:5678`, `[2001:db8::1]:443`) or
/// brackets, and empty entries (from empty headers or stray commas) are
/// skipped. An entry that is not an address (`unknown`, garbage) ends the
/// walk at the hop that forwarded it: nothing left of it can be trusted.
/// IPv4-mapped IPv6 addresses come back as IPv4, so the result is always the
/// normalised peer or one of the header's addresses.
#[must_use]
pub fn client_ip(peer: IpAddr, x_forwarded_for: Option<&str>, trust: &TrustProxy) -> IpAddr {
    let peer = normalize(peer);
    if !trust.trusts_peer(peer) {
        return peer;
    }
    let hops = forwarded_hops(x_forwarded_for.unwrap_or_default());
    match trust {
        TrustProxy::Off => peer,
        TrustProxy::Hops(count) => walk_hops(peer, hops, *count),
        TrustProxy::LocalHop => walk_hops(peer, hops, 1),
        TrustProxy::Networks(networks) => walk_networks(peer, hops, networks),
    }
}

/// The header's entries from right to left, `None` for one that is not an
/// address. Lazy, so a long forged header costs only the hops we walk.
fn forwarded_hops(header: &str) -> impl Iterator<Item = Option<IpAddr>> + '_ {
    header
        .rsplit(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(parse_hop)
}

fn parse_hop(entry: &str) -> Option<IpAddr> {
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| bracketed_v6(entry))?;
    Some(normalize(ip))
}

fn bracketed_v6(entry: &str) -> Option<IpAddr> {
    let inner = entry.strip_prefix('[')?.strip_suffix(']')?;
    inner.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

fn walk_hops(peer: IpAddr, hops: impl Iterator<Item = Option<IpAddr>>, count: u32) -> IpAddr {
    let steps = usize::try_from(count).unwrap_or(usize::MAX);
    let mut current = peer;
    for hop in hops.take(steps) {
        let Some(ip) = hop else { break };
        current = ip;
    }
    current
}

fn walk_networks(
    peer: IpAddr,
    hops: impl Iterator<Item = Option<IpAddr>>,
    networks: &[IpNet],
) -> IpAddr {
    let mut current = peer;
    for hop in hops {
        let Some(ip) = hop else { break };
        current = ip;
        if !in_networks(networks, current) {
            break;
        }
    }
    current
}

/// Turns an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, as dual-stack
/// sockets report IPv4 peers) into plain IPv4; returns anything else
/// unchanged.
#[must_use]
pub fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// Whether `ip` is a loopback, private or link-local address, one that a
/// proxy running beside the server would connect from.
///
/// That is `127.0.0.0/8`, `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`,
/// `169.254.0.0/16`, `::1`, `fc00::/7` and `fe80::/10`, and the IPv4-mapped
/// forms of the IPv4 ranges.
#[must_use]
pub fn is_loopback_or_private(ip: IpAddr) -> bool {
    match normalize(ip) {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_private() || v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    fn nets(list: &str) -> TrustProxy {
        TrustProxy::from_env_value(Some(list), true).expect("test networks")
    }

    fn parsed(value: &str) -> Result<TrustProxy, NetError> {
        TrustProxy::from_env_value(Some(value), true)
    }

    const PROXY: &str = "10.0.0.1";

    // --- from_env_value ---

    #[test]
    fn unset_trust_proxy_in_production_trusts_one_local_hop() {
        assert_eq!(
            TrustProxy::from_env_value(None, true),
            Ok(TrustProxy::LocalHop)
        );
    }

    #[test]
    fn unset_trust_proxy_outside_production_is_off() {
        assert_eq!(TrustProxy::from_env_value(None, false), Ok(TrustProxy::Off));
    }

    #[test]
    fn blank_trust_proxy_counts_as_unset() {
        for value in ["", "   ", "\t\n"] {
            assert_eq!(
                TrustProxy::from_env_value(Some(value), true),
                Ok(TrustProxy::LocalHop)
            );
            assert_eq!(
                TrustProxy::from_env_value(Some(value), false),
                Ok(TrustProxy::Off)
            );
        }
    }

    #[test]
    fn zero_and_false_in_any_case_turn_trust_off_even_in_production() {
        for value in ["0", "false", "FALSE", " False ", "00"] {
            assert_eq!(parsed(value), Ok(TrustProxy::Off), "{value:?}");
        }
    }

    #[test]
    fn true_in_any_case_trusts_one_hop() {
        for value in ["true", "TRUE", " True "] {
            assert_eq!(parsed(value), Ok(TrustProxy::Hops(1)), "{value:?}");
        }
    }

    #[test]
    fn a_number_is_a_hop_count() {
        assert_eq!(parsed("1"), Ok(TrustProxy::Hops(1)));
        assert_eq!(parsed(" 3 "), Ok(TrustProxy::Hops(3)));
        assert_eq!(parsed("4294967295"), Ok(TrustProxy::Hops(u32::MAX)));
    }

    #[test]
    fn a_hop_count_beyond_32_bits_is_rejected_with_the_value() {
        let error = parsed("4294967296").expect_err("too large");
        assert_eq!(
            error,
            NetError::HopCountTooLarge {
                value: "4294967296".into()
            }
        );
        assert!(error.to_string().contains("\"4294967296\""));
    }

    #[test]
    fn a_cidr_list_is_parsed_with_spaces_trimmed() {
        assert_eq!(
            parsed(" 10.0.0.0/8 ,192.168.1.0/24,  fd00::/8 "),
            Ok(TrustProxy::Networks(vec![
                "10.0.0.0/8".parse().expect("net"),
                "192.168.1.0/24".parse().expect("net"),
                "fd00::/8".parse().expect("net"),
            ]))
        );
    }

    #[test]
    fn bare_ips_are_single_address_networks() {
        assert_eq!(
            parsed("203.0.113.5, 2001:db8::1"),
            Ok(TrustProxy::Networks(vec![
                "203.0.113.5/32".parse().expect("net"),
                "2001:db8::1/128".parse().expect("net"),
            ]))
        );
    }

    #[test]
    fn cidrs_with_host_bits_are_truncated_to_their_network() {
        assert_eq!(
            parsed("10.1.2.3/8"),
            Ok(TrustProxy::Networks(vec![
                "10.0.0.0/8".parse().expect("net")
            ]))
        );
    }

    #[test]
    fn ipv4_mapped_entries_become_ipv4_networks() {
        assert_eq!(
            parsed("::ffff:10.0.0.1, ::ffff:192.168.0.0/112"),
            Ok(TrustProxy::Networks(vec![
                "10.0.0.1/32".parse().expect("net"),
                "192.168.0.0/16".parse().expect("net"),
            ]))
        );
    }

    #[test]
    fn an_unparsable_entry_is_rejected_naming_value_entry_and_accepted_forms() {
        let error = parsed("10.0.0.0/8, proxy.local").expect_err("invalid");
        assert_eq!(
            error,
            NetError::InvalidTrustProxy {
                value: "10.0.0.0/8, proxy.local".into(),
                entry: "proxy.local".into(),
            }
        );
        let message = error.to_string();
        assert!(
            message.starts_with("invalid TRUST_PROXY value"),
            "{message}"
        );
        assert!(message.contains("\"10.0.0.0/8, proxy.local\""), "{message}");
        assert!(message.contains("false"), "{message}");
        assert!(message.contains("hop count"), "{message}");
        assert!(message.contains("CIDR"), "{message}");
    }

    #[test]
    fn other_invalid_values_are_rejected() {
        for value in [
            "yes",
            "-1",
            "+1",
            "1.5",
            "10.0.0.0/33",
            "10.0.0.0/8,",
            "10.0.0.1,,10.0.0.2",
            "loopback",
            "10.0.0.1:80",
            "fe80::1%eth0",
        ] {
            assert!(
                matches!(parsed(value), Err(NetError::InvalidTrustProxy { .. })),
                "{value:?}"
            );
        }
    }

    // --- trusts_peer ---

    #[test]
    fn off_trusts_no_peer() {
        assert!(!TrustProxy::Off.trusts_peer(ip("127.0.0.1")));
    }

    #[test]
    fn hops_trust_any_peer_but_zero_hops_trust_none() {
        assert!(TrustProxy::Hops(1).trusts_peer(ip("203.0.113.9")));
        assert!(!TrustProxy::Hops(0).trusts_peer(ip("127.0.0.1")));
    }

    #[test]
    fn networks_trust_only_peers_inside_them() {
        let trust = nets("10.0.0.0/8, 2001:db8::/32");
        assert!(trust.trusts_peer(ip("10.9.9.9")));
        assert!(trust.trusts_peer(ip("::ffff:10.9.9.9")));
        assert!(trust.trusts_peer(ip("2001:db8::7")));
        assert!(!trust.trusts_peer(ip("192.168.0.1")));
    }

    #[test]
    fn local_hop_trusts_only_loopback_and_private_peers() {
        assert!(TrustProxy::LocalHop.trusts_peer(ip("127.0.0.1")));
        assert!(TrustProxy::LocalHop.trusts_peer(ip("172.20.0.2")));
        assert!(TrustProxy::LocalHop.trusts_peer(ip("::1")));
        assert!(!TrustProxy::LocalHop.trusts_peer(ip("198.51.100.1")));
    }

    // --- client_ip: untrusted peers ---

    #[test]
    fn with_trust_off_the_header_is_ignored() {
        let peer = ip("127.0.0.1");
        assert_eq!(client_ip(peer, Some("6.6.6.6"), &TrustProxy::Off), peer);
    }

    #[test]
    fn a_spoofed_header_from_a_public_peer_is_ignored_by_local_hop() {
        let peer = ip("198.51.100.7");
        assert_eq!(
            client_ip(peer, Some("127.0.0.1"), &TrustProxy::LocalHop),
            peer
        );
    }

    #[test]
    fn a_spoofed_header_from_a_peer_outside_the_networks_is_ignored() {
        let peer = ip("198.51.100.7");
        let trust = nets("10.0.0.0/8");
        assert_eq!(client_ip(peer, Some("10.0.0.5, 1.2.3.4"), &trust), peer);
    }

    // --- client_ip: hop counts ---

    #[test]
    fn one_hop_takes_the_rightmost_entry() {
        let got = client_ip(ip(PROXY), Some("1.1.1.1, 2.2.2.2"), &TrustProxy::Hops(1));
        assert_eq!(got, ip("2.2.2.2"));
    }

    #[test]
    fn one_hop_without_a_header_is_the_peer() {
        assert_eq!(client_ip(ip(PROXY), None, &TrustProxy::Hops(1)), ip(PROXY));
    }

    #[test]
    fn two_hops_take_the_second_entry_from_the_right() {
        let header = Some("1.1.1.1, 2.2.2.2, 3.3.3.3");
        let got = client_ip(ip(PROXY), header, &TrustProxy::Hops(2));
        assert_eq!(got, ip("2.2.2.2"));
    }

    #[test]
    fn two_hops_with_exactly_two_entries_take_the_leftmost() {
        let got = client_ip(ip(PROXY), Some("1.1.1.1, 2.2.2.2"), &TrustProxy::Hops(2));
        assert_eq!(got, ip("1.1.1.1"));
    }

    #[test]
    fn two_hops_with_one_entry_take_that_entry() {
        let got = client_ip(ip(PROXY), Some("1.1.1.1"), &TrustProxy::Hops(2));
        assert_eq!(got, ip("1.1.1.1"));
    }

    #[test]
    fn three_hops_take_the_third_entry_from_the_right() {
        let header = Some("1.1.1.1, 2.2.2.2, 3.3.3.3, 4.4.4.4");
        let got = client_ip(ip(PROXY), header, &TrustProxy::Hops(3));
        assert_eq!(got, ip("2.2.2.2"));
    }

    #[test]
    fn three_hops_with_two_entries_take_the_leftmost() {
        let header = Some("1.1.1.1, 2.2.2.2");
        let got = client_ip(ip(PROXY), header, &TrustProxy::Hops(3));
        assert_eq!(got, ip("1.1.1.1"));
    }

    #[test]
    fn many_hops_without_a_header_are_the_peer() {
        assert_eq!(
            client_ip(ip(PROXY), Some(""), &TrustProxy::Hops(u32::MAX)),
            ip(PROXY)
        );
    }

    #[test]
    fn hops_trust_a_public_peer_blindly() {
        let peer = ip("198.51.100.7");
        let got = client_ip(peer, Some("6.6.6.6"), &TrustProxy::Hops(1));
        assert_eq!(got, ip("6.6.6.6"));
    }

    // --- client_ip: networks ---

    #[test]
    fn networks_walk_past_every_trusted_hop_of_a_chain() {
        let header = Some("6.6.6.6, 1.2.3.4, 10.0.0.3, 192.168.1.2");
        let trust = nets("10.0.0.0/8, 192.168.0.0/16");
        assert_eq!(client_ip(ip(PROXY), header, &trust), ip("1.2.3.4"));
    }

    #[test]
    fn networks_stop_at_the_first_untrusted_hop_even_if_a_trusted_one_is_left_of_it() {
        let header = Some("10.0.0.9, 1.2.3.4");
        let trust = nets("10.0.0.0/8");
        assert_eq!(client_ip(ip(PROXY), header, &trust), ip("1.2.3.4"));
    }

    #[test]
    fn networks_with_only_trusted_hops_take_the_leftmost() {
        let header = Some("10.0.0.7, 10.0.0.8");
        let trust = nets("10.0.0.0/8");
        assert_eq!(client_ip(ip(PROXY), header, &trust), ip("10.0.0.7"));
    }

    #[test]
    fn networks_without_a_header_are_the_peer() {
        assert_eq!(client_ip(ip(PROXY), None, &nets("10.0.0.0/8")), ip(PROXY));
    }

    #[test]
    fn networks_of_single_addresses_work_as_a_proxy_list() {
        let header = Some("5.5.5.5, 203.0.113.2");
        let trust = nets("203.0.113.1, 203.0.113.2");
        assert_eq!(client_ip(ip("203.0.113.1"), header, &trust), ip("5.5.5.5"));
    }

    // --- client_ip: local hop ---

    #[test]
    fn local_hop_takes_the_rightmost_entry_behind_a_private_peer() {
        let header = Some("6.6.6.6, 1.2.3.4");
        assert_eq!(
            client_ip(ip("172.18.0.1"), header, &TrustProxy::LocalHop),
            ip("1.2.3.4")
        );
    }

    #[test]
    fn local_hop_behind_a_loopback_peer_without_a_header_is_the_peer() {
        let peer = ip("127.0.0.1");
        assert_eq!(client_ip(peer, None, &TrustProxy::LocalHop), peer);
    }

    // --- client_ip: malformed headers ---

    #[test]
    fn an_empty_or_blank_header_is_the_peer() {
        for header in ["", "   ", ",", " , ,"] {
            assert_eq!(
                client_ip(ip(PROXY), Some(header), &TrustProxy::Hops(2)),
                ip(PROXY),
                "{header:?}"
            );
        }
    }

    #[test]
    fn empty_entries_from_joined_headers_are_skipped() {
        let header = Some("1.1.1.1, , 2.2.2.2, ");
        let got = client_ip(ip(PROXY), header, &TrustProxy::Hops(2));
        assert_eq!(got, ip("1.1.1.1"));
    }

    #[test]
    fn a_garbage_rightmost_entry_leaves_the_peer() {
        for trust in [
            TrustProxy::Hops(1),
            TrustProxy::LocalHop,
            nets("10.0.0.0/8"),
        ] {
            let got = client_ip(ip(PROXY), Some("1.2.3.4, not-an-ip"), &trust);
            assert_eq!(got, ip(PROXY), "{trust:?}");
        }
    }

    #[test]
    fn garbage_stops_a_hop_walk_at_the_hop_that_forwarded_it() {
        let header = Some("1.1.1.1, <script>, 3.3.3.3");
        let got = client_ip(ip(PROXY), header, &TrustProxy::Hops(3));
        assert_eq!(got, ip("3.3.3.3"));
    }

    #[test]
    fn garbage_beyond_the_trusted_hops_is_never_looked_at() {
        let header = Some("garbage, 2.2.2.2, 3.3.3.3");
        let got = client_ip(ip(PROXY), header, &TrustProxy::Hops(2));
        assert_eq!(got, ip("2.2.2.2"));
    }

    #[test]
    fn garbage_stops_a_network_walk_at_the_trusted_hop_that_forwarded_it() {
        let header = Some("1.2.3.4, unknown, 10.0.0.2");
        let got = client_ip(ip(PROXY), header, &nets("10.0.0.0/8"));
        assert_eq!(got, ip("10.0.0.2"));
    }

    #[test]
    fn entries_with_bad_ports_or_half_brackets_are_garbage() {
        for entry in [
            "1.2.3.4:",
            "1.2.3.4:99999",
            "[2001:db8::1",
            "[1.2.3.4]",
            "1.2.3.4.5",
        ] {
            assert_eq!(
                client_ip(ip(PROXY), Some(entry), &TrustProxy::Hops(1)),
                ip(PROXY),
                "{entry:?}"
            );
        }
    }

    // --- client_ip: address forms ---

    #[test]
    fn ipv6_peers_and_entries_are_handled() {
        let trust = nets("2001:db8:1::/48");
        let header = Some("2001:db8:ffff::1, 2001:db8:1::2");
        assert_eq!(
            client_ip(ip("2001:db8:1::1"), header, &trust),
            ip("2001:db8:ffff::1")
        );
    }

    #[test]
    fn an_ipv4_mapped_loopback_peer_is_trusted_and_returned_as_ipv4() {
        let peer = ip("::ffff:127.0.0.1");
        assert_eq!(
            client_ip(peer, None, &TrustProxy::LocalHop),
            ip("127.0.0.1")
        );
        assert_eq!(
            client_ip(peer, Some("1.2.3.4"), &TrustProxy::LocalHop),
            ip("1.2.3.4")
        );
    }

    #[test]
    fn an_untrusted_ipv4_mapped_peer_is_returned_as_ipv4() {
        let peer = ip("::ffff:198.51.100.7");
        assert_eq!(
            client_ip(peer, Some("1.2.3.4"), &TrustProxy::Off),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn ports_and_brackets_are_stripped_from_entries() {
        for (entry, expected) in [
            ("1.2.3.4:5678", "1.2.3.4"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            (" 2001:db8::1 ", "2001:db8::1"),
            ("[::ffff:1.2.3.4]:80", "1.2.3.4"),
        ] {
            let got = client_ip(ip(PROXY), Some(entry), &TrustProxy::Hops(1));
            assert_eq!(got, ip(expected), "{entry:?}");
        }
    }

    #[test]
    fn ipv4_mapped_entries_are_normalised_and_matched_against_ipv4_networks() {
        let header = Some("::ffff:1.2.3.4, ::ffff:10.0.0.2");
        let got = client_ip(ip(PROXY), header, &nets("10.0.0.0/8"));
        assert_eq!(got, ip("1.2.3.4"));
    }

    // --- normalize and is_loopback_or_private ---

    #[test]
    fn normalize_unmaps_ipv4_mapped_addresses_only() {
        assert_eq!(normalize(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(normalize(ip("192.0.2.1")), ip("192.0.2.1"));
        assert_eq!(normalize(ip("::1")), ip("::1"));
        // The deprecated IPv4-compatible form is a distinct IPv6 address.
        assert_eq!(normalize(ip("::192.0.2.1")), ip("::192.0.2.1"));
    }

    #[test]
    fn loopback_private_and_link_local_addresses_are_local() {
        for text in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.10.10",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "febf::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_loopback_or_private(ip(text)), "{text}");
        }
    }

    #[test]
    fn public_and_neighbouring_addresses_are_not_local() {
        for text in [
            "8.8.8.8",
            "11.0.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.169.0.1",
            "169.255.0.1",
            "100.64.0.1",
            "0.0.0.0",
            "::",
            "2001:db8::1",
            "fec0::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_loopback_or_private(ip(text)), "{text}");
        }
    }

    // --- properties ---

    fn any_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<u32>().prop_map(|bits| IpAddr::V4(Ipv4Addr::from(bits))),
            any::<u128>().prop_map(|bits| IpAddr::V6(Ipv6Addr::from(bits))),
            any::<u32>().prop_map(|bits| IpAddr::V6(Ipv4Addr::from(bits).to_ipv6_mapped())),
            (0..4_u8).prop_map(|low| IpAddr::V4(Ipv4Addr::new(10, 0, 0, low))),
        ]
    }

    /// A header entry and, if it is an address, the address it stands for.
    fn entry() -> impl Strategy<Value = (String, Option<IpAddr>)> {
        prop_oneof![
            4 => any_ip().prop_map(|ip| (ip.to_string(), Some(normalize(ip)))),
            1 => (any_ip(), any::<u16>()).prop_map(|(ip, port)| {
                (SocketAddr::new(ip, port).to_string(), Some(normalize(ip)))
            }),
            1 => "[a-z<>:\\[\\]. ]{1,8}".prop_map(|text| {
                let ip = parse_hop(text.trim());
                (text, ip)
            }),
        ]
    }

    fn any_trust() -> impl Strategy<Value = TrustProxy> {
        prop_oneof![
            Just(TrustProxy::Off),
            (0..5_u32).prop_map(TrustProxy::Hops),
            Just(TrustProxy::LocalHop),
            Just(nets("10.0.0.0/8, 2001:db8::/32")),
        ]
    }

    fn join(entries: &[(String, Option<IpAddr>)]) -> String {
        let texts: Vec<&str> = entries.iter().map(|(text, _)| text.as_str()).collect();
        texts.join(", ")
    }

    proptest! {
        #[test]
        fn an_untrusted_peer_always_yields_itself(
            peer in any_ip(),
            entries in prop::collection::vec(entry(), 0..6),
            trust in any_trust(),
        ) {
            prop_assume!(!trust.trusts_peer(peer));
            let header = join(&entries);
            prop_assert_eq!(client_ip(peer, Some(&header), &trust), normalize(peer));
        }

        #[test]
        fn the_result_is_the_peer_or_an_entry_right_of_any_garbage(
            peer in any_ip(),
            entries in prop::collection::vec(entry(), 0..6),
            trust in any_trust(),
        ) {
            let header = join(&entries);
            let got = client_ip(peer, Some(&header), &trust);
            let reachable: Vec<IpAddr> = entries
                .iter()
                .rev()
                .filter(|(text, _)| !text.trim().is_empty())
                .map_while(|(_, ip)| *ip)
                .collect();
            prop_assert!(
                got == normalize(peer) || reachable.contains(&got),
                "{got} from {peer} and {header:?}"
            );
        }

        #[test]
        fn hops_pick_the_nth_address_from_the_right_or_the_leftmost(
            peer in any_ip(),
            chain in prop::collection::vec(any_ip(), 1..8),
            hops in 1..10_u32,
        ) {
            let header = chain.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
            let index = chain.len().saturating_sub(hops as usize);
            let got = client_ip(peer, Some(&header), &TrustProxy::Hops(hops));
            prop_assert_eq!(got, normalize(chain[index]));
        }

        #[test]
        fn networks_never_return_a_trusted_address_while_an_untrusted_one_is_reachable(
            entries in prop::collection::vec(any_ip(), 0..8),
        ) {
            let trust = nets("10.0.0.0/8, 2001:db8::/32");
            let header = entries.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
            let got = client_ip(ip(PROXY), Some(&header), &trust);
            let expected = entries
                .iter()
                .rev()
                .map(|ip| normalize(*ip))
                .find(|ip| !trust.trusts_peer(*ip))
                .or_else(|| entries.first().map(|ip| normalize(*ip)))
                .unwrap_or(ip(PROXY));
            prop_assert_eq!(got, expected);
        }

        #[test]
        fn any_header_is_handled_without_panicking(
            peer in any_ip(),
            header in "\\PC{0,64}",
            trust in any_trust(),
        ) {
            let _ = client_ip(peer, Some(&header), &trust);
        }

        #[test]
        fn any_trust_proxy_value_parses_or_fails_without_panicking(
            value in "\\PC{0,32}",
            production in any::<bool>(),
        ) {
            let _ = TrustProxy::from_env_value(Some(&value), production);
        }
    }
}
