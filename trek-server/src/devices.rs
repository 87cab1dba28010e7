//! Device cookies, so that limiting failed logins per account cannot lock the owner out.
//!
//! Decision 7 limits failed logins and codes per account, whatever the source address. Taken
//! alone, that lets anyone lock any account, the only admin included, with ten wrong
//! passwords every quarter hour. The remedy is OWASP's device cookie: after a complete login
//! the browser gets `trek_device`, a signed token naming the account. Attempts that carry a
//! valid one for the account they target are counted in a bucket of their own (per device)
//! instead of the account's, so an attacker filling the account's bucket does not stop the
//! owner's own devices. A stolen device cookie buys an attacker only that device's ten tries.
//!
//! The token is an HS256 JWT under the session secret with `purpose: "device"`, so the session
//! verifier refuses it as a session (decision 1); rotating the secret retires all devices.

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

/// The limiter key for attempts on `user_id` from this request: the device's own when it
/// presents a valid device cookie for that account, otherwise `account_key`.
pub fn limiter_key(
    state: &AppState,
    req: &Request,
    user_id: Option<i64>,
    account_key: &str,
) -> String {
    user_id
        .and_then(|id| trusted_device(state, req, id))
        .map_or_else(|| account_key.to_owned(), |jti| format!("device:{jti}"))
}

/// The id of the request's device cookie if it is valid for `user_id`.
fn trusted_device(state: &AppState, req: &Request, user_id: i64) -> Option<String> {
    let value = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, v)| v.trim().to_owned())?;
    let claims = session::verify_signed(&state.signing.current(), &value, state.now_secs()).ok()?;
    let for_this_account = claims.get("purpose").and_then(Value::as_str) == Some(PURPOSE)
        && claims.get("id").and_then(Value::as_i64) == Some(user_id);
    for_this_account.then(|| claims.get("jti").and_then(Value::as_str).map(str::to_owned))?
}

/// Marks the browser as a trusted device of `user_id` after a complete login, by adding the
/// cookie to the response.
pub fn remember(state: &AppState, req: &Request, user_id: i64, https: bool) {
    let now = state.now_secs();
    let jti = hex::encode(rand::random::<[u8; 16]>());
    let claims =
        json!({ "id": user_id, "purpose": PURPOSE, "jti": jti, "iat": now, "exp": now + TTL_SECS });
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
