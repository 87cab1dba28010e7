//! Criterion benchmarks of every primitive. `cargo bench -p trek-lib --bench primitives`;
//! results and targets in BENCHMARKS.md.
#![allow(missing_docs)]

use std::hint::black_box;
use std::net::IpAddr;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use trek_lib::net::{TrustProxy, client_ip};
use trek_lib::password::{Hasher, check_policy};
use trek_lib::ratelimit::RateLimiter;
use trek_lib::secrets::{EncryptionKey, SecretBox, SecretKind};
use trek_lib::session::{SigningSecret, issue, verify};
use trek_lib::ssrf::{check_ip, parse_host};
use trek_lib::totp::{TotpSecret, code_at, verify as totp_verify};

const NOW: i64 = 1_700_000_000;

fn password(c: &mut Criterion) {
    c.bench_function("password/policy_check", |b| {
        b.iter(|| check_policy(black_box("Tr3k!Tr3k-strong")))
    });
    let hasher = Hasher::default();
    let hash = hasher.hash("Tr3k!Tr3k").expect("hash");
    let mut slow = c.benchmark_group("password/argon2id");
    slow.sample_size(10);
    slow.bench_function("hash", |b| b.iter(|| hasher.hash(black_box("Tr3k!Tr3k"))));
    slow.bench_function("verify", |b| {
        b.iter(|| hasher.verify(black_box("Tr3k!Tr3k"), &hash))
    });
    let bcrypt = "$2a$12$f9SlGbUGwo5ueVqtuu81dOVCSMfBBlqr2bHANs2eNYJzt6f1GE6ya";
    slow.bench_function("bcrypt_verify_cost12", |b| {
        b.iter(|| hasher.verify(black_box("Tr3k!Tr3k"), bcrypt))
    });
    slow.finish();
}

fn secrets(c: &mut Criterion) {
    let sealer = SecretBox::new(&EncryptionKey::new(
        "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6a7b8c9d0e1f2a3b4c5d6a7b8c9d0e1f2",
    ));
    let secret = "x".repeat(64);
    let stored = sealer.seal(SecretKind::ApiKey, &secret);
    c.bench_function("secrets/seal_64_bytes", |b| {
        b.iter(|| sealer.seal(SecretKind::ApiKey, black_box(&secret)))
    });
    c.bench_function("secrets/open_64_bytes", |b| {
        b.iter(|| sealer.open(SecretKind::ApiKey, black_box(&stored)))
    });
}

fn session(c: &mut Criterion) {
    let secret =
        SigningSecret::new("969a7a826da8a3e8d3ca88ce7c7fa7bdc32916abf89af676ca07239e587ae801");
    let token = issue(&secret, 42, 3, NOW);
    c.bench_function("session/issue", |b| {
        b.iter(|| issue(&secret, black_box(42), 3, NOW))
    });
    c.bench_function("session/verify", |b| {
        b.iter(|| verify(&secret, black_box(&token), NOW + 1))
    });
}

fn totp(c: &mut Criterion) {
    let secret = TotpSecret::from_base32("GRNVGHJIFESBOSAT").expect("base32");
    let code = code_at(&secret, 1_773_367_381);
    c.bench_function("totp/verify", |b| {
        b.iter(|| totp_verify(&secret, black_box(&code), 1_773_367_381, None))
    });
}

fn ratelimit(c: &mut Criterion) {
    let limiter = RateLimiter::new(u32::MAX, 900_000).expect("limiter");
    c.bench_function("ratelimit/check_one_thread", |b| {
        b.iter(|| limiter.check(black_box("203.0.113.7"), 1))
    });
    let shared = Arc::new(RateLimiter::new(u32::MAX, 900_000).expect("limiter"));
    c.bench_function("ratelimit/check_contended_two_threads", |b| {
        b.iter_custom(|iters| {
            let other = shared.clone();
            let rival = std::thread::spawn(move || {
                for _ in 0..iters {
                    let _ = other.check(black_box("203.0.113.7"), 1);
                }
            });
            let start = std::time::Instant::now();
            for _ in 0..iters {
                let _ = shared.check(black_box("203.0.113.7"), 1);
            }
            let elapsed = start.elapsed();
            rival.join().expect("rival thread");
            elapsed
        })
    });
}

fn net(c: &mut Criterion) {
    let trust = TrustProxy::from_env_value(Some("10.0.0.0/8,127.0.0.1"), true).expect("trust");
    let peer: IpAddr = "10.0.0.2".parse().expect("ip");
    let header = "198.51.100.4, 203.0.113.9, 10.0.0.7";
    c.bench_function("net/client_ip_two_hops", |b| {
        b.iter(|| client_ip(peer, Some(black_box(header)), &trust))
    });
    c.bench_function("ssrf/parse_and_classify", |b| {
        b.iter(|| parse_host(black_box("0x7f.1")).map(|ip| check_ip(ip, false)))
    });
}

criterion_group!(benches, password, secrets, session, totp, ratelimit, net);
criterion_main!(benches);
