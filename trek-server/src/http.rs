//! The HTTP plumbing every request passes through: security headers, JSON errors, CORS, the
//! HTTPS redirect, the client's address, the body limit and the session.
//!
//! The layers, outermost first, are assembled in [`crate::app`]:
//! `finish` (errors as JSON, security headers, request log) → `cors` → `https_redirect` →
//! `context` → `body` → `session` → the routes.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use poem::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response};
use serde_json::json;
use trek_lib::net;
use trek_lib::session;

use crate::state::AppState;
use crate::store::UserRow;

/// The largest request body accepted, in bytes (TREK's `100kb`).
pub const BODY_LIMIT: usize = 100 * 1024;

/// How long a client may take to send a body of at most [`BODY_LIMIT`].
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The directives after `style-src`, the same in both CSP variants.
macro_rules! csp_tail {
    () => {
        concat!(
            "connect-src 'self' ws: wss: https://nominatim.openstreetmap.org ",
            "https://overpass-api.de https://places.googleapis.com https://api.openweathermap.org ",
            "https://en.wikipedia.org https://commons.wikimedia.org ",
            "https://*.basemaps.cartocdn.com https://*.tile.openstreetmap.org https://unpkg.com ",
            "https://open-meteo.com https://api.open-meteo.com ",
            "https://geocoding-api.open-meteo.com https://api.exchangerate-api.com ",
            "https://raw.githubusercontent.com/nvkelso/natural-earth-vector/master/geojson/",
            "ne_50m_admin_0_countries.geojson https://router.project-osrm.org/route/v1/ ",
            "https://api.mapbox.com https://*.tiles.mapbox.com https://events.mapbox.com;",
            "worker-src 'self' blob:;child-src 'self' blob:;frame-src 'none'"
        )
    };
}

/// The Content-Security-Policy when `FORCE_HTTPS` is off (reference infra §3.3, byte for byte).
pub const CSP: &str = concat!(
    "default-src 'self';base-uri 'self';font-src 'self' https://fonts.gstatic.com data:;",
    "form-action 'self';frame-ancestors 'self';img-src 'self' data: blob: https:;",
    "object-src 'none';script-src 'self' 'wasm-unsafe-eval';script-src-attr 'none';",
    "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com https://unpkg.com;",
    csp_tail!()
);

/// The Content-Security-Policy when `FORCE_HTTPS=true`: `upgrade-insecure-requests` stays in
/// helmet's slot right after `style-src`.
pub const CSP_FORCE_HTTPS: &str = concat!(
    "default-src 'self';base-uri 'self';font-src 'self' https://fonts.gstatic.com data:;",
    "form-action 'self';frame-ancestors 'self';img-src 'self' data: blob: https:;",
    "object-src 'none';script-src 'self' 'wasm-unsafe-eval';script-src-attr 'none';",
    "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com https://unpkg.com;",
    "upgrade-insecure-requests;",
    csp_tail!()
);

/// Facts about the request that every later layer needs, derived once.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext {
    /// The client's address per decision 6.
    pub client_ip: IpAddr,
    /// The request reached us over TLS, as far as a trusted proxy says.
    pub https: bool,
}

impl RequestContext {
    /// The client address as text, for the audit log.
    pub fn ip(&self) -> String {
        self.client_ip.to_string()
    }

    /// The rate-limit key for the client: the IPv4 address, or the /64 an IPv6 address belongs
    /// to, since one IPv6 subscriber usually holds a whole /64 and could otherwise take a
    /// fresh bucket per address.
    pub fn limit_key(&self) -> String {
        match self.client_ip {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        }
    }
}

/// The session a request carries.
#[derive(Debug, Clone)]
pub enum SessionState {
    /// No token was sent.
    Missing,
    /// A token was sent and refused (bad signature, expired, stale password version, gone user).
    Invalid,
    /// A valid session of this user, loaded fresh from the database for this request.
    Valid(Arc<Session>),
}

