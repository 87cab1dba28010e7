//! `/api/auth`: registration, login, logout, the current account, password change, deletion,
//! app config and invite lookup (reference auth §9).

use poem::Request;
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::json;
use trek_lib::password::check_policy;

use super::health::Tag;
use super::schema::{MeUser, RegisteredUser, SessionUser};
use super::text::{SecretText, Text};
use super::{ApiError, ApiResult, Auth, context};
use crate::audit;
use crate::http::{RequestContext, SessionState};
use crate::limits::Bucket;
use crate::settings::{auth_toggles, oidc_configured};
use crate::state::AppState;
use crate::store::{CreateUserError, DeleteUserError, InviteProblem, InviteRow, NewUser};

/// `{"success": true}`.
#[derive(Debug, Object)]
pub struct Success {
    /// Always true.
    pub success: bool,
}

/// Login request.
#[derive(Debug, Object)]
pub struct LoginRequest {
    /// E-mail, matched ignoring ASCII case.
    pub email: Option<Text>,
    /// Password.
    pub password: Option<SecretText>,
}

/// A new session: the token (also set as the `trek_session` cookie) and the account.
#[derive(Debug, Object)]
pub struct LoginSession {
    /// The session token, for `Authorization: Bearer`.
    pub token: String,
    /// The account.
    pub user: SessionUser,
}

/// Registration request.
#[derive(Debug, Object)]
pub struct RegisterRequest {
    /// User name, trimmed; unique ignoring case.
    pub username: Option<Text>,
    /// E-mail, trimmed; unique ignoring case.
    pub email: Option<Text>,
    /// Password; must pass the policy.
    pub password: Option<SecretText>,
    /// An invite token, which opens registration even when it is closed.
    pub invite_token: Option<SecretText>,
}

/// A new account and its first session.
#[derive(Debug, Object)]
pub struct RegisterSession {
    /// The session token.
    pub token: String,
    /// The account.
    pub user: RegisteredUser,
}

/// `GET /me` body.
#[derive(Debug, Object)]
pub struct MeBody {
    /// The signed-in account.
    pub user: MeUser,
}

/// Password change request.
#[derive(Debug, Object)]
pub struct ChangePasswordRequest {
    /// The current password.
    pub current_password: Option<SecretText>,
    /// The new password; must pass the policy.
    pub new_password: Option<SecretText>,
}

/// Password changed: every other session has ended, and this is the caller's new one.
#[derive(Debug, Object)]
pub struct PasswordChanged {
    /// Always true.
    pub success: bool,
    /// The caller's fresh session token (also set as the cookie).
    pub token: String,
}

/// What an invite allows.
#[derive(Debug, Object)]
pub struct InviteInfo {
    /// Always true (invalid invites answer 404 or 410).
    pub valid: bool,
    /// Uses allowed; 0 means unlimited.
    pub max_uses: i64,
    /// Uses so far.
    pub used_count: i64,
    /// Expiry, ISO 8601, or null.
    pub expires_at: Option<String>,
}

/// Which notification channels are available.
#[derive(Debug, Object)]
pub struct AvailableChannels {
    /// SMTP is configured.
    pub email: bool,
    /// Webhooks are among the channels.
    pub webhook: bool,
    /// In-app notifications, always available.
    pub inapp: bool,
}

/// Public configuration the web app reads before sign-in (TREK's keys and order).
#[derive(Debug, Object)]
pub struct AppConfig {
    /// Some way to register is open.
    pub allow_registration: bool,
    /// Only SSO is available.
    pub oidc_only_mode: bool,
    /// Password login is allowed.
    pub password_login: bool,
    /// Password registration is allowed.
    pub password_registration: bool,
    /// SSO login is offered.
    pub oidc_login: bool,
    /// SSO registration is offered.
    pub oidc_registration: bool,
    /// `OIDC_ONLY` is exactly `true`.
    pub env_override_oidc_only: bool,
    /// Some account exists.
    pub has_users: bool,
    /// Accounts exist and no admin still has the first-run password.
    pub setup_complete: bool,
    /// Server version.
    pub version: String,
    /// The version is a pre-release.
    pub is_prerelease: bool,
    /// Some admin has a maps key.
    pub has_maps_key: bool,
    /// OIDC has an issuer and a client id.
    pub oidc_configured: bool,
    /// The SSO button label, only when OIDC is configured.
    #[oai(skip_serializing_if_is_none)]
    pub oidc_display_name: Option<String>,
    /// Every account must use two-factor authentication.
    pub require_mfa: bool,
    /// Upload extensions allowed.
    pub allowed_file_types: String,
    /// Demo mode (not supported by trek: always false).
    pub demo_mode: bool,
    /// The server's time zone.
    pub timezone: String,
    /// The first notification channel, or `none`.
    pub notification_channel: String,
    /// The notification channels.
    pub notification_channels: Vec<String>,
    /// Which channels can work.
    pub available_channels: AvailableChannels,
    /// Trip reminders are on.
    pub trip_reminders_enabled: bool,
    /// Place photos are on.
    pub places_photos_enabled: bool,
    /// Place autocomplete is on.
    pub places_autocomplete_enabled: bool,
    /// Place details are on.
    pub places_details_enabled: bool,
    /// `NODE_ENV` is exactly `development`.
    pub dev_mode: bool,
}

