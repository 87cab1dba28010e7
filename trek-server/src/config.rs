//! Configuration from TREK's environment variables.
//!
//! Every variable keeps TREK's name and meaning (see `shared/spec/reference/infra.md` §1.1),
//! with trek's defaults where decisions differ: `PORT` defaults to 3000 as in TREK's image, and
//! `TRUST_PROXY` follows decision 6.

use std::net::IpAddr;
use std::path::PathBuf;

use trek_lib::net::TrustProxy;
use trek_lib::password::HashParams;
use trek_lib::session::CookiePolicy;

/// Why the configuration could not be read. Each message names the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A variable holds a value trek cannot use.
    #[error("{name}={value:?} is not valid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// What it held.
        value: String,
        /// What is accepted instead.
        reason: String,
    },
}

/// The server's settings, read once at start-up.
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST`: the address to listen on; all interfaces when unset.
    pub host: Option<IpAddr>,
    /// `PORT`, default 3000.
    pub port: u16,
    /// `NODE_ENV=production` (any case).
    pub production: bool,
    /// `NODE_ENV` is exactly `production`: TREK turns HSTS on only then.
    pub production_exact: bool,
    /// `DATA_DIR`, default `./data`.
    pub data_dir: PathBuf,
    /// `UPLOADS_DIR`, default `./uploads`.
    pub uploads_dir: PathBuf,
    /// `ENCRYPTION_KEY`, untrimmed.
    pub encryption_key: Option<String>,
    /// `TRUST_PROXY`, per decision 6.
    pub trust_proxy: TrustProxy,
    /// `FORCE_HTTPS=true` (any case).
    pub force_https: bool,
    /// `HSTS_INCLUDE_SUBDOMAINS=true` (exact).
    pub hsts_include_subdomains: bool,
    /// The session cookie's Secure rule.
    pub cookie: CookiePolicy,
    /// `ALLOWED_ORIGINS`, split on commas, trimmed, empties dropped.
    pub allowed_origins: Vec<String>,
    /// `ALLOW_INTERNAL_NETWORK=true` (any case).
    pub allow_internal_network: bool,
    /// `APP_URL`.
    pub app_url: Option<String>,
    /// `ADMIN_EMAIL`.
    pub admin_email: Option<String>,
    /// `ADMIN_PASSWORD`.
    pub admin_password: Option<String>,
    /// `LOG_LEVEL=debug` (any case) turns on debug lines; anything else means info.
    pub debug_logging: bool,
    /// `TZ`, default UTC.
    pub timezone: String,
    /// `APP_VERSION`, default the package version.
    pub app_version: String,
    /// `OIDC_ISSUER` and `OIDC_CLIENT_ID` are both set.
    pub oidc_env_configured: bool,
    /// `OIDC_ONLY=true` (any case).
    pub oidc_only_env: bool,
    /// `OIDC_ONLY` is exactly `true`.
    pub oidc_only_env_exact: bool,
    /// `OIDC_DISPLAY_NAME`.
    pub oidc_display_name: Option<String>,
    /// `SMTP_HOST` is set.
    pub smtp_host_env: bool,
    /// `ARGON2_MEMORY_KIB`, `ARGON2_ITERATIONS`, `ARGON2_PARALLELISM` (never below the baseline).
    pub hash_params: HashParams,
    /// `IDLE_TIMEOUT_SECS`: connections silent this long are closed (default 30).
    pub idle_timeout_secs: u64,
    /// `HASH_CONCURRENCY`: password hashes run at once; default one fewer than the cores, so a
    /// login storm always leaves a core to everything else.
    pub hash_concurrency: usize,
}

impl Config {
    /// Reads the process environment.
    ///
    /// # Errors
    ///
    /// A variable holds a value that cannot be used; the message names it.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads variables through `lookup`, so tests need not touch the process environment.
    ///
    /// # Errors
    ///
    /// As [`Config::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
        let is_ci =
            |name: &str, want: &str| get(name).is_some_and(|v| v.eq_ignore_ascii_case(want));
        let node_env = get("NODE_ENV");
        let production = is_ci("NODE_ENV", "production");

        let trust_value = get("TRUST_PROXY");
        let trust_proxy = TrustProxy::from_env_value(trust_value.as_deref(), production)
            .map_err(|e| invalid("TRUST_PROXY", trust_value.clone().unwrap_or_default(), e))?;

        Ok(Self {
            host: parse_opt("HOST", get("HOST"))?,
            port: parse_opt("PORT", get("PORT"))?.unwrap_or(3000),
            production,
            production_exact: node_env.as_deref() == Some("production"),
            data_dir: get("DATA_DIR").map_or_else(|| PathBuf::from("data"), PathBuf::from),
            uploads_dir: get("UPLOADS_DIR").map_or_else(|| PathBuf::from("uploads"), PathBuf::from),
            encryption_key: get("ENCRYPTION_KEY"),
            trust_proxy,
            force_https: is_ci("FORCE_HTTPS", "true"),
            hsts_include_subdomains: get("HSTS_INCLUDE_SUBDOMAINS").as_deref() == Some("true"),
            cookie: CookiePolicy {
                never_secure: is_ci("COOKIE_SECURE", "false"),
                production,
                force_https: is_ci("FORCE_HTTPS", "true"),
            },
            allowed_origins: get("ALLOWED_ORIGINS")
                .map(|v| split_list(&v))
                .unwrap_or_default(),
            allow_internal_network: is_ci("ALLOW_INTERNAL_NETWORK", "true"),
            app_url: get("APP_URL"),
            admin_email: get("ADMIN_EMAIL"),
            admin_password: get("ADMIN_PASSWORD"),
            debug_logging: is_ci("LOG_LEVEL", "debug"),
            timezone: get("TZ").unwrap_or_else(|| "UTC".to_owned()),
            app_version: get("APP_VERSION").unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned()),
            oidc_env_configured: get("OIDC_ISSUER").is_some() && get("OIDC_CLIENT_ID").is_some(),
            oidc_only_env: is_ci("OIDC_ONLY", "true"),
            oidc_only_env_exact: get("OIDC_ONLY").as_deref() == Some("true"),
            oidc_display_name: get("OIDC_DISPLAY_NAME"),
            smtp_host_env: get("SMTP_HOST").is_some(),
            hash_params: hash_params(&get)?,
            idle_timeout_secs: parse_opt("IDLE_TIMEOUT_SECS", get("IDLE_TIMEOUT_SECS"))?
                .filter(|n: &u64| *n > 0)
                .unwrap_or(30),
            hash_concurrency: parse_opt("HASH_CONCURRENCY", get("HASH_CONCURRENCY"))?
                .filter(|n: &usize| *n > 0)
                .unwrap_or_else(default_hash_concurrency),
        })
    }

    /// Whether HSTS is sent: `FORCE_HTTPS=true` or `NODE_ENV` exactly `production`.
    pub fn hsts(&self) -> bool {
        self.force_https || self.production_exact
    }
}