/// A verified session.
#[derive(Debug)]
pub struct Session {
    /// The account, as stored now.
    pub user: Arc<UserRow>,
    /// SHA-256 hex of the token, which is how logout names it.
    pub token_hash: String,
    /// When the token expires, seconds since the epoch.
    pub expires_at: i64,
}

/// Cookies a handler wants set besides the one its response type declares (the device
/// cookie); the session layer appends them as further `Set-Cookie` headers.
#[derive(Debug, Clone, Default)]
pub struct ExtraCookies(Arc<std::sync::Mutex<Vec<String>>>);

impl ExtraCookies {
    /// Adds a `Set-Cookie` value.
    pub fn push(&self, cookie: String) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(cookie);
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// SHA-256 hex of a session token.
fn token_hash(token: &str) -> String {
    trek_lib::secrets::token_digest(token)
}

/// A JSON error response: `{"error": message}`, plus `code` when given.
pub fn json_error(status: StatusCode, message: &str, code: Option<&str>) -> Response {
    let body = match code {
        Some(code) => json!({ "error": message, "code": code }),
        None => json!({ "error": message }),
    };
    Response::builder()
        .status(status)
        .content_type("application/json; charset=utf-8")
        .body(body.to_string())
}

/// Outermost layer: turns every error into a JSON body (decision 10), adds the security
/// headers to every response, and writes the request log line.
///
/// # Errors
///
/// Passes on the inner endpoint's errors; its own refusals are responses, not errors.
pub async fn finish<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
    state: AppState,
) -> poem::Result<Response> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.uri().path();
    let auth_path = path.starts_with("/api/auth/");
    // Health checks are neither logged nor given a path copy: they are the hottest route.
    let logged_path = (path != "/api/health").then(|| path.to_owned());
    let mut resp = match ep.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => error_response(e),
    };
    let headers = resp.headers_mut();
    security_headers(headers, &state);
    if auth_path {
        // Auth responses carry tokens, codes and personal data: never store them (decision 15).
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(path) = logged_path {
        log_request(&method, &path, resp.status(), started);
    }
    Ok(resp)
}

fn error_response(e: poem::Error) -> Response {
    use poem_openapi::error::{
        ContentTypeError, ParseParamError, ParsePathError, ParseRequestPayloadError,
    };
    if e.is_from_response() {
        return e.into_response();
    }
    let status = e.status();
    if let Some(p) = e.downcast_ref::<ParseRequestPayloadError>() {
        return json_error(
            StatusCode::BAD_REQUEST,
            &format!("Invalid request body: {}", p.reason),
            None,
        );
    }
    if e.is::<ContentTypeError>() {
        let msg = "Unsupported Content-Type: send the body as application/json";
        return json_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, msg, None);
    }
    if e.is::<ParseParamError>() || e.is::<ParsePathError>() {
        return json_error(StatusCode::BAD_REQUEST, &e.to_string(), None);
    }
    match status {
        StatusCode::NOT_FOUND => json_error(status, "Not found", None),
        StatusCode::METHOD_NOT_ALLOWED => json_error(status, "Method not allowed", None),
        StatusCode::PAYLOAD_TOO_LARGE => json_error(status, "request entity too large", None),
        s if s.is_server_error() => {
            tracing::error!(error = %e, "request failed");
            json_error(s, "Internal server error", None)
        }
        s => json_error(s, &e.to_string(), None),
    }
}

/// The JSON body for a panic that `CatchPanic` stopped; the panic message goes to the log only.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    json_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal server error",
        None,
    )
}

fn security_headers(headers: &mut HeaderMap, state: &AppState) {
    let config = &state.config;
    let csp = if config.force_https {
        CSP_FORCE_HTTPS
    } else {
        CSP
    };
    let mut set = |name: &'static str, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set("content-security-policy", csp);
    set("cross-origin-opener-policy", "same-origin");
    set("cross-origin-resource-policy", "same-origin");
    set("origin-agent-cluster", "?1");
    set("referrer-policy", "strict-origin-when-cross-origin");
    if config.hsts() {
        let hsts = if config.hsts_include_subdomains {
            "max-age=31536000; includeSubDomains"
        } else {
            "max-age=31536000"
        };
        set("strict-transport-security", hsts);
    }
    set("x-content-type-options", "nosniff");
    set("x-dns-prefetch-control", "off");
    set("x-download-options", "noopen");
    set("x-frame-options", "SAMEORIGIN");
    set("x-permitted-cross-domain-policies", "none");
    set("x-xss-protection", "0");
}

