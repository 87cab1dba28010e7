//! The trek server binary: `trek-server` serves; `trek-server openapi` prints the document.

use std::process::ExitCode;
use std::sync::Arc;

use trek_lib::clock::SystemClock;
use trek_server::{Config, app, bootstrap, logging};

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("trek: {e}");
            return ExitCode::FAILURE;
        }
    };
    if std::env::args().nth(1).as_deref() == Some("openapi") {
        return print_openapi(config).await;
    }
    let log_file = logging::RotatingLog::open(&config.data_dir.join("logs"));
    if let Err(e) = &log_file {
        eprintln!("trek: cannot open data/logs/trek.log ({e}); logging to stdout only");
    }
    logging::init(config.debug_logging, log_file.ok());

    let running = match trek_server::start(config, Arc::new(SystemClock)).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("trek: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(addr = %running.local_addr, "trek API started");
    tokio::select! {
        result = running.task => match result {
            Ok(Ok(())) => ExitCode::SUCCESS,
            other => { tracing::error!(?other, "server stopped"); ExitCode::FAILURE }
        },
        _ = shutdown_signal() => {
            running.state.store.close().await;
            ExitCode::SUCCESS
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Prints the OpenAPI document, built against a throw-away data directory so nothing of the
/// real one is touched; nothing but the document reaches stdout.
async fn print_openapi(mut config: Config) -> ExitCode {
    let dir = match private_temp_dir() {
        Ok(dir) => dir,
        Err(e) => {
            eprintln!("trek: cannot create a temporary folder: {e}");
            return ExitCode::FAILURE;
        }
    };
    config.data_dir = dir.join("data");
    config.uploads_dir = dir.join("uploads");
    config.encryption_key = None;
    let code = match bootstrap::prepare_unseeded(config, Arc::new(SystemClock)).await {
        Ok(state) => {
            print!("{}", app::openapi_document(&state));
            state.store.close().await;
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("trek: {e}");
            ExitCode::FAILURE
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    code
}

/// A new folder with an unguessable name, created (not reused) so no one can plant it first.
fn private_temp_dir() -> std::io::Result<std::path::PathBuf> {
    let name = format!("trek-openapi-{}", hex::encode(rand::random::<[u8; 12]>()));
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir(&dir)?;
    Ok(dir)
}