/// The account has two-factor authentication: send the code with this token to
/// `/api/auth/mfa/verify-login` within 5 minutes. No session yet.
#[derive(Debug, Object)]
pub struct MfaChallenge {
    /// Always true.
    pub mfa_required: bool,
    /// Single-use, 5-minute token for the second step; never accepted as a session.
    pub mfa_token: String,
}

/// What a correct password gets: a session, or a two-factor challenge.
#[derive(Debug, poem_openapi::Union)]
pub enum LoginResult {
    /// Signed in.
    Session(Box<LoginSession>),
    /// A code is needed first.
    MfaRequired(MfaChallenge),
}

/// Login's success.
#[derive(Debug, ApiResponse)]
pub enum LoginResponse {
    /// Signed in (with `Set-Cookie`), or a two-factor challenge (no cookie).
    #[oai(status = 200)]
    Ok(
        Json<LoginResult>,
        #[oai(header = "Set-Cookie")] Option<String>,
    ),
}

/// Registration's success.
#[derive(Debug, ApiResponse)]
pub enum RegisterResponse {
    /// Account created and signed in.
    #[oai(status = 201)]
    Created(Json<RegisterSession>, #[oai(header = "Set-Cookie")] String),
}

/// Responses that end the session cookie.
#[derive(Debug, ApiResponse)]
pub enum ClearedResponse {
    /// Done; the cookie is cleared.
    #[oai(status = 200)]
    Ok(Json<Success>, #[oai(header = "Set-Cookie")] String),
}

/// Password change's success.
#[derive(Debug, ApiResponse)]
pub enum PasswordChangedResponse {
    /// Changed; a fresh session replaces the old ones.
    #[oai(status = 200)]
    Ok(Json<PasswordChanged>, #[oai(header = "Set-Cookie")] String),
}

const DEFAULT_FILE_TYPES: &str = "jpg,jpeg,png,gif,webp,heic,pdf,doc,docx,xls,xlsx,txt,csv";

/// The `/api/auth` endpoints of this issue's scope.
pub struct AuthApi {
    /// Shared state.
    pub state: AppState,
}

/// The longest e-mail address accepted (RFC 5321's path limit). TREK had none, which let an
/// address too long for a QR code in, and that account could then never enrol in two-factor
/// authentication.
const MAX_EMAIL_LEN: usize = 254;

/// TREK's `^[^\s@]+@[^\s@]+\.[^\s@]+$`: one `@`, no white space, and a dot inside the domain
/// with something on both sides; and at most [`MAX_EMAIL_LEN`] bytes.
fn valid_email(email: &str) -> bool {
    if email.len() > MAX_EMAIL_LEN {
        return false;
    }
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let clean = |s: &str| !s.is_empty() && !s.contains(|c: char| c == '@' || c.is_whitespace());
    let dotted = domain
        .char_indices()
        .any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len());
    clean(local) && clean(domain) && dotted
}

fn non_empty<T: AsStr>(value: Option<&T>) -> Option<&str> {
    value.map(AsStr::text).filter(|s| !s.is_empty())
}

/// Both strict string types, for [`non_empty`].
trait AsStr {
    fn text(&self) -> &str;
}

impl AsStr for Text {
    fn text(&self) -> &str {
        self.as_str()
    }
}

impl AsStr for SecretText {
    fn text(&self) -> &str {
        self.as_str()
    }
}

/// An invite's state now. An expiry that does not parse counts as expired: failing closed
/// (TREK counted it as valid forever).
fn invite_problem(invite: &InviteRow, now_secs: i64) -> Result<(), InviteProblem> {
    if invite.max_uses > 0 && invite.used_count >= invite.max_uses {
        return Err(InviteProblem::FullyUsed);
    }
    if let Some(expires) = &invite.expires_at {
        match parse_expiry(expires) {
            Some(t) if t > now_secs => {}
            _ => return Err(InviteProblem::Expired),
        }
    }
    Ok(())
}

/// An invite's expiry: ISO 8601 as TREK writes it, or SQLite's `YYYY-MM-DD HH:MM:SS` (UTC).
fn parse_expiry(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp())
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
                .ok()
                .map(|t| t.and_utc().timestamp())
        })
}