fn log_request(method: &Method, path: &str, status: StatusCode, started: Instant) {
    // Invite tokens travel in the path; nothing else that is secret does, and bodies, queries
    // and headers are never logged at all (decision 15).
    let shown = if path.starts_with("/api/auth/invite/") {
        "/api/auth/invite/[REDACTED]"
    } else {
        path
    };
    let ms = started.elapsed().as_millis();
    if status.is_server_error() {
        tracing::error!("{method} {shown} {} {ms}ms", status.as_u16());
    } else if status.is_client_error() {
        tracing::warn!("{method} {shown} {} {ms}ms", status.as_u16());
    } else {
        tracing::debug!("{method} {shown} {} {ms}ms", status.as_u16());
    }
}

/// CORS (decision 19): same-origin unless `ALLOWED_ORIGINS` lists the origin, in every mode.
/// A refused origin gets no CORS headers; its preflight is answered 403.
///
/// # Errors
///
/// Passes on the inner endpoint's errors; its own refusals are responses, not errors.
pub async fn cors<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
    state: AppState,
) -> poem::Result<Response> {
    let origins = &state.config.allowed_origins;
    let origin = req.headers().get(header::ORIGIN).cloned();
    let allowed = origin
        .as_ref()
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| origins.iter().any(|a| a == o));
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);

    if preflight {
        if !allowed {
            return Ok(json_error(
                StatusCode::FORBIDDEN,
                "Origin not allowed",
                None,
            ));
        }
        let mut resp = Response::builder().status(StatusCode::NO_CONTENT).finish();
        let requested = req
            .headers()
            .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
            .cloned();
        let h = resp.headers_mut();
        allow_origin(h, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE"),
        );
        if let Some(requested) = requested {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, requested);
        }
        h.insert(
            header::VARY,
            HeaderValue::from_static("Origin, Access-Control-Request-Headers"),
        );
        return Ok(resp);
    }

    let mut resp = ep.call(req).await?.into_response();
    if !origins.is_empty() {
        resp.headers_mut()
            .insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    if allowed {
        allow_origin(resp.headers_mut(), origin);
    }
    Ok(resp)
}

fn allow_origin(h: &mut HeaderMap, origin: Option<HeaderValue>) {
    if let Some(origin) = origin {
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
}

/// Derives the client address and whether the request is HTTPS (decision 6), once.
///
/// # Errors
///
/// Passes on the inner endpoint's errors; its own refusals are responses, not errors.
pub async fn context<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    state: AppState,
) -> poem::Result<Response> {
    let peer = req
        .remote_addr()
        .as_socket_addr()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
    let trust = &state.config.trust_proxy;
    let forwarded = joined(req.headers(), "x-forwarded-for", ", ");
    let client_ip = net::client_ip(peer, forwarded.as_deref(), trust);
    let https = trust.trusts_peer(peer) && forwarded_proto_is_https(req.headers());
    req.extensions_mut()
        .insert(RequestContext { client_ip, https });
    ep.call(req).await.map(IntoResponse::into_response)
}

/// Every value of a header, joined with `sep`. Values with bytes outside visible ASCII are
/// kept (lossily decoded) rather than dropped: dropping a whole `X-Forwarded-For` line because
/// the client planted one odd byte in it would also drop the real address a proxy appended.
fn joined(headers: &HeaderMap, name: &str, sep: &str) -> Option<String> {
    let values: Vec<String> = headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    (!values.is_empty()).then(|| values.join(sep))
}

fn forwarded_proto_is_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

