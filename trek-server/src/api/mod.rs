//! The API as poem-openapi services: every endpoint, body, response and error is typed, so the
//! OpenAPI document describes exactly what the server does (decision 20).

pub mod admin;
pub mod app_settings;
pub mod auth;
pub mod health;
pub mod mfa;
pub mod schema;
pub mod text;

use poem::Request;
use poem_openapi::auth::{ApiKey, Bearer};
use poem_openapi::payload::Json;
use poem_openapi::registry::Registry;
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ApiResponse, ExtractParamOptions, Object, SecurityScheme,
};

use crate::http::{RequestContext, SessionState};
use crate::store::UserRow;
use std::sync::Arc;

/// Every error body: TREK's `{"error": ...}`, with a machine-readable `code` on some.
#[derive(Debug, Clone, Object)]
pub struct ErrorBody {
    /// What went wrong, for people.
    pub error: String,
    /// A stable code clients match on: `AUTH_REQUIRED`, `MFA_REQUIRED`,
    /// `PASSWORD_CHANGE_REQUIRED`.
    #[oai(skip_serializing_if_is_none)]
    pub code: Option<String>,
}

/// The errors an endpoint can answer with.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The request is invalid; `error` says which part.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// No session, or an invalid one, or wrong credentials.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// Not allowed for this account or in this configuration.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such thing.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// Conflicts with existing data.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// No longer usable (an invite used up or expired).
    #[oai(status = 410)]
    Gone(Json<ErrorBody>),
    /// The body is over 100 kB.
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// Too many attempts; retry after the given number of seconds.
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// The server failed; details are in its log, never in the response.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// The server is saturated with password work; retry shortly.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>),
}

fn body(message: &str, code: Option<&str>) -> Json<ErrorBody> {
    Json(ErrorBody {
        error: message.to_owned(),
        code: code.map(str::to_owned),
    })
}

impl ApiError {
    /// 400 with `message`.
    pub fn bad_request(message: &str) -> Self {
        Self::BadRequest(body(message, None))
    }
    /// 401 with `message`.
    pub fn unauthorized(message: &str) -> Self {
        Self::Unauthorized(body(message, None))
    }
    /// 401 with `message` and `code`.
    pub fn unauthorized_code(message: &str, code: &str) -> Self {
        Self::Unauthorized(body(message, Some(code)))
    }
    /// 403 with `message`.
    pub fn forbidden(message: &str) -> Self {
        Self::Forbidden(body(message, None))
    }
    /// 404 with `message`.
    pub fn not_found(message: &str) -> Self {
        Self::NotFound(body(message, None))
    }
    /// 409 with `message`.
    pub fn conflict(message: &str) -> Self {
        Self::Conflict(body(message, None))
    }
    /// 410 with `message`.
    pub fn gone(message: &str) -> Self {
        Self::Gone(body(message, None))
    }
    /// 429 with TREK's message and `Retry-After` in whole seconds, rounded up.
    pub fn too_many(retry_after_ms: u64) -> Self {
        let secs = retry_after_ms.div_ceil(1000).max(1);
        Self::TooManyRequests(
            body("Too many attempts. Please try again later.", None),
            secs,
        )
    }
    /// 500; `cause` goes to the log, not to the client.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::Internal(body("Internal server error", None))
    }
    /// 503 when password hashing is saturated.
    pub fn busy() -> Self {
        Self::Unavailable(body("Server is busy. Please try again shortly.", None))
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::internal(&e)
    }
}

impl From<crate::hashing::HashJobError> for ApiError {
    fn from(e: crate::hashing::HashJobError) -> Self {
        match e {
            crate::hashing::HashJobError::Busy => Self::busy(),
            other => Self::internal(&other),
        }
    }
}

/// Result of an endpoint.
pub type ApiResult<T> = Result<T, ApiError>;

/// The session cookie, for the OpenAPI document.
#[derive(SecurityScheme)]
#[oai(ty = "api_key", key_name = "trek_session", key_in = "cookie")]
#[allow(dead_code)]
struct SessionCookie(ApiKey);

/// The same session token as `Authorization: Bearer <token>`, for scripts.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT")]
#[allow(dead_code)]
struct BearerToken(Bearer);

/// An authenticated request: the session layer found a valid token (cookie first, then
/// bearer) whose user exists and whose password version is current. Handlers that take it
/// are documented as needing either security scheme.
#[derive(Debug, Clone)]
pub struct Auth(pub Arc<UserRow>);

impl<'a> ApiExtractor<'a> for Auth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        SessionCookie::register(registry);
        BearerToken::register(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        let mut names = SessionCookie::security_schemes();
        names.extend(BearerToken::security_schemes());
        names
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut poem::RequestBody,
        _opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        use poem::IntoResponse;
        let refuse = |message: &str| {
            let resp = ApiError::unauthorized_code(message, "AUTH_REQUIRED").into_response();
            poem::Error::from_response(resp)
        };
        match req.extensions().get::<SessionState>() {
            Some(SessionState::Valid(session)) => Ok(Self(session.user.clone())),
            Some(SessionState::Invalid) => Err(refuse("Invalid or expired token")),
            _ => Err(refuse("Access token required")),
        }
    }
}

/// The request's derived context. Always present behind the `context` layer; the fallback
/// only matters for handlers called without it (unit tests of the router).
pub fn context(req: &Request) -> RequestContext {
    req.extensions()
        .get::<RequestContext>()
        .copied()
        .unwrap_or(RequestContext {
            client_ip: std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            https: false,
        })
}

/// Counts an attempt in `bucket` for `key` and refuses with 429 past the limit.
///
/// # Errors
///
/// [`ApiError::TooManyRequests`] when the bucket is full.
pub fn limit(
    state: &crate::state::AppState,
    bucket: crate::limits::Bucket,
    key: &str,
) -> ApiResult<()> {
    match state.limits.check(bucket, key, state.now_ms()) {
        trek_lib::ratelimit::Decision::Limited { retry_after_ms } => {
            Err(ApiError::too_many(retry_after_ms))
        }
        _ => Ok(()),
    }
}

/// A fresh session token for the user at `password_version`, and its `Set-Cookie` value.
pub fn new_session(
    state: &crate::state::AppState,
    user_id: i64,
    password_version: i64,
    ctx: &RequestContext,
) -> (String, String) {
    let now = state.now_secs();
    let signing = state.signing.current();
    let token = trek_lib::session::issue_unique(
        &signing,
        user_id,
        password_version,
        now,
        &mut rand::rngs::OsRng,
    );
    let cookie = state.config.cookie.set_cookie(&token, ctx.https, now);
    (token, cookie)
}
