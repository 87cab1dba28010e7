//! `GET /api/health`.

use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

/// OpenAPI tags.
#[derive(Tags)]
pub enum Tag {
    /// Liveness.
    Health,
    /// Accounts, sessions and two-factor authentication.
    Auth,
    /// Administration.
    Admin,
}

/// The health body.
#[derive(Debug, Object)]
pub struct Health {
    /// Always `ok` while the server answers.
    pub status: String,
}

/// Liveness endpoint.
pub struct HealthApi;

#[OpenApi]
impl HealthApi {
    /// Liveness check. Never redirected to HTTPS, never rate limited.
    #[oai(path = "/api/health", method = "get", tag = "Tag::Health")]
    async fn health(&self) -> Json<Health> {
        Json(Health {
            status: "ok".to_owned(),
        })
    }
}
