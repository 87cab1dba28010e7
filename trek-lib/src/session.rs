//! Session tokens (HS256 JWTs), their signing-secret file, the session cookie and token
//! extraction from requests.
//!
//! Tokens are byte-compatible with TREK's: header `{"alg":"HS256","typ":"JWT"}`, claims `id`,
//! `pv`, `iat`, `exp` = `iat` + 24 h, keyed by the ASCII text of `data/.jwt_secret`. Unlike
//! TREK, the verifier refuses any token that carries a `purpose` claim, so an MFA-pending token
//! can never act as a session (decision 1), and it requires `exp`.
//!
//! ```
//! use trek_lib::session::{SigningSecret, issue, verify};
//!
//! let secret = SigningSecret::new("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
//! let token = issue(&secret, 7, 0, 1_700_000_000);
//! let claims = verify(&secret, &token, 1_700_000_001).unwrap();
//! assert_eq!((claims.user_id, claims.password_version), (7, 0));
//! assert!(verify(&secret, &token, 1_700_086_400).is_err()); // expired
//! ```

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::{CryptoRng, RngCore};
use serde_json::{Map, Value};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::keyfile;

/// How long a session lasts, in seconds (TREK's 24 hours).
pub const SESSION_TTL_SECS: i64 = 86_400;

/// The name of the signing-secret file inside the data directory.
pub const SECRET_FILE: &str = ".jwt_secret";

/// The session cookie's name.
pub const COOKIE_NAME: &str = "trek_session";

/// The longest token [`verify`] reads, in bytes; real ones are under 200.
pub const MAX_TOKEN_LEN: usize = 4096;

/// The base64url of `{"alg":"HS256","typ":"JWT"}`, the header TREK's library writes.
const HEADER: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// The HMAC key: the text of `data/.jwt_secret`. Zeroized on drop; Debug leaves it out.
#[derive(Clone)]
pub struct SigningSecret(Zeroizing<String>);

impl SigningSecret {
    /// Wraps secret text; TREK uses the hex text itself as the key, not the bytes it encodes.
    pub fn new(text: impl Into<String>) -> Self {
        Self(Zeroizing::new(text.into()))
    }

    /// A fresh secret: 32 random bytes as 64 lowercase hex characters.
    pub fn generate(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(bytes.as_mut());
        Self::new(hex::encode(bytes.as_ref()))
    }

    /// The secret text, for writing it to its file.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length, so this cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(self.0.as_bytes())
            .unwrap_or_else(|_| unreachable!("hmac accepts every key length"))
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Printing the secret would let anyone who reads the log mint sessions.
        f.write_str("SigningSecret(..)")
    }
}

/// The verified contents of a session token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionClaims {
    /// The user's id (`id`).
    pub user_id: i64,
    /// The user's password version when the token was issued (`pv`; absent counts as 0).
    pub password_version: i64,
    /// Issue time, seconds since the epoch (`iat`; absent counts as 0).
    pub issued_at: i64,
    /// Expiry, seconds since the epoch (`exp`).
    pub expires_at: i64,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// Not three base64url parts of JSON, too long, or a claim of the wrong type.
    #[error("token is malformed")]
    Malformed,
    /// The header names an algorithm other than HS256 (including `none`).
    #[error("token algorithm is not HS256")]
    WrongAlgorithm,
    /// The signature does not match this secret.
    #[error("token signature does not verify")]
    BadSignature,
    /// `exp` is missing or not after now, or `nbf` is in the future.
    #[error("token is expired or not yet valid")]
    Expired,
    /// The token carries a `purpose` claim: it is not a session token.
    #[error("token is not a session token")]
    NotASession,
}