fn hash_params(get: &impl Fn(&str) -> Option<String>) -> Result<HashParams, ConfigError> {
    let base = HashParams::DEFAULT;
    let m = parse_opt("ARGON2_MEMORY_KIB", get("ARGON2_MEMORY_KIB"))?.unwrap_or(base.memory_kib());
    let t = parse_opt("ARGON2_ITERATIONS", get("ARGON2_ITERATIONS"))?.unwrap_or(base.iterations());
    let p =
        parse_opt("ARGON2_PARALLELISM", get("ARGON2_PARALLELISM"))?.unwrap_or(base.parallelism());
    HashParams::new(m, t, p).map_err(|e| invalid("ARGON2_*", format!("m={m} t={t} p={p}"), e))
}

fn default_hash_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().saturating_sub(1).max(1))
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_opt<T: std::str::FromStr>(
    name: &'static str,
    value: Option<String>,
) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    value
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map_err(|e| invalid(name, v.clone(), e))
        })
        .transpose()
}

fn invalid(name: &'static str, value: String, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::Invalid {
        name,
        value,
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_match_trek_s_published_image() {
        let c = config(&[]).expect("config");
        assert_eq!(c.port, 3000);
        assert_eq!(c.data_dir, PathBuf::from("data"));
        assert_eq!(c.uploads_dir, PathBuf::from("uploads"));
        assert!(!c.production && !c.hsts());
        assert_eq!(c.trust_proxy, TrustProxy::Off);
    }

    #[test]
    fn production_in_any_case_but_hsts_only_when_exact() {
        let c = config(&[("NODE_ENV", "Production")]).expect("config");
        assert!(c.production && c.cookie.production);
        assert!(!c.hsts());
        assert_eq!(c.trust_proxy, TrustProxy::LocalHop);
        assert!(
            config(&[("NODE_ENV", "production")])
                .expect("config")
                .hsts()
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = config(&[("PORT", "eighty")])
            .expect_err("bad port")
            .to_string();
        assert!(err.starts_with("PORT=\"eighty\""), "{err}");
        let err = config(&[("TRUST_PROXY", "nonsense/99")])
            .expect_err("bad")
            .to_string();
        assert!(err.contains("TRUST_PROXY"), "{err}");
        assert!(config(&[("ARGON2_MEMORY_KIB", "1024")]).is_err());
    }

    #[test]
    fn allowed_origins_are_trimmed_and_empties_dropped() {
        let c =
            config(&[("ALLOWED_ORIGINS", " https://a.example, ,https://b.example ")]).expect("c");
        assert_eq!(
            c.allowed_origins,
            ["https://a.example", "https://b.example"]
        );
    }
}