/// `FORCE_HTTPS`: a 301 to the same URL over HTTPS, except for `/api/health`. As in TREK, a
/// raw `X-Forwarded-Proto: https` also passes, so a proxy without `TRUST_PROXY` cannot loop;
/// a client that forges it only skips its own redirect.
///
/// # Errors
///
/// Passes on the inner endpoint's errors; its own refusals are responses, not errors.
pub async fn https_redirect<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
    state: AppState,
) -> poem::Result<Response> {
    let secure = req
        .extensions()
        .get::<RequestContext>()
        .is_some_and(|c| c.https)
        || req
            .headers()
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes() == b"https");
    if !state.config.force_https || secure || req.uri().path() == "/api/health" {
        return ep.call(req).await.map(IntoResponse::into_response);
    }
    // With APP_URL set, the redirect goes to its host rather than to whatever Host header
    // arrived, so a forged Host cannot turn the redirect (or a cache of it) elsewhere.
    let configured = state.config.app_url.as_deref().and_then(url_host);
    let Some(host) = configured.or_else(|| {
        req.headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
    }) else {
        return Ok(json_error(
            StatusCode::BAD_REQUEST,
            "Host header required",
            None,
        ));
    };
    let target = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let location = format!("https://{host}{target}");
    Ok(Response::builder()
        .status(StatusCode::MOVED_PERMANENTLY)
        .header(header::LOCATION, location)
        .finish())
}

/// The `host[:port]` of an absolute URL such as `APP_URL`.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then_some(host)
}