/// Issues a session token for `user_id` at `password_version`, valid from `now` for 24 hours.
pub fn issue(secret: &SigningSecret, user_id: i64, password_version: i64, now: i64) -> String {
    let exp = now.saturating_add(SESSION_TTL_SECS);
    let payload = format!(r#"{{"id":{user_id},"pv":{password_version},"iat":{now},"exp":{exp}}}"#);
    sign(secret, &payload)
}

/// Issues a session token that also carries a unique `jti`, so two sessions of one account
/// issued in the same second differ and one can be revoked without the other. TREK's verifier
/// ignores unknown claims, so the token stays interchangeable with TREK's.
pub fn issue_unique(
    secret: &SigningSecret,
    user_id: i64,
    password_version: i64,
    now: i64,
    rng: &mut (impl RngCore + CryptoRng),
) -> String {
    let exp = now.saturating_add(SESSION_TTL_SECS);
    let mut id = [0u8; 12];
    rng.fill_bytes(&mut id);
    let jti = hex::encode(id);
    let payload = format!(
        r#"{{"id":{user_id},"pv":{password_version},"iat":{now},"exp":{exp},"jti":"{jti}"}}"#
    );
    sign(secret, &payload)
}

/// Signs an arbitrary JSON object as an HS256 token with TREK's header. For tokens other than
/// sessions (the MFA-pending token); they must carry a `purpose` so [`verify`] refuses them.
pub fn sign(secret: &SigningSecret, payload_json: &str) -> String {
    let signing_input = format!("{HEADER}.{}", URL_SAFE_NO_PAD.encode(payload_json));
    let mut mac = secret.mac();
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// Verifies a session token at time `now` (seconds since the epoch).
///
/// # Errors
///
/// A [`TokenError`] for a malformed token, another algorithm, a bad signature, an expired (or
/// not-yet-valid, or `exp`-less) token, or one that carries `purpose`.
pub fn verify(secret: &SigningSecret, token: &str, now: i64) -> Result<SessionClaims, TokenError> {
    let claims = verify_signed(secret, token, now)?;
    if claims.contains_key("purpose") {
        return Err(TokenError::NotASession);
    }
    Ok(SessionClaims {
        user_id: int_claim(&claims, "id")?.ok_or(TokenError::Malformed)?,
        password_version: int_claim(&claims, "pv")?.unwrap_or(0),
        issued_at: int_claim(&claims, "iat")?.unwrap_or(0),
        expires_at: int_claim(&claims, "exp")?.ok_or(TokenError::Expired)?,
    })
}

/// Checks signature, algorithm and time window and returns the claims, whatever they are.
/// [`verify`] builds on it; so does the MFA-pending token check, which wants a `purpose`.
///
/// # Errors
///
/// As [`verify`], except that `purpose` is not looked at.
pub fn verify_signed(
    secret: &SigningSecret,
    token: &str,
    now: i64,
) -> Result<Map<String, Value>, TokenError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(TokenError::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Malformed);
    };
    check_header(header)?;

    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?;
    let mut mac = secret.mac();
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    // verify_slice compares in constant time.
    mac.verify_slice(&signature)
        .map_err(|_| TokenError::BadSignature)?;

    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| TokenError::Malformed)?;
    let Ok(Value::Object(claims)) = serde_json::from_slice(&payload) else {
        return Err(TokenError::Malformed);
    };
    check_time(&claims, now)?;
    Ok(claims)
}

fn check_header(header: &str) -> Result<(), TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| TokenError::Malformed)?;
    let Ok(Value::Object(fields)) = serde_json::from_slice(&bytes) else {
        return Err(TokenError::Malformed);
    };
    match fields.get("alg") {
        Some(Value::String(alg)) if alg == "HS256" => Ok(()),
        _ => Err(TokenError::WrongAlgorithm),
    }
}

fn check_time(claims: &Map<String, Value>, now: i64) -> Result<(), TokenError> {
    let exp = int_claim(claims, "exp")?.ok_or(TokenError::Expired)?;
    if now >= exp {
        return Err(TokenError::Expired);
    }
    match int_claim(claims, "nbf")? {
        Some(nbf) if now < nbf => Err(TokenError::Expired),
        _ => Ok(()),
    }
}

/// An integer claim: `None` when absent, an error when present with another type. jsonwebtoken
/// writes whole numbers; a float like `1.0` is accepted as TREK's JavaScript would read it.
fn int_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Ok(Some(i)),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
            _ => Err(TokenError::Malformed),
        },
        Some(_) => Err(TokenError::Malformed),
    }
}

