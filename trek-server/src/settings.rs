//! App settings (`app_settings` rows) and the login/registration toggles TREK derives from
//! them (reference auth §15.3).

use std::collections::HashMap;

use crate::config::Config;

/// Which sign-in paths are open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthToggles {
    /// Password login is allowed.
    pub password_login: bool,
    /// Self-registration with a password is allowed.
    pub password_registration: bool,
    /// SSO login is offered.
    pub oidc_login: bool,
    /// SSO registration is offered.
    pub oidc_registration: bool,
}

const GRANULAR: [&str; 4] = [
    "password_login",
    "password_registration",
    "oidc_login",
    "oidc_registration",
];

/// Whether OIDC has an issuer and a client id, from the environment or settings.
pub fn oidc_configured(config: &Config, settings: &HashMap<String, String>) -> bool {
    let set = |k: &str| settings.get(k).is_some_and(|v| !v.is_empty());
    config.oidc_env_configured || (set("oidc_issuer") && set("oidc_client_id"))
}

/// TREK's toggle resolution: "granular" keys win when any exists; otherwise the legacy
/// `allow_registration` and OIDC-only settings decide.
pub fn auth_toggles(config: &Config, settings: &HashMap<String, String>) -> AuthToggles {
    if GRANULAR.iter().any(|k| settings.contains_key(*k)) {
        let on = |k: &str| settings.get(k).is_none_or(|v| v != "false");
        let forced_off = config.oidc_only_env;
        return AuthToggles {
            password_login: on("password_login") && !forced_off,
            password_registration: on("password_registration") && !forced_off,
            oidc_login: on("oidc_login"),
            oidc_registration: on("oidc_registration"),
        };
    }
    let oidc_only_setting = settings.get("oidc_only").is_some_and(|v| v == "true");
    let oidc_only =
        (config.oidc_only_env || oidc_only_setting) && oidc_configured(config, settings);
    let allow_registration = settings
        .get("allow_registration")
        .is_none_or(|v| v == "true");
    AuthToggles {
        password_login: !oidc_only,
        password_registration: !oidc_only && allow_registration,
        oidc_login: true,
        oidc_registration: allow_registration,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn config() -> Config {
        Config::from_lookup(|_| None).expect("default config")
    }

    #[test]
    fn registration_is_open_by_default_and_closed_by_the_legacy_setting() {
        assert!(auth_toggles(&config(), &settings(&[])).password_registration);
        let closed = auth_toggles(&config(), &settings(&[("allow_registration", "false")]));
        assert!(!closed.password_registration && closed.password_login);
    }

    #[test]
    fn granular_keys_override_the_legacy_setting() {
        let s = settings(&[
            ("allow_registration", "false"),
            ("password_registration", "true"),
        ]);
        assert!(auth_toggles(&config(), &s).password_registration);
        let s = settings(&[("password_login", "false")]);
        assert!(!auth_toggles(&config(), &s).password_login);
    }

    #[test]
    fn oidc_only_needs_a_configured_provider_in_legacy_mode() {
        let s = settings(&[("oidc_only", "true")]);
        assert!(auth_toggles(&config(), &s).password_login);
        let s = settings(&[
            ("oidc_only", "true"),
            ("oidc_issuer", "https://id"),
            ("oidc_client_id", "c"),
        ]);
        assert!(!auth_toggles(&config(), &s).password_login);
    }
}