/// Reads the body under the 100 kB limit (413 beyond it) and gives body-less writes an empty
/// JSON object, which is how TREK treats a missing body.
///
/// # Errors
///
/// Passes on the inner endpoint's errors; its own refusals are responses, not errors.
pub async fn body<E: Endpoint>(ep: Arc<E>, mut req: Request) -> poem::Result<Response> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT) {
        return Ok(json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request entity too large",
            None,
        ));
    }
    let bodiless = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && declared.unwrap_or(0) == 0
        && !req.headers().contains_key(header::TRANSFER_ENCODING);
    if bodiless {
        // Nothing to read or normalise: the common case of every API read.
        return ep.call(req).await.map(IntoResponse::into_response);
    }
    let read = tokio::time::timeout(BODY_TIMEOUT, req.take_body().into_bytes_limit(BODY_LIMIT));
    let Ok(read) = read.await else {
        return Ok(json_error(
            StatusCode::REQUEST_TIMEOUT,
            "Request body not received in time",
            None,
        ));
    };
    let bytes = match read {
        Ok(b) => b,
        Err(poem::error::ReadBodyError::PayloadTooLarge) => {
            return Ok(json_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request entity too large",
                None,
            ));
        }
        Err(_) => {
            return Ok(json_error(
                StatusCode::BAD_REQUEST,
                "Could not read the request body",
                None,
            ));
        }
    };
    let writes = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let json_or_none = req.headers().get(header::CONTENT_TYPE).is_none_or(|v| {
        v.to_str().is_ok_and(|t| {
            t.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
    });
    // Only a body-less request that did not claim another type becomes `{}`: an empty form
    // post keeps its type and so still meets the JSON-only endpoints' 415.
    if bytes.is_empty() && writes && json_or_none {
        req.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        req.set_body("{}");
    } else {
        req.set_body(bytes);
    }
    ep.call(req).await.map(IntoResponse::into_response)
}

/// The paths anyone may call whatever their session says.
fn is_public(method: &Method, path: &str) -> bool {
    match *method {
        Method::GET => {
            matches!(
                path,
                "/api/health" | "/api/auth/app-config" | "/api/openapi.json"
            ) || path.starts_with("/api/auth/invite/")
                || path == "/api/docs"
                || path.starts_with("/api/docs/")
        }
        Method::POST => matches!(
            path,
            "/api/auth/login"
                | "/api/auth/register"
                | "/api/auth/mfa/verify-login"
                | "/api/auth/logout"
        ),
        _ => false,
    }
}

/// What an account without two-factor authentication may still do while the policy requires
/// it (reference auth §5 step 8).
fn exempt_from_mfa_policy(method: &Method, path: &str) -> bool {
    matches!(
        (method.as_str(), path),
        ("GET", "/api/auth/me")
            | ("POST", "/api/auth/mfa/setup")
            | ("POST", "/api/auth/mfa/enable")
            | ("GET", "/api/auth/app-settings")
            | ("PUT", "/api/auth/app-settings")
    )
}

/// What an account that must change its password may still do (decision 14). Enrolling in
/// two-factor authentication is allowed too: with the MFA policy on, the password change
/// itself is blocked until enrolment, and refusing both would lock the account out.
fn allowed_before_password_change(method: &Method, path: &str) -> bool {
    matches!(
        (method.as_str(), path),
        ("GET", "/api/auth/me")
            | ("PUT", "/api/auth/me/password")
            | ("POST", "/api/auth/mfa/setup")
            | ("POST", "/api/auth/mfa/enable")
    )
}

/// Resolves the session once per request and applies the account-wide policies to it.
///
/// # Errors
///
/// Passes on the inner endpoint's errors; its own refusals are responses, not errors.
pub async fn session<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
    state: AppState,
) -> poem::Result<Response> {
    // HTTP/2 sends each cookie as its own header; read them all.
    let cookies = joined(req.headers(), "cookie", "; ");
    let cookie = cookies.as_deref();
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let token = session::extract_token(cookie, authorization).map(str::to_owned);
    let resolved = match token {
        None => SessionState::Missing,
        Some(token) => resolve(&state, &token).await?,
    };

    if let SessionState::Valid(session) = &resolved {
        let refusal =
            account_policies(&state, &session.user, req.method(), req.uri().path()).await?;
        if let Some(refusal) = refusal {
            return Ok(refusal);
        }
    }
    req.extensions_mut().insert(resolved);
    let extra = ExtraCookies::default();
    req.extensions_mut().insert(extra.clone());
    let mut resp = ep.call(req).await.map(IntoResponse::into_response)?;
    for cookie in extra.take() {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            resp.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    Ok(resp)
}

/// The account-wide policies, checked on every authenticated request of every surface
/// (decisions 8 and 14). Routing is exact and case-sensitive, so the exact path lists here
/// cannot be sidestepped by spelling a path differently: such a path reaches no handler.
async fn account_policies(
    state: &AppState,
    user: &UserRow,
    method: &Method,
    path: &str,
) -> poem::Result<Option<Response>> {
    if is_public(method, path) {
        return Ok(None);
    }
    if user.must_change() && !allowed_before_password_change(method, path) {
        return Ok(Some(json_error(
            StatusCode::FORBIDDEN,
            "You must change your password before continuing.",
            Some("PASSWORD_CHANGE_REQUIRED"),
        )));
    }
    if !user.mfa_on() && !exempt_from_mfa_policy(method, path) {
        let required = state
            .store
            .setting("require_mfa")
            .await
            .map_err(poem::error::InternalServerError)?;
        if required.as_deref() == Some("true") {
            return Ok(Some(json_error(
                StatusCode::FORBIDDEN,
                "Two-factor authentication is required. Complete setup in Settings.",
                Some("MFA_REQUIRED"),
            )));
        }
    }
    Ok(None)
}

async fn resolve(state: &AppState, token: &str) -> poem::Result<SessionState> {
    let Ok(claims) = session::verify(&state.signing.current(), token, state.now_secs()) else {
        return Ok(SessionState::Invalid);
    };
    let hash = token_hash(token);
    let user = state
        .store
        .session_user(claims.user_id, &hash)
        .await
        .map_err(poem::error::InternalServerError)?;
    Ok(match user {
        Some(user) if user.password_version == claims.password_version => {
            SessionState::Valid(Arc::new(Session {
                user,
                token_hash: hash,
                expires_at: claims.expires_at,
            }))
        }
        _ => SessionState::Invalid,
    })
}