/// The signing secret's file: `data/.jwt_secret`.
#[derive(Debug, Clone)]
pub struct SecretFile {
    path: PathBuf,
}

/// How [`SecretFile::load_or_create`] obtained the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretOrigin {
    /// Read from the file.
    Loaded,
    /// The file did not exist and was created.
    Generated,
    /// The file existed but was empty; TREK would have signed with an empty key, which anyone
    /// can forge, so a new secret was written instead.
    ReplacedEmpty,
}

impl SecretFile {
    /// The secret file inside `data_dir`.
    pub fn in_dir(data_dir: &Path) -> Self {
        Self {
            path: data_dir.join(SECRET_FILE),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the secret (trimmed), or generates one and writes it atomically with mode 0600.
    ///
    /// # Errors
    ///
    /// The file exists but cannot be read, or a new secret cannot be written.
    pub fn load_or_create(
        &self,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> io::Result<(SigningSecret, SecretOrigin)> {
        match keyfile::read_trimmed(&self.path)? {
            Some(text) if !text.is_empty() => {
                Ok((SigningSecret::new(text.as_str()), SecretOrigin::Loaded))
            }
            existing => {
                let secret = SigningSecret::generate(rng);
                keyfile::write_private(&self.path, secret.expose())?;
                let origin = match existing {
                    Some(_) => SecretOrigin::ReplacedEmpty,
                    None => SecretOrigin::Generated,
                };
                Ok((secret, origin))
            }
        }
    }

    /// Writes a fresh secret and returns it. Every token signed with the old one dies.
    ///
    /// # Errors
    ///
    /// The new secret cannot be written; the old file is then left as it was.
    pub fn rotate(&self, rng: &mut (impl RngCore + CryptoRng)) -> io::Result<SigningSecret> {
        let secret = SigningSecret::generate(rng);
        keyfile::write_private(&self.path, secret.expose())?;
        Ok(secret)
    }
}

/// The rule for the cookie's `Secure` attribute, from TREK's environment variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CookiePolicy {
    /// `COOKIE_SECURE=false` (any case): never Secure.
    pub never_secure: bool,
    /// `NODE_ENV=production` (any case).
    pub production: bool,
    /// `FORCE_HTTPS=true` (any case).
    pub force_https: bool,
}

impl CookiePolicy {
    /// Whether the cookie gets `Secure` on a request that did (`request_is_https`) or did not
    /// arrive over TLS, directly or through a trusted proxy's `X-Forwarded-Proto`.
    pub fn secure(&self, request_is_https: bool) -> bool {
        !self.never_secure && (self.production || self.force_https || request_is_https)
    }

    /// The `Set-Cookie` value that starts a session, expiring 24 hours after `now_secs`.
    pub fn set_cookie(&self, token: &str, request_is_https: bool, now_secs: i64) -> String {
        let expires = http_date(now_secs.saturating_add(SESSION_TTL_SECS));
        let secure = if self.secure(request_is_https) {
            "; Secure"
        } else {
            ""
        };
        format!(
            "{COOKIE_NAME}={token}; Max-Age={SESSION_TTL_SECS}; Path=/; Expires={expires}; \
             HttpOnly{secure}; SameSite=Lax"
        )
    }

    /// The `Set-Cookie` value that ends a session (TREK's shape: no `Max-Age`).
    pub fn clear_cookie(&self, request_is_https: bool) -> String {
        let secure = if self.secure(request_is_https) {
            "; Secure"
        } else {
            ""
        };
        format!(
            "{COOKIE_NAME}=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly{secure}; \
             SameSite=Lax"
        )
    }
}

fn http_date(secs: i64) -> String {
    let secs = u64::try_from(secs).unwrap_or(0);
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// Picks the session token from a request: the `trek_session` cookie when present and
/// non-empty, else an `Authorization: Bearer <token>` header (scheme in any case).
///
/// The cookie wins even when it is stale, as in TREK, so a browser and a script never see two
/// identities on one request. Unlike TREK, other schemes (`Basic xyz`) are not read as tokens.
pub fn extract_token<'a>(
    cookie: Option<&'a str>,
    authorization: Option<&'a str>,
) -> Option<&'a str> {
    cookie
        .and_then(cookie_value)
        .or_else(|| authorization.and_then(bearer_token))
}

/// The value of `trek_session` in a `Cookie` header, if present and non-empty.
pub fn cookie_value(header: &str) -> Option<&str> {
    named_cookie(header, COOKIE_NAME)
}

/// The value of cookie `name` in a `Cookie` header, if present and non-empty.
pub fn named_cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| n.trim() == name)
        .map(|(_, value)| value.trim().trim_matches('"'))
        .filter(|value| !value.is_empty())
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.split_once(' ')?;
    let token = token.trim();
    let single_word = !token.is_empty() && !token.contains(char::is_whitespace);
    (scheme.eq_ignore_ascii_case("bearer") && single_word).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::rngs::OsRng;

    const NOW: i64 = 1_700_000_000;

    fn secret() -> SigningSecret {
        SigningSecret::new("969a7a826da8a3e8d3ca88ce7c7fa7bdc32916abf89af676ca07239e587ae801")
    }

    fn forge(header: &str, payload: &str) -> String {
        let h = URL_SAFE_NO_PAD.encode(header);
        let p = URL_SAFE_NO_PAD.encode(payload);
        let mut mac = secret().mac();
        mac.update(format!("{h}.{p}").as_bytes());
        format!(
            "{h}.{p}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    #[test]
    fn issued_tokens_are_byte_identical_to_trek_s() {
        let token = issue(&secret(), 1, 0, NOW);
        assert_eq!(
            token,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6MSwicHYiOjAsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDg2NDAwfQ._SFAyRWBRjwTrk_Pi1uCSn_9xDlgYUxg0EQCcicdNfk"
        );
    }

    #[test]
    fn unique_tokens_differ_within_one_second_and_still_verify() {
        let a = issue_unique(&secret(), 1, 3, NOW, &mut OsRng);
        let b = issue_unique(&secret(), 1, 3, NOW, &mut OsRng);
        assert_ne!(a, b);
        let claims = verify(&secret(), &a, NOW).expect("valid");
        assert_eq!(
            (claims.user_id, claims.password_version, claims.expires_at),
            (1, 3, NOW + SESSION_TTL_SECS)
        );
    }

    #[test]
    fn expiry_is_exclusive() {
        let token = issue(&secret(), 1, 0, NOW);
        assert!(verify(&secret(), &token, NOW + SESSION_TTL_SECS - 1).is_ok());
        assert_eq!(
            verify(&secret(), &token, NOW + SESSION_TTL_SECS),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        for alg in ["none", "HS384", "HS512", "RS256", "hs256"] {
            let token = forge(
                &format!(r#"{{"alg":"{alg}"}}"#),
                r#"{"id":1,"exp":1800000000}"#,
            );
            assert_eq!(
                verify(&secret(), &token, NOW),
                Err(TokenError::WrongAlgorithm),
                "{alg}"
            );
        }
        let unsigned = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), "e30");
        assert!(verify(&secret(), &unsigned, NOW).is_err());
    }

    #[test]
    fn tokens_with_a_purpose_are_never_sessions() {
        let token = forge(
            r#"{"alg":"HS256"}"#,
            r#"{"id":1,"purpose":"mfa_login","exp":1800000000}"#,
        );
        assert_eq!(verify(&secret(), &token, NOW), Err(TokenError::NotASession));
        assert!(verify_signed(&secret(), &token, NOW).is_ok());
    }

    #[test]
    fn tokens_without_exp_or_with_future_nbf_are_refused() {
        let no_exp = forge(r#"{"alg":"HS256"}"#, r#"{"id":1,"pv":0}"#);
        assert_eq!(verify(&secret(), &no_exp, NOW), Err(TokenError::Expired));
        let nbf = forge(
            r#"{"alg":"HS256"}"#,
            r#"{"id":1,"nbf":1800000000,"exp":1900000000}"#,
        );
        assert_eq!(verify(&secret(), &nbf, NOW), Err(TokenError::Expired));
    }

    #[test]
    fn wrongly_typed_claims_are_malformed() {
        for payload in [
            r#"{"id":"1","exp":1800000000}"#,
            r#"{"id":1,"pv":"0","exp":1800000000}"#,
            "[1]",
        ] {
            let token = forge(r#"{"alg":"HS256"}"#, payload);
            assert_eq!(
                verify(&secret(), &token, NOW),
                Err(TokenError::Malformed),
                "{payload}"
            );
        }
    }

    #[test]
    fn a_tampered_or_truncated_token_is_refused() {
        let token = issue(&secret(), 1, 0, NOW);
        let other = SigningSecret::new("other");
        assert_eq!(verify(&other, &token, NOW), Err(TokenError::BadSignature));
        for cut in [0, 10, token.len() / 2, token.len() - 1] {
            assert!(
                verify(&secret(), &token[..cut], NOW).is_err(),
                "cut at {cut}"
            );
        }
        let swapped = token.replace("eyJpZCI6MS", "eyJpZCI6Mi");
        assert!(verify(&secret(), &swapped, NOW).is_err());
        assert!(verify(&secret(), &format!("{token}.x"), NOW).is_err());
    }

    #[test]
    fn secret_file_generates_once_rotates_and_replaces_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = SecretFile::in_dir(dir.path());
        let (first, origin) = file.load_or_create(&mut OsRng).expect("create");
        assert_eq!(
            (origin, first.expose().len()),
            (SecretOrigin::Generated, 64)
        );
        let (again, origin) = file.load_or_create(&mut OsRng).expect("load");
        assert_eq!(
            (origin, again.expose()),
            (SecretOrigin::Loaded, first.expose())
        );
        let rotated = file.rotate(&mut OsRng).expect("rotate");
        assert_ne!(rotated.expose(), first.expose());
        std::fs::write(file.path(), " \n").expect("blank");
        let (_, origin) = file.load_or_create(&mut OsRng).expect("replace");
        assert_eq!(origin, SecretOrigin::ReplacedEmpty);
    }

    #[test]
    fn secure_flag_follows_trek_s_rule() {
        let dev = CookiePolicy::default();
        assert!(!dev.secure(false));
        assert!(dev.secure(true));
        let prod = CookiePolicy {
            production: true,
            ..dev
        };
        assert!(prod.secure(false));
        let forced = CookiePolicy {
            force_https: true,
            ..dev
        };
        assert!(forced.secure(false));
        let off = CookiePolicy {
            never_secure: true,
            production: true,
            force_https: true,
        };
        assert!(!off.secure(true));
    }

    #[test]
    fn cookie_strings_have_trek_s_attributes() {
        let policy = CookiePolicy::default();
        assert_eq!(
            policy.set_cookie("tok", true, NOW),
            "trek_session=tok; Max-Age=86400; Path=/; Expires=Wed, 15 Nov 2023 22:13:20 GMT; \
             HttpOnly; Secure; SameSite=Lax"
        );
        assert_eq!(
            policy.clear_cookie(false),
            "trek_session=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn cookie_wins_over_bearer_and_other_schemes_are_ignored() {
        assert_eq!(
            extract_token(Some("a=1; trek_session=c"), Some("Bearer b")),
            Some("c")
        );
        assert_eq!(
            extract_token(Some("trek_session="), Some("Bearer b")),
            Some("b")
        );
        assert_eq!(extract_token(None, Some("bearer b")), Some("b"));
        for header in [
            "Basic abc",
            "Bearer",
            "Bearer ",
            "Bearer  ",
            "Bearer a b",
            "Token x",
        ] {
            assert_eq!(extract_token(None, Some(header)), None, "{header:?}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_verify(s in "\\PC{0,300}") {
            prop_assert!(verify(&secret(), &s, NOW).is_err());
        }

        #[test]
        fn issue_then_verify_round_trips(id in 1i64..1 << 40, pv in 0i64..1000) {
            let claims = verify(&secret(), &issue(&secret(), id, pv, NOW), NOW).expect("valid");
            prop_assert_eq!((claims.user_id, claims.password_version), (id, pv));
        }
    }
}
