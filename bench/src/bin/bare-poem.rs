//! A bare poem handler answering `GET /api/health` with `{"status":"ok"}` and nothing else:
//! the ceiling trek's own `/api/health` is compared with. `bare-poem <port>`.

use poem::listener::TcpListener;
use poem::web::Json;
use poem::{Route, Server, get, handler};

#[handler]
fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::args().nth(1).unwrap_or_else(|| "3999".to_owned());
    let app = Route::new().at("/api/health", get(health));
    Server::new(TcpListener::bind(format!("127.0.0.1:{port}")))
        .run(app)
        .await
}
