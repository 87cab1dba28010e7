//! A login storm: `storm <port> <seconds> <concurrency>` sends `POST /api/auth/login` for
//! unknown e-mails (each costs a full decoy hash) from many distinct loopback source
//! addresses (127.1.x.y), so neither the per-address nor the per-account limit stops it, and
//! password hashing stays busy for the whole run. Prints one JSON line with the counts.
//!
//! Only ever connects to 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

#[derive(Default)]
struct Counts {
    done: AtomicU64,
    unauthorized: AtomicU64,
    other: AtomicU64,
    next_address: AtomicU32,
}

/// One login from a fresh source address; returns the status code.
async fn login(port: u16, source: Ipv4Addr, n: u64) -> std::io::Result<u16> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    let mut stream = socket
        .connect(SocketAddr::from(([127, 0, 0, 1], port)))
        .await?;
    let body = format!(r#"{{"email":"storm{n}@example.test","password":"Wr0ng!Password"}}"#);
    let request = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let status = String::from_utf8_lossy(&response)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(status)
}

fn source_address(n: u32) -> Ipv4Addr {
    // 127.1.0.1 onwards: 65k addresses, each used once, far from the per-address limit.
    Ipv4Addr::new(127, 1, (n >> 8) as u8, (n & 0xff) as u8)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(3000);
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20);
    let concurrency: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(32);
    let counts = Arc::new(Counts::default());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let counts = counts.clone();
            tokio::spawn(async move {
                while Instant::now() < deadline {
                    let n = counts.next_address.fetch_add(1, Ordering::Relaxed) + 1;
                    match login(port, source_address(n), u64::from(n)).await {
                        Ok(401) => counts.unauthorized.fetch_add(1, Ordering::Relaxed),
                        _ => counts.other.fetch_add(1, Ordering::Relaxed),
                    };
                    counts.done.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
    let done = counts.done.load(Ordering::Relaxed);
    println!(
        "{}",
        serde_json::json!({
            "logins": done,
            "unauthorized": counts.unauthorized.load(Ordering::Relaxed),
            "failed": counts.other.load(Ordering::Relaxed),
            "per_second": done as f64 / seconds as f64,
        })
    );
}
