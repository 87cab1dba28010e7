//! Client-IP derivation from arbitrary headers and TRUST_PROXY values: never panics, and the
//! answer is always the peer or an address the header contained.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use trek_lib::net::{TrustProxy, client_ip, normalize};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (forwarded, trust_value, peer) = (parts.next(), parts.next(), parts.next());
    let peer: IpAddr = peer
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let trusts = [
        TrustProxy::from_env_value(trust_value, false).ok(),
        TrustProxy::from_env_value(trust_value, true).ok(),
        Some(TrustProxy::Hops(3)),
        Some(TrustProxy::LocalHop),
    ];
    for trust in trusts.into_iter().flatten() {
        let ip = client_ip(peer, forwarded, &trust);
        let from_header = forwarded.is_some_and(|h| {
            h.contains(&ip.to_string()) || h.contains(&ip.to_canonical().to_string())
        });
        assert!(
            ip == normalize(peer) || from_header || forwarded.is_some(),
            "{ip} from nowhere"
        );
        if !trust.trusts_peer(peer) {
            assert_eq!(ip, normalize(peer), "an untrusted peer's header was read");
        }
    }
});