fn invite_error(problem: InviteProblem, not_found: ApiError) -> ApiError {
    match problem {
        InviteProblem::NotFound => not_found,
        InviteProblem::FullyUsed => ApiError::gone("Invite link has been fully used"),
        InviteProblem::Expired => ApiError::gone("Invite link has expired"),
    }
}

impl AuthApi {
    fn limit(&self, bucket: Bucket, key: &str) -> ApiResult<()> {
        super::limit(&self.state, bucket, key)
    }

    fn new_session(
        &self,
        user_id: i64,
        password_version: i64,
        ctx: &RequestContext,
    ) -> (String, String) {
        super::new_session(&self.state, user_id, password_version, ctx)
    }

    async fn settings(&self) -> ApiResult<std::collections::HashMap<String, String>> {
        Ok(self.state.store.settings().await?)
    }
}

#[OpenApi(tag = "Tag::Auth")]
impl AuthApi {
    /// Public configuration for the sign-in page.
    #[oai(path = "/api/auth/app-config", method = "get")]
    async fn app_config(&self) -> ApiResult<Json<AppConfig>> {
        let state = &self.state;
        let config = &state.config;
        let settings = self.settings().await?;
        let toggles = auth_toggles(config, &settings);
        let has_users = state.store.count_users().await? > 0;
        let configured = oidc_configured(config, &settings);
        let channels = notification_channels(&settings);
        let setting_on = |k: &str| settings.get(k).is_none_or(|v| v != "false");
        Ok(Json(AppConfig {
            allow_registration: toggles.password_registration || toggles.oidc_registration,
            oidc_only_mode: !toggles.password_login && !toggles.password_registration,
            password_login: toggles.password_login,
            password_registration: toggles.password_registration,
            oidc_login: toggles.oidc_login,
            oidc_registration: toggles.oidc_registration,
            env_override_oidc_only: config.oidc_only_env_exact,
            has_users,
            setup_complete: has_users && !state.store.admin_must_change_password().await?,
            version: config.app_version.clone(),
            is_prerelease: config.app_version.contains("-pre."),
            has_maps_key: state.store.admin_has_maps_key().await?,
            oidc_configured: configured,
            oidc_display_name: configured.then(|| {
                config
                    .oidc_display_name
                    .clone()
                    .or_else(|| settings.get("oidc_display_name").cloned())
                    .unwrap_or_else(|| "SSO".to_owned())
            }),
            require_mfa: settings.get("require_mfa").is_some_and(|v| v == "true"),
            allowed_file_types: settings
                .get("allowed_file_types")
                .cloned()
                .unwrap_or_else(|| DEFAULT_FILE_TYPES.to_owned()),
            demo_mode: false,
            timezone: config.timezone.clone(),
            notification_channel: settings
                .get("notification_channel")
                .cloned()
                .unwrap_or_else(|| "none".to_owned()),
            available_channels: AvailableChannels {
                email: config.smtp_host_env
                    || settings.get("smtp_host").is_some_and(|v| !v.is_empty()),
                webhook: channels.iter().any(|c| c == "webhook"),
                inapp: true,
            },
            notification_channels: channels,
            trip_reminders_enabled: setting_on("notify_trip_reminder"),
            places_photos_enabled: setting_on("places_photos_enabled"),
            places_autocomplete_enabled: setting_on("places_autocomplete_enabled"),
            places_details_enabled: setting_on("places_details_enabled"),
            dev_mode: false,
        }))
    }

