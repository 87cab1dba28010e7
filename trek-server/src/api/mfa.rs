//! Two-factor authentication: enrolment, login with a code, and turning it off
//! (reference auth §9.6, §9.23–9.25, §12, with decisions 1, 2, 3 and 7).
//!
//! Every code is spent exactly once: TOTP steps are claimed with a conditional update of
//! `mfa_last_step`, backup codes with a compare-and-swap of the code list, and the
//! MFA-pending login token by recording its id. Two parallel requests with one code cannot
//! both win.

use poem::Request;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde_json::{Value, json};
use trek_lib::secrets::SecretKind;
use trek_lib::session;
use trek_lib::totp::{self, TotpSecret};

use super::health::Tag;
use super::schema::SessionUser;
use super::text::SecretText;
use super::{ApiError, ApiResult, Auth, context, limit, new_session};
use crate::audit;
use crate::http::RequestContext;
use crate::limits::Bucket;
use crate::state::AppState;
use crate::store::{MfaDisable, MfaEnable, MfaState, UserRow};

/// How long an MFA-pending login token lives, in seconds.
pub const MFA_TOKEN_TTL_SECS: i64 = 300;
/// How long an enrolment started by `/mfa/setup` stays open, in seconds.
pub const PENDING_TTL_SECS: i64 = 15 * 60;
const PURPOSE: &str = "mfa_login";

/// Issues the MFA-pending token login hands out instead of a session. It carries `purpose`
/// (so it is never a session), `pv` (so a password change voids it) and a `jti` (so it works
/// once).
pub fn issue_mfa_token(state: &AppState, user: &UserRow) -> String {
    let now = state.now_secs();
    let jti = hex::encode(rand::random::<[u8; 16]>());
    let claims = json!({
        "id": user.id,
        "pv": user.password_version,
        "purpose": PURPOSE,
        "jti": jti,
        "iat": now,
        "exp": now + MFA_TOKEN_TTL_SECS,
    });
    session::sign(&state.signing.current(), &claims.to_string())
}

/// Enrolment material, shown once.
#[derive(Debug, Object)]
pub struct MfaSetup {
    /// The base32 secret, for typing into an authenticator app.
    pub secret: String,
    /// The `otpauth://` URI the QR code encodes.
    pub otpauth_url: String,
    /// The QR code as an SVG document.
    pub qr_svg: String,
}

/// A code from the authenticator app.
#[derive(Debug, Object)]
pub struct CodeRequest {
    /// Six digits (white space ignored).
    pub code: Option<SecretText>,
}

/// Two-factor authentication is on.
#[derive(Debug, Object)]
pub struct MfaEnabled {
    /// Always true.
    pub success: bool,
    /// Always true.
    pub mfa_enabled: bool,
    /// Ten single-use backup codes, shown only now.
    pub backup_codes: Vec<String>,
    /// The caller's fresh session (every other one has ended).
    pub token: String,
}

/// Turning two-factor authentication off.
#[derive(Debug, Object)]
pub struct DisableRequest {
    /// The account password.
    pub password: Option<SecretText>,
    /// A current authenticator code (backup codes are not accepted here).
    pub code: Option<SecretText>,
}

/// Two-factor authentication is off.
#[derive(Debug, Object)]
pub struct MfaDisabled {
    /// Always true.
    pub success: bool,
    /// Always false.
    pub mfa_enabled: bool,
    /// The caller's fresh session (every other one has ended).
    pub token: String,
}

/// Second step of a login.
#[derive(Debug, Object)]
pub struct VerifyLoginRequest {
    /// The `mfa_token` from login.
    pub mfa_token: Option<SecretText>,
    /// An authenticator code or a backup code.
    pub code: Option<SecretText>,
}

/// A session after the second step.
#[derive(Debug, Object)]
pub struct VerifiedSession {
    /// The session token.
    pub token: String,
    /// The account.
    pub user: SessionUser,
}

