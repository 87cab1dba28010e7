//! Device cookies, so that limiting failed logins per account cannot lock the owner out.
//!
//! Decision 7 limits failed logins and codes per account, whatever the source address. Taken
//! alone, that lets anyone lock any account, the only admin included, with ten wrong
//! passwords every quarter hour. The remedy is OWASP's device cookie: after a complete login
//! the browser gets `trek_device`, a signed token naming the account. Attempts that carry a
//! valid one for the account they target are counted in a second per-account bucket, shared
//! by all of that account's devices, instead of the one strangers fill: an attacker filling
//! the strangers' bucket does not stop the owner's own devices, and however many device
//! cookies someone collects, together they add at most one more bucket of ten tries.
//!
//! The token is an HS256 JWT under the session secret with `purpose: "device"`, so the session
//! verifier refuses it as a session (decision 1). It carries the password version, so every
//! credential change (password, MFA enable or disable, an admin's reset) retires the devices
//! trusted before it, as does rotating the secret.

use poem::Request;
use poem::http::header;
use serde_json::{Value, json};
use trek_lib::session;

use crate::http::ExtraCookies;
use crate::state::AppState;

/// The cookie's name.
pub const COOKIE: &str = "trek_device";
/// How long a device stays trusted, in seconds.
pub const TTL_SECS: i64 = 365 * 86_400;
const PURPOSE: &str = "device";

/// The limiter key for attempts on an account, given as `(id, password_version)`, from this
/// request: the account's trusted-device bucket when the request presents a device cookie
/// valid for it, otherwise `account_key`, the bucket strangers share.
pub fn limiter_key(
    state: &AppState,
    req: &Request,
    user: Option<(i64, i64)>,
    account_key: &str,
) -> String {
    match user {
        Some((id, version)) if trusted_device(state, req, id, version) => {
            format!("trusted-devices:{id}")
        }
        _ => account_key.to_owned(),
    }
}

/// Whether the request carries a device cookie valid for `user_id` at `password_version`.
fn trusted_device(state: &AppState, req: &Request, user_id: i64, password_version: i64) -> bool {
    let value = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| session::named_cookie(h, COOKIE));
    let Some(value) = value else {
        return false;
    };
    let Ok(claims) = session::verify_signed(&state.signing.current(), value, state.now_secs())
    else {
        return false;
    };
    claims.get("purpose").and_then(Value::as_str) == Some(PURPOSE)
        && claims.get("id").and_then(Value::as_i64) == Some(user_id)
        && claims.get("pv").and_then(Value::as_i64) == Some(password_version)
}

/// Marks the browser as a trusted device of `user_id` at `password_version` after a complete
/// login, by adding the cookie to the response.
pub fn remember(state: &AppState, req: &Request, user_id: i64, password_version: i64, https: bool) {
    let now = state.now_secs();
    let jti = hex::encode(rand::random::<[u8; 16]>());
    let claims = json!({
        "id": user_id,
        "pv": password_version,
        "purpose": PURPOSE,
        "jti": jti,
        "iat": now,
        "exp": now + TTL_SECS,
    });
    let token = session::sign(&state.signing.current(), &claims.to_string());
    let secure = if state.config.cookie.secure(https) {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{COOKIE}={token}; Max-Age={TTL_SECS}; Path=/api/auth; HttpOnly{secure}; SameSite=Strict"
    );
    if let Some(extra) = req.extensions().get::<ExtraCookies>() {
        extra.push(cookie);
    }
}