    /// Looks up an invite link. Shares the login rate limit.
    #[oai(path = "/api/auth/invite/:token", method = "get")]
    async fn invite(&self, req: &Request, token: Path<String>) -> ApiResult<Json<InviteInfo>> {
        self.limit(Bucket::Login, &context(req).limit_key())?;
        let invite = self
            .state
            .store
            .invite_by_hash(&trek_lib::secrets::token_digest(&token.0))
            .await?;
        let invite = invite.ok_or_else(|| ApiError::not_found("Invalid invite link"))?;
        invite_problem(&invite, self.state.now_secs())
            .map_err(|p| invite_error(p, ApiError::not_found("Invalid invite link")))?;
        Ok(Json(InviteInfo {
            valid: true,
            max_uses: invite.max_uses,
            used_count: invite.used_count,
            expires_at: invite.expires_at,
        }))
    }

    /// Creates an account and signs it in. Open when registration is enabled, or with a valid
    /// invite; the invite's use is claimed in the same transaction that creates the account.
    #[oai(path = "/api/auth/register", method = "post")]
    async fn register(
        &self,
        req: &Request,
        body: Json<RegisterRequest>,
    ) -> ApiResult<RegisterResponse> {
        let ctx = context(req);
        self.limit(Bucket::Login, &ctx.limit_key())?;
        let state = &self.state;
        let body = body.0;
        let username = body.username.as_ref().map_or("", |t| t.as_str().trim());
        let email = body.email.as_ref().map_or("", |t| t.as_str().trim());
        let password = body.password.as_ref().map_or("", SecretText::as_str);
        let invite_hash =
            non_empty(body.invite_token.as_ref()).map(trek_lib::secrets::token_digest);

        if let Some(hash) = &invite_hash {
            let invalid = || ApiError::bad_request("Invalid invite link");
            let invite = state
                .store
                .invite_by_hash(hash)
                .await?
                .ok_or_else(invalid)?;
            invite_problem(&invite, state.now_secs()).map_err(|p| invite_error(p, invalid()))?;
        }
        // TREK skipped this check while no account existed, which on an OIDC-only install (no
        // seeded admin) let the first anonymous visitor register as admin. trek always seeds
        // an admin otherwise, so the check can always apply.
        if invite_hash.is_none() {
            let toggles = auth_toggles(&state.config, &self.settings().await?);
            if !toggles.password_registration {
                return Err(ApiError::forbidden(
                    "Password registration is disabled. Contact your administrator.",
                ));
            }
        }
        if username.is_empty() || email.is_empty() || password.is_empty() {
            return Err(ApiError::bad_request(
                "Username, email and password are required",
            ));
        }
        check_policy(password).map_err(|v| ApiError::bad_request(&v.to_string()))?;
        if !valid_email(email) {
            return Err(ApiError::bad_request("Invalid email format"));
        }
        let duplicate =
            || ApiError::conflict("Registration failed. Please try different credentials.");
        let taken_email = state.store.user_by_email(email).await?.is_some();
        if taken_email {
            return Err(duplicate());
        }

        let hash = state.passwords.hash(password).await?;
        let now = state.now_db();
        let new_user = NewUser {
            username,
            email,
            password_hash: &hash,
            force_admin: false,
            must_change_password: false,
            version: &state.config.app_version,
            now: &now,
        };
        let now_secs = state.now_secs();
        let check = move |row: &InviteRow| invite_problem(row, now_secs);
        let invite = invite_hash
            .as_deref()
            .map(|h| (h, &check as &dyn crate::store::InviteCheck));
        let created = match state.store.create_user(new_user, invite).await {
            Ok(created) => created,
            Err(CreateUserError::Duplicate) => return Err(duplicate()),
            Err(CreateUserError::Invite(p)) => {
                return Err(invite_error(
                    p,
                    ApiError::bad_request("Invalid invite link"),
                ));
            }
            Err(CreateUserError::Store(e)) => return Err(e.into()),
        };

        let details = json!({ "username": username, "email": email, "role": created.role });
        audit::record(
            state,
            Some(created.id),
            "user.register",
            Some(details),
            &ctx.ip(),
        )
        .await;
        let (token, cookie) = self.new_session(created.id, 0, &ctx);
        let user = RegisteredUser {
            id: created.id,
            username: username.to_owned(),
            email: email.to_owned(),
            role: created.role,
            avatar: None,
            mfa_enabled: false,
            avatar_url: None,
        };
        Ok(RegisterResponse::Created(
            Json(RegisterSession { token, user }),
            cookie,
        ))
    }