/// Enabling's success.
#[derive(Debug, ApiResponse)]
pub enum EnableResponse {
    /// Enabled; the backup codes are in the body.
    #[oai(status = 200)]
    Ok(Json<MfaEnabled>, #[oai(header = "Set-Cookie")] String),
}

/// Disabling's success.
#[derive(Debug, ApiResponse)]
pub enum DisableResponse {
    /// Disabled.
    #[oai(status = 200)]
    Ok(Json<MfaDisabled>, #[oai(header = "Set-Cookie")] String),
}

/// The second step's success.
#[derive(Debug, ApiResponse)]
pub enum VerifyLoginResponse {
    /// Signed in.
    #[oai(status = 200)]
    Ok(Json<VerifiedSession>, #[oai(header = "Set-Cookie")] String),
}

/// The `/api/auth/mfa` endpoints.
pub struct MfaApi {
    /// Shared state.
    pub state: AppState,
}

fn policy_refusal() -> ApiError {
    ApiError::forbidden(
        "Two-factor authentication cannot be disabled while it is required for all users.",
    )
}

fn text(value: Option<&SecretText>) -> &str {
    value.map_or("", |v| v.as_str().trim())
}

fn qr_svg(url: &str) -> ApiResult<String> {
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(|e| {
        tracing::error!(error = %e, "qr code");
        ApiError::Internal(Json(super::ErrorBody {
            error: "Could not generate QR code".into(),
            code: None,
        }))
    })?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(250, 250)
        .build();
    Ok(svg
        .find("<svg")
        .map_or(svg.clone(), |i| svg[i..].to_owned()))
}

impl MfaApi {
    fn open_secret(&self, sealed: &str) -> ApiResult<TotpSecret> {
        let opened = self
            .state
            .secrets
            .open(SecretKind::Mfa, sealed)
            .map_err(|e| ApiError::internal(&e))?;
        TotpSecret::from_base32(&opened).map_err(|e| ApiError::internal(&e))
    }

    fn now_u64(&self) -> u64 {
        u64::try_from(self.state.now_secs()).unwrap_or(0)
    }

    /// Spends a TOTP code: verified against the steps after the last used one, then claimed
    /// atomically. `Ok(false)` for a wrong, stale or already-claimed code.
    async fn spend_totp(
        &self,
        user_id: i64,
        secret: &TotpSecret,
        code: &str,
        last: Option<i64>,
    ) -> ApiResult<bool> {
        let last = last.and_then(|s| u64::try_from(s).ok());
        let Some(step) = totp::verify(secret, code, self.now_u64(), last) else {
            return Ok(false);
        };
        let step = i64::try_from(step).map_err(|e| ApiError::internal(&e))?;
        Ok(self.state.store.claim_totp_step(user_id, step).await?)
    }

    /// Spends a backup code: finds its hash off the reactor, then removes it with a
    /// compare-and-swap; on losing a race, looks again in the list that won.
    async fn spend_backup_code(&self, user_id: i64, code: &str) -> ApiResult<bool> {
        if totp::normalize_backup_code(code).len() != 8 {
            return Ok(false);
        }
        for _ in 0..3 {
            let Some(MfaState {
                mfa_backup_codes: Some(json_list),
                ..
            }) = self.state.store.mfa_state(user_id).await?
            else {
                return Ok(false);
            };
            let hashes: Vec<String> = serde_json::from_str(&json_list).unwrap_or_default();
            let code_owned = zeroize::Zeroizing::new(code.to_owned());
            let list = hashes.clone();
            let found = self
                .state
                .passwords
                .run(move |h, ws| {
                    Ok(list
                        .iter()
                        .position(|stored| totp::backup_code_matches(h, ws, &code_owned, stored)))
                })
                .await?;
            let Some(index) = found else {
                return Ok(false);
            };
            let remaining: Vec<&String> = hashes
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != index)
                .map(|(_, h)| h)
                .collect();
            let new_list = serde_json::to_string(&remaining).map_err(|e| ApiError::internal(&e))?;
            if self
                .state
                .store
                .swap_backup_codes(user_id, &json_list, &new_list, &self.state.now_db())
                .await?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn account_key(user_id: i64) -> String {
        format!("user:{user_id}")
    }

    /// Counts a code attempt against the account before the code is checked; successes are
    /// refunded, so the limit bounds failures even when they arrive all at once.
    fn count_attempt(&self, user_id: i64) -> ApiResult<()> {
        limit(&self.state, Bucket::AccountMfa, &Self::account_key(user_id))
    }

    fn refund_attempt(&self, user_id: i64) {
        let key = Self::account_key(user_id);
        self.state
            .limits
            .refund(Bucket::AccountMfa, &key, self.state.now_ms());
    }

    fn session(&self, user_id: i64, version: i64, ctx: &RequestContext) -> (String, String) {
        new_session(&self.state, user_id, version, ctx)
    }
}

#[OpenApi(tag = "Tag::Auth")]
impl MfaApi {
    /// Starts enrolment: a new secret (160 bits) for the authenticator app, valid for 15
    /// minutes and replacing any enrolment already started.
    #[oai(path = "/api/auth/mfa/setup", method = "post")]
    async fn setup(&self, auth: Auth) -> ApiResult<Json<MfaSetup>> {
        let user = auth.0;
        if user.mfa_on() {
            return Err(ApiError::bad_request("MFA is already enabled"));
        }
        let secret = TotpSecret::generate(&mut rand::rngs::OsRng);
        let sealed = self
            .state
            .secrets
            .seal(SecretKind::Mfa, &secret.to_base32());
        let otpauth_url = totp::otpauth_url(&user.email, &secret);
        // The QR code first: if it cannot be made, no enrolment is left half-started.
        let qr_svg = qr_svg(&otpauth_url)?;
        let expires = self.state.now_secs() + PENDING_TTL_SECS;
        self.state
            .store
            .set_pending_mfa(user.id, &sealed, expires)
            .await?;
        Ok(Json(MfaSetup {
            qr_svg,
            secret: secret.to_base32().to_string(),
            otpauth_url,
        }))
    }

