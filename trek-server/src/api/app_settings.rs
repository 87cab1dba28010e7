//! `GET`/`PUT /api/auth/app-settings`: the admin's instance settings that exist so far,
//! `allow_registration` and `require_mfa` (reference auth §15, decision 13).

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};
use serde_json::{Map, Value};

use super::auth::Success;
use super::health::Tag;
use super::text::SettingValue;
use super::{ApiError, ApiResult, Auth, context};
use crate::audit;
use crate::state::AppState;

/// The stored settings; a key is present only when it has been set.
#[derive(Debug, Object)]
pub struct AppSettings {
    /// `"true"` or `"false"`: self-registration with a password.
    #[oai(skip_serializing_if_is_none)]
    pub allow_registration: Option<String>,
    /// `"true"` or `"false"`: every account must use two-factor authentication.
    #[oai(skip_serializing_if_is_none)]
    pub require_mfa: Option<String>,
}

/// Settings to change; absent keys stay as they are, unknown keys are ignored.
#[derive(Debug, Object)]
pub struct AppSettingsUpdate {
    /// Self-registration with a password.
    pub allow_registration: Option<SettingValue>,
    /// Require two-factor authentication of every account. Only an admin who has it on may
    /// turn this on, so the policy can never lock out the admin setting it.
    pub require_mfa: Option<SettingValue>,
}

/// The app-settings endpoints.
pub struct AppSettingsApi {
    /// Shared state.
    pub state: AppState,
}

fn admin_only(auth: &Auth) -> ApiResult<()> {
    if auth.0.is_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden("Admin access required"))
    }
}

#[OpenApi(tag = "Tag::Auth")]
impl AppSettingsApi {
    /// The instance settings (admin only; allowed while the MFA policy blocks the admin).
    #[oai(path = "/api/auth/app-settings", method = "get")]
    async fn get(&self, auth: Auth) -> ApiResult<Json<AppSettings>> {
        admin_only(&auth)?;
        let settings = self.state.store.settings().await?;
        Ok(Json(AppSettings {
            allow_registration: settings.get("allow_registration").cloned(),
            require_mfa: settings.get("require_mfa").cloned(),
        }))
    }

    /// Changes instance settings (admin only).
    #[oai(path = "/api/auth/app-settings", method = "put")]
    async fn put(
        &self,
        req: &Request,
        auth: Auth,
        body: Json<AppSettingsUpdate>,
    ) -> ApiResult<Json<Success>> {
        admin_only(&auth)?;
        let body = body.0;
        let wants_mfa = body.require_mfa.as_ref().is_some_and(|v| v.0 == "true");
        if wants_mfa && !auth.0.mfa_on() {
            return Err(ApiError::bad_request(
                "Enable two-factor authentication on your own account before requiring it for all users.",
            ));
        }
        let mut summary = Map::new();
        if let Some(v) = &body.allow_registration {
            self.state
                .store
                .set_setting("allow_registration", &v.0)
                .await?;
            summary.insert("allow_registration".into(), Value::String(v.0.clone()));
        }
        if let Some(v) = &body.require_mfa {
            // Checked again inside the write: the admin might be turning MFA off right now.
            if !self
                .state
                .store
                .set_require_mfa(auth.0.id, wants_mfa)
                .await?
            {
                return Err(ApiError::bad_request(
                    "Enable two-factor authentication on your own account before requiring it for all users.",
                ));
            }
            summary.insert("require_mfa".into(), Value::String(v.0.clone()));
        }
        let details = (!summary.is_empty()).then_some(Value::Object(summary));
        audit::record(
            &self.state,
            Some(auth.0.id),
            "settings.app_update",
            details,
            &context(req).ip(),
        )
        .await;
        Ok(Json(Success { success: true }))
    }
}