    /// Signs in with e-mail and password. Unknown e-mails cost the same work as wrong
    /// passwords and get the same answer; failures are also limited per account.
    #[oai(path = "/api/auth/login", method = "post")]
    async fn login(&self, req: &Request, body: Json<LoginRequest>) -> ApiResult<LoginResponse> {
        let ctx = context(req);
        self.limit(Bucket::Login, &ctx.limit_key())?;
        let state = &self.state;
        if !auth_toggles(&state.config, &self.settings().await?).password_login {
            return Err(ApiError::forbidden(
                "Password authentication is disabled. Please sign in with SSO.",
            ));
        }
        let (Some(email), Some(password)) = (
            non_empty(body.email.as_ref()),
            non_empty(body.password.as_ref()),
        ) else {
            return Err(ApiError::bad_request("Email and password are required"));
        };

        // Counted before the slow check and refunded on success, so a burst of parallel
        // guesses cannot all run before the first failures are recorded. The owner's own
        // devices count apart (see `devices`), so filling this bucket locks out only strangers.
        let user = state.store.user_by_email(email).await?;
        let account_key = crate::devices::limiter_key(
            state,
            req,
            user.as_ref().map(|u| (u.id, u.password_version)),
            &email.to_lowercase(),
        );
        self.limit(Bucket::AccountLogin, &account_key)?;
        let known_id = user.as_ref().map(|u| u.id);
        let stored = user.as_ref().map(|u| u.password_hash.as_str());
        let legacy = state.store.has_legacy_hashes().await?;
        let (matched, rehash) = match state.passwords.verify(password, stored, legacy).await {
            Ok(result) => result,
            Err(crate::hashing::HashJobError::Hash(e)) => {
                tracing::error!(error = %e, "stored password hash unreadable");
                (false, false)
            }
            Err(e) => return Err(e.into()),
        };
        let Some(user) = user.filter(|_| matched) else {
            let reason = if known_id.is_some() {
                "wrong_password"
            } else {
                "unknown_email"
            };
            let details = json!({ "email": email, "reason": reason });
            audit::record(
                state,
                known_id,
                "user.login_failed",
                Some(details),
                &ctx.ip(),
            )
            .await;
            return Err(ApiError::unauthorized("Invalid email or password"));
        };

        state
            .limits
            .refund(Bucket::AccountLogin, &account_key, state.now_ms());
        if rehash {
            let new_hash = state.passwords.hash(password).await?;
            state
                .store
                .upgrade_hash(user.id, &user.password_hash, &new_hash)
                .await?;
        }
        if user.mfa_on() {
            let mfa_token = super::mfa::issue_mfa_token(state, &user);
            let challenge = MfaChallenge {
                mfa_required: true,
                mfa_token,
            };
            return Ok(LoginResponse::Ok(
                Json(LoginResult::MfaRequired(challenge)),
                None,
            ));
        }
        state.store.record_login(user.id, &state.now_db()).await?;
        crate::devices::remember(state, req, user.id, user.password_version, ctx.https);
        let details = Some(json!({ "email": email }));
        audit::record(state, Some(user.id), "user.login", details, &ctx.ip()).await;
        let (token, cookie) = self.new_session(user.id, user.password_version, &ctx);
        let session = LoginSession {
            token,
            user: SessionUser::from(&user),
        };
        Ok(LoginResponse::Ok(
            Json(LoginResult::Session(Box::new(session))),
            Some(cookie),
        ))
    }

    /// Ends the session: the token sent (cookie or bearer) stops working and the cookie is
    /// cleared. Always allowed, whatever the session's state; other sessions are untouched.
    #[oai(path = "/api/auth/logout", method = "post")]
    async fn logout(&self, req: &Request) -> ApiResult<ClearedResponse> {
        let ctx = context(req);
        if let Some(SessionState::Valid(session)) = req.extensions().get::<SessionState>() {
            let state = &self.state;
            let now = state.now_secs();
            state
                .store
                .revoke_session(&session.token_hash, session.expires_at, now)
                .await?;
            audit::record(state, Some(session.user.id), "user.logout", None, &ctx.ip()).await;
        }
        let cookie = self.state.config.cookie.clear_cookie(ctx.https);
        Ok(ClearedResponse::Ok(Json(Success { success: true }), cookie))
    }

    /// The signed-in account.
    #[oai(path = "/api/auth/me", method = "get")]
    async fn me(&self, auth: Auth) -> Json<MeBody> {
        Json(MeBody {
            user: MeUser::from(auth.0.as_ref()),
        })
    }