    /// Confirms enrolment with a code from the app. The code counts as used; every other
    /// session ends and the caller gets a fresh one.
    #[oai(path = "/api/auth/mfa/enable", method = "post")]
    async fn enable(
        &self,
        req: &Request,
        auth: Auth,
        body: Json<CodeRequest>,
    ) -> ApiResult<EnableResponse> {
        let ctx = context(req);
        limit(&self.state, Bucket::Mfa, &ctx.limit_key())?;
        let user = auth.0;
        let code = text(body.code.as_ref());
        if code.is_empty() {
            return Err(ApiError::bad_request("Verification code is required"));
        }
        let no_setup = || ApiError::bad_request("No MFA setup in progress. Start the setup again.");
        let sealed = self
            .state
            .store
            .pending_mfa(user.id, self.state.now_secs())
            .await?
            .ok_or_else(no_setup)?;
        let secret = self.open_secret(&sealed)?;
        let last = self
            .state
            .store
            .mfa_state(user.id)
            .await?
            .and_then(|m| m.mfa_last_step);
        let last_u = last.and_then(|s| u64::try_from(s).ok());
        self.count_attempt(user.id)?;
        let Some(step) = totp::verify(&secret, code, self.now_u64(), last_u) else {
            return Err(ApiError::unauthorized("Invalid verification code"));
        };
        self.refund_attempt(user.id);

        let codes = totp::generate_backup_codes(&mut rand::rngs::OsRng);
        let plain: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
        let to_hash = plain.clone();
        let hashes = self
            .state
            .passwords
            .run(move |h, ws| {
                to_hash
                    .iter()
                    .map(|c| totp::hash_backup_code(h, ws, c))
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        let hashes_json = serde_json::to_string(&hashes).map_err(|e| ApiError::internal(&e))?;
        let step = i64::try_from(step).map_err(|e| ApiError::internal(&e))?;
        let now = self.state.now_db();
        let change = MfaEnable {
            user_id: user.id,
            sealed_secret: &sealed,
            backup_codes_json: &hashes_json,
            step,
            now: &now,
        };
        let Some(version) = self.state.store.enable_mfa(change).await? else {
            return Err(ApiError::bad_request("MFA is already enabled"));
        };
        audit::record(
            &self.state,
            Some(user.id),
            "user.mfa_enable",
            None,
            &ctx.ip(),
        )
        .await;
        let (token, cookie) = self.session(user.id, version, &ctx);
        let body = MfaEnabled {
            success: true,
            mfa_enabled: true,
            backup_codes: plain,
            token,
        };
        Ok(EnableResponse::Ok(Json(body), cookie))
    }

    /// Turns two-factor authentication off with the password and a current authenticator code.
    /// Refused while the policy requires it. Every other session ends.
    #[oai(path = "/api/auth/mfa/disable", method = "post")]
    async fn disable(
        &self,
        req: &Request,
        auth: Auth,
        body: Json<DisableRequest>,
    ) -> ApiResult<DisableResponse> {
        let ctx = context(req);
        limit(&self.state, Bucket::MfaDisable, &ctx.limit_key())?;
        let user = auth.0;
        if self.state.store.setting("require_mfa").await?.as_deref() == Some("true") {
            return Err(policy_refusal());
        }
        let (password, code) = (text(body.password.as_ref()), text(body.code.as_ref()));
        if password.is_empty() || code.is_empty() {
            return Err(ApiError::bad_request(
                "Password and authenticator code are required",
            ));
        }
        let state = self.state.store.mfa_state(user.id).await?;
        let Some(MfaState {
            enabled: true,
            mfa_secret: Some(sealed),
            mfa_last_step,
            ..
        }) = state
        else {
            return Err(ApiError::bad_request("MFA is not enabled"));
        };
        self.count_attempt(user.id)?;
        let (matched, _) = self
            .state
            .passwords
            .verify(password, Some(&user.password_hash), false)
            .await?;
        if !matched {
            return Err(ApiError::unauthorized("Incorrect password"));
        }
        let secret = self.open_secret(&sealed)?;
        if !self
            .spend_totp(user.id, &secret, code, mfa_last_step)
            .await?
        {
            return Err(ApiError::unauthorized("Invalid verification code"));
        }
        let version = match self
            .state
            .store
            .disable_mfa(user.id, &self.state.now_db(), true)
            .await?
        {
            MfaDisable::Disabled(version) => version,
            MfaDisable::NotEnabled => return Err(ApiError::bad_request("MFA is not enabled")),
            MfaDisable::RequiredByPolicy => return Err(policy_refusal()),
        };
        self.refund_attempt(user.id);
        audit::record(
            &self.state,
            Some(user.id),
            "user.mfa_disable",
            None,
            &ctx.ip(),
        )
        .await;
        let (token, cookie) = self.session(user.id, version, &ctx);
        Ok(DisableResponse::Ok(
            Json(MfaDisabled {
                success: true,
                mfa_enabled: false,
                token,
            }),
            cookie,
        ))
    }

    /// Second step of login: the `mfa_token` and an authenticator or backup code. The token
    /// works once and for 5 minutes; codes are limited per address and per account.
    #[oai(path = "/api/auth/mfa/verify-login", method = "post")]
    async fn verify_login(
        &self,
        req: &Request,
        body: Json<VerifyLoginRequest>,
    ) -> ApiResult<VerifyLoginResponse> {
        let ctx = context(req);
        limit(&self.state, Bucket::Mfa, &ctx.limit_key())?;
        let (token, code) = (text(body.mfa_token.as_ref()), text(body.code.as_ref()));
        if token.is_empty() || code.is_empty() {
            return Err(ApiError::bad_request(
                "Verification token and code are required",
            ));
        }
        let expired = || ApiError::unauthorized("Invalid or expired verification token");
        let now = self.state.now_secs();
        let claims = session::verify_signed(&self.state.signing.current(), token, now)
            .map_err(|_| expired())?;
        if claims.get("purpose").and_then(Value::as_str) != Some(PURPOSE) {
            return Err(ApiError::unauthorized("Invalid verification token"));
        }
        let int = |k: &str| claims.get(k).and_then(Value::as_i64);
        let (Some(user_id), Some(jti), Some(exp)) = (
            int("id"),
            claims.get("jti").and_then(Value::as_str),
            int("exp"),
        ) else {
            return Err(expired());
        };

        let invalid_session = || ApiError::unauthorized("Invalid session");
        let user = self
            .state
            .store
            .user_by_id(user_id)
            .await?
            .ok_or_else(invalid_session)?;
        let mfa = self.state.store.mfa_state(user_id).await?;
        let Some(MfaState {
            enabled: true,
            mfa_secret: Some(sealed),
            mfa_last_step,
            ..
        }) = mfa
        else {
            return Err(invalid_session());
        };
        if int("pv").unwrap_or(0) != user.password_version {
            return Err(expired());
        }
        let attempt_key = crate::devices::limiter_key(
            &self.state,
            req,
            Some((user_id, user.password_version)),
            &Self::account_key(user_id),
        );
        limit(&self.state, Bucket::AccountMfa, &attempt_key)?;

        // The token is claimed before any code is looked at, so parallel requests on one token
        // cannot each spend a code; a wrong code releases it for another try.
        if !self.state.store.use_mfa_login_token(jti, exp, now).await? {
            return Err(expired());
        }
        let secret = self.open_secret(&sealed).map_err(|_| expired())?;
        let spent = self
            .spend_totp(user_id, &secret, code, mfa_last_step)
            .await?
            || self.spend_backup_code(user_id, code).await?;
        if !spent {
            self.state.store.release_mfa_login_token(jti).await?;
            return Err(ApiError::unauthorized("Invalid verification code"));
        }
        self.state
            .limits
            .refund(Bucket::AccountMfa, &attempt_key, self.state.now_ms());
        crate::devices::remember(&self.state, req, user_id, user.password_version, ctx.https);

        self.state
            .store
            .record_login(user_id, &self.state.now_db())
            .await?;
        audit::record(
            &self.state,
            Some(user_id),
            "user.login",
            Some(json!({ "mfa": true })),
            &ctx.ip(),
        )
        .await;
        let (token, cookie) = self.session(user_id, user.password_version, &ctx);
        let body = VerifiedSession {
            token,
            user: SessionUser::from(&user),
        };
        Ok(VerifyLoginResponse::Ok(Json(body), cookie))
    }
}
