//! trek-server: TREK's identity, security and administration API over trek-lib.
//!
//! Run it with `cargo run --release -p trek-server`; it reads TREK's environment variables
//! ([`config`]), keeps its data in `./data` and `./uploads`, and serves the API with its
//! OpenAPI document at `/api/openapi.json` and Swagger UI at `/api/docs`.
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
pub mod audit;
pub mod bootstrap;
pub mod config;
pub mod conn;
pub mod devices;
pub mod docs;
pub mod hashing;
pub mod http;
pub mod limits;
pub mod logging;
pub mod session_cache;
pub mod settings;
pub mod state;
pub mod store;

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use poem::Server;
use poem::listener::{Acceptor, Listener, TcpListener};
use trek_lib::clock::Clock;

pub use bootstrap::StartError;
pub use config::Config;
pub use state::AppState;

/// A server bound to its port, ready to run.
pub struct Running {
    /// The address it listens on (useful with port 0).
    pub local_addr: SocketAddr,
    /// Completes when the server stops.
    pub task: tokio::task::JoinHandle<std::io::Result<()>>,
    /// The shared state, for tests that look inside.
    pub state: AppState,
}

/// Prepares the state and starts serving on `HOST:PORT` (all interfaces when `HOST` is unset).
///
/// # Errors
///
/// Start-up failed (see [`StartError`]) or the port could not be bound.
pub async fn start(config: Config, clock: Arc<dyn Clock>) -> Result<Running, StartError> {
    let host = config.host.unwrap_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    let addr = SocketAddr::new(host, config.port);
    let state = bootstrap::prepare(config, clock).await?;
    let acceptor = TcpListener::bind(addr)
        .into_acceptor()
        .await
        .map_err(|e| StartError::Other(format!("cannot listen on {addr}: {e}")))?;
    let local_addr = acceptor
        .local_addr()
        .first()
        .and_then(|a| a.as_socket_addr().copied())
        .unwrap_or(addr);
    let endpoint = app::endpoint(state.clone());
    let idle = std::time::Duration::from_secs(state.config.idle_timeout_secs);
    let server = Server::new_with_acceptor(conn::TimedAcceptor::new(acceptor, idle));
    let task = tokio::spawn(server.run(endpoint));
    Ok(Running {
        local_addr,
        task,
        state,
    })
}