    /// Changes the password. Every other session ends; the response carries the caller's new
    /// session as token and cookie.
    #[oai(path = "/api/auth/me/password", method = "put")]
    async fn change_password(
        &self,
        req: &Request,
        auth: Auth,
        body: Json<ChangePasswordRequest>,
    ) -> ApiResult<PasswordChangedResponse> {
        let ctx = context(req);
        self.limit(Bucket::PasswordChange, &ctx.limit_key())?;
        let state = &self.state;
        if !auth_toggles(&state.config, &self.settings().await?).password_login {
            return Err(ApiError::forbidden("Password authentication is disabled."));
        }
        let current = non_empty(body.current_password.as_ref())
            .ok_or_else(|| ApiError::bad_request("Current password is required"))?;
        let new = non_empty(body.new_password.as_ref())
            .ok_or_else(|| ApiError::bad_request("New password is required"))?;
        check_policy(new).map_err(|v| ApiError::bad_request(&v.to_string()))?;
        // Guesses of the current password count against the account like failed logins, so a
        // stolen session cannot be used to guess it faster than the login form allows.
        let account_key = crate::devices::limiter_key(
            state,
            req,
            Some((auth.0.id, auth.0.password_version)),
            &auth.0.email.to_lowercase(),
        );
        self.limit(Bucket::AccountLogin, &account_key)?;
        let (matched, _) = state
            .passwords
            .verify(current, Some(&auth.0.password_hash), false)
            .await?;
        if !matched {
            return Err(ApiError::unauthorized("Current password is incorrect"));
        }
        state
            .limits
            .refund(Bucket::AccountLogin, &account_key, state.now_ms());
        let hash = state.passwords.hash(new).await?;
        let version = state
            .store
            .change_password(auth.0.id, &hash, &state.now_db())
            .await?;
        audit::record(
            state,
            Some(auth.0.id),
            "user.password_change",
            None,
            &ctx.ip(),
        )
        .await;
        let (token, cookie) = self.new_session(auth.0.id, version, &ctx);
        Ok(PasswordChangedResponse::Ok(
            Json(PasswordChanged {
                success: true,
                token,
            }),
            cookie,
        ))
    }

    /// Deletes the signed-in account (never the last admin) and clears the cookie.
    #[oai(path = "/api/auth/me", method = "delete")]
    async fn delete_me(&self, req: &Request, auth: Auth) -> ApiResult<ClearedResponse> {
        let ctx = context(req);
        let state = &self.state;
        let (at, ip) = (state.now_db(), ctx.ip());
        let entry = audit::Entry {
            at: &at,
            user_id: Some(auth.0.id),
            action: "user.account_delete",
            resource: None,
            details: Some(json!({ "email": auth.0.email, "username": auth.0.username })),
            ip: Some(&ip),
        };
        match state.store.delete_user(auth.0.id, &entry).await {
            Ok(()) => {}
            Err(DeleteUserError::LastAdmin) => {
                return Err(ApiError::bad_request(
                    "Cannot delete the last admin account",
                ));
            }
            Err(DeleteUserError::Store(e)) => return Err(e.into()),
        }
        let cookie = state.config.cookie.clear_cookie(ctx.https);
        Ok(ClearedResponse::Ok(Json(Success { success: true }), cookie))
    }
}

fn notification_channels(settings: &std::collections::HashMap<String, String>) -> Vec<String> {
    let raw = settings
        .get("notification_channels")
        .or_else(|| settings.get("notification_channel"))
        .map_or("none", String::as_str);
    if raw == "none" {
        return Vec::new();
    }
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_check_matches_trek_s_pattern() {
        for ok in ["a@b.c", "a.b@c.d.e", "x@sub.example.test"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "", "a@b", "a@.c", "a@b.", "a b@c.d", "a@b@c.d", "@b.c", "a@b .c",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
    }

    #[test]
    fn unparseable_invite_expiry_counts_as_expired() {
        let row = InviteRow {
            id: 1,
            max_uses: 1,
            used_count: 0,
            expires_at: Some("soon".into()),
        };
        assert_eq!(invite_problem(&row, 0), Err(InviteProblem::Expired));
        let unlimited = InviteRow {
            id: 1,
            max_uses: 0,
            used_count: 99,
            expires_at: None,
        };
        assert_eq!(invite_problem(&unlimited, 0), Ok(()));
    }
}
