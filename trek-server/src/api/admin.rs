//! `/api/admin` endpoints that exist so far: resetting another user's two-factor
//! authentication (decision 13).

use poem::Request;
use poem_openapi::OpenApi;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use serde_json::json;

use super::auth::Success;
use super::health::Tag;
use super::{ApiError, ApiResult, Auth, context};
use crate::audit;
use crate::state::AppState;

/// Administration.
pub struct AdminApi {
    /// Shared state.
    pub state: AppState,
}

#[OpenApi(tag = "Tag::Admin")]
impl AdminApi {
    /// Clears another user's two-factor authentication, for a user who lost their
    /// authenticator; ends that user's sessions. An admin can never reset their own.
    #[oai(path = "/api/admin/users/:id/mfa", method = "delete")]
    async fn reset_mfa(
        &self,
        req: &Request,
        auth: Auth,
        id: Path<i64>,
    ) -> ApiResult<Json<Success>> {
        if !auth.0.is_admin() {
            return Err(ApiError::forbidden("Admin access required"));
        }
        if id.0 == auth.0.id {
            return Err(ApiError::bad_request(
                "You cannot reset your own two-factor authentication",
            ));
        }
        let target = self
            .state
            .store
            .user_by_id(id.0)
            .await?
            .ok_or_else(|| ApiError::not_found("User not found"))?;
        let outcome = self
            .state
            .store
            .disable_mfa(target.id, &self.state.now_db(), false)
            .await?;
        if outcome == crate::store::MfaDisable::NotEnabled {
            return Err(ApiError::bad_request("MFA is not enabled for this user"));
        }
        let at = self.state.now_db();
        let ip = context(req).ip();
        let resource = target.id.to_string();
        let entry = audit::Entry {
            at: &at,
            user_id: Some(auth.0.id),
            action: "admin.mfa_reset",
            resource: Some(&resource),
            details: Some(json!({ "targetUser": target.email })),
            ip: Some(&ip),
        };
        audit::write(&self.state, &entry).await;
        Ok(Json(Success { success: true }))
    }
}
