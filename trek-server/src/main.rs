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
/// real one is touched.
async fn print_openapi(mut config: Config) -> ExitCode {
    let Ok(dir) = tempfile_dir() else {
        eprintln!("trek: cannot create a temporary folder");
        return ExitCode::FAILURE;
    };
    config.data_dir = dir.join("data");
    config.uploads_dir = dir.join("uploads");
    config.admin_email = None;
    let result = bootstrap::prepare(config, Arc::new(SystemClock)).await;
    let code = match result {
        Ok(state) => {
            print!("{}", app::openapi_document(&state));
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

fn tempfile_dir() -> std::io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("trek-openapi-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
