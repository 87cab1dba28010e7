//! Start-up: the data layout, the two root secrets, the database, and the first admin.

use std::path::Path;
use std::sync::Arc;

use rand::Rng;
use rand::rngs::OsRng;
use trek_lib::clock::Clock;
use trek_lib::password::{Hasher, check_policy};
use trek_lib::secrets::{KeySource, SecretBox, resolve_encryption_key};
use trek_lib::session::{SecretFile, SecretOrigin};

use crate::config::Config;
use crate::hashing::PasswordService;
use crate::limits::MemoryLimits;
use crate::state::{AppState, Inner, SigningKeys};
use crate::store::{NewUser, Store};

/// Why the server could not start. Each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A folder or key file could not be read or written.
    #[error("{what} ({path}): {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path involved.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The database could not be opened or migrated.
    #[error("cannot open the database: {0}")]
    Store(#[from] crate::store::StoreError),
    /// `ADMIN_PASSWORD` fails the password policy.
    #[error("ADMIN_PASSWORD is refused by the password policy: {0}. Choose a stronger one.")]
    WeakAdminPassword(String),
    /// Anything else at start-up.
    #[error("{0}")]
    Other(String),
}

fn io_err<'a>(
    what: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> StartError + 'a {
    move |source| StartError::Io {
        what,
        path: path.display().to_string(),
        source,
    }
}

/// Creates TREK's folders under the data and uploads directories.
///
/// # Errors
///
/// A folder cannot be created.
pub fn create_layout(config: &Config) -> Result<(), StartError> {
    let data = &config.data_dir;
    let uploads = &config.uploads_dir;
    let dirs = [
        data.clone(),
        data.join("backups"),
        data.join("tmp"),
        data.join("logs"),
        uploads.clone(),
        uploads.join("photos"),
        uploads.join("files"),
        uploads.join("covers"),
        uploads.join("avatars"),
    ];
    for dir in &dirs {
        std::fs::create_dir_all(dir).map_err(io_err("cannot create folder", dir))?;
    }
    Ok(())
}

/// Builds the shared state: secrets, database, first admin.
///
/// # Errors
///
/// Any [`StartError`]; the message names what to fix.
pub async fn prepare(config: Config, clock: Arc<dyn Clock>) -> Result<AppState, StartError> {
    let state = prepare_unseeded(config, clock).await?;
    seed_first_admin(&state).await?;
    Ok(state)
}

/// [`prepare`] without the first admin: for building the OpenAPI document against a
/// throw-away data folder, where an account (and its printed password) would be noise.
///
/// # Errors
///
/// As [`prepare`].
pub async fn prepare_unseeded(
    config: Config,
    clock: Arc<dyn Clock>,
) -> Result<AppState, StartError> {
    create_layout(&config)?;
    let data = config.data_dir.clone();

    // The key comes first: TREK's fallback to `.jwt_secret` exists for installs that predate
    // the key file, and on a fresh install that file must not exist yet, or the encryption key
    // would silently be the session signing secret.
    let resolved = resolve_encryption_key(config.encryption_key.as_deref(), &data, &mut OsRng)
        .map_err(io_err("cannot resolve ENCRYPTION_KEY", &data))?;
    log_key_source(resolved.source);
    if let Some(e) = &resolved.persist_error {
        tracing::warn!(error = %e, "could not persist the encryption key; set ENCRYPTION_KEY");
    }

    let secret_file = SecretFile::in_dir(&data);
    let (signing, origin) = secret_file.load_or_create(&mut OsRng).map_err(io_err(
        "cannot read or create the JWT secret",
        secret_file.path(),
    ))?;
    match origin {
        SecretOrigin::Loaded => {}
        SecretOrigin::Generated => {
            tracing::info!(path = %secret_file.path().display(), "generated JWT secret")
        }
        SecretOrigin::ReplacedEmpty => {
            tracing::warn!("the JWT secret file was empty; a new secret was written")
        }
    }

    for key_file in [
        data.join(trek_lib::secrets::KEY_FILE),
        secret_file.path().to_path_buf(),
    ] {
        match trek_lib::keyfile::ensure_private(&key_file) {
            Ok(true) => {
                tracing::warn!(path = %key_file.display(), "key file was readable by others; now 0600")
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(path = %key_file.display(), error = %e, "cannot make key file private")
            }
        }
    }
    let store = Store::open(&data.join("travel.db")).await?;
    let hasher = Hasher::new(config.hash_params);
    let passwords = PasswordService::new(hasher, config.hash_concurrency)
        .map_err(|e| StartError::Other(format!("password hashing unavailable: {e}")))?;
    let limits = MemoryLimits::new().map_err(|e| StartError::Other(e.to_string()))?;

    let state = AppState::new(Inner {
        secrets: SecretBox::new(&resolved.key),
        signing: SigningKeys::new(signing, secret_file),
        store,
        clock,
        passwords,
        limits: Arc::new(limits),
        config,
    });
    Ok(state)
}

fn log_key_source(source: KeySource) {
    match source {
        KeySource::Environment => tracing::info!("encryption key from ENCRYPTION_KEY"),
        KeySource::KeyFile => tracing::info!("encryption key from data/.encryption_key"),
        KeySource::JwtSecretFile => tracing::warn!(
            "encryption key taken from data/.jwt_secret (upgrade path) and saved to \
             data/.encryption_key; set ENCRYPTION_KEY to make it explicit"
        ),
        KeySource::Generated => {
            tracing::info!("generated a new encryption key in data/.encryption_key")
        }
    }
}

/// Creates the first admin when there are no accounts (decision 14).
async fn seed_first_admin(state: &AppState) -> Result<(), StartError> {
    if state.store.count_users().await? > 0 {
        return Ok(());
    }
    let config = &state.config;
    if config.oidc_only_env && config.oidc_env_configured {
        println!("OIDC-only mode: the first SSO login becomes the admin.");
        return Ok(());
    }
    if config.admin_password.is_some() && config.admin_email.is_none() {
        // TREK uses the pair or neither; say so rather than silently generate a password.
        tracing::warn!("ADMIN_PASSWORD is ignored unless ADMIN_EMAIL is set too");
        println!("ADMIN_PASSWORD is ignored unless ADMIN_EMAIL is set too; generating a password.");
    }
    let email = config
        .admin_email
        .clone()
        .unwrap_or_else(|| "admin@trek.local".to_owned());
    let (password, generated) = match (&config.admin_email, &config.admin_password) {
        (Some(_), Some(p)) => {
            check_policy(p).map_err(|v| StartError::WeakAdminPassword(v.to_string()))?;
            (p.clone(), false)
        }
        _ => (generate_password(), true),
    };
    let hash = state
        .passwords
        .hash(&password)
        .await
        .map_err(|e| StartError::Other(e.to_string()))?;
    let now = state.now_db();
    let user = NewUser {
        username: "admin",
        email: &email,
        password_hash: &hash,
        force_admin: true,
        must_change_password: true,
        version: &config.app_version,
        now: &now,
    };
    state
        .store
        .create_user(user, None)
        .await
        .map_err(|e| StartError::Other(e.to_string()))?;
    print_first_run(&email, generated.then_some(password.as_str()));
    tracing::info!(email = %email, "first admin account created");
    Ok(())
}

/// A random password that passes the policy: 16 characters of base64url, drawn again until
/// every character class is present.
fn generate_password() -> String {
    use base64::Engine as _;
    loop {
        let bytes: [u8; 12] = OsRng.r#gen();
        let candidate = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        if check_policy(&candidate).is_ok() {
            return candidate;
        }
    }
}

/// Stdout only: the log file never sees the password.
fn print_first_run(email: &str, generated_password: Option<&str>) {
    let rule = "─".repeat(52);
    println!("┌{rule}┐");
    println!("  trek — first run: admin account created");
    println!("  Email:    {email}");
    match generated_password {
        Some(p) => println!("  Password: {p}"),
        None => println!("  Password: (the one given in ADMIN_PASSWORD)"),
    }
    println!("  Change it at first login; nothing else works until you do.");
    println!("└{rule}┘");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_pass_the_policy_and_differ() {
        let a = generate_password();
        assert!(check_policy(&a).is_ok());
        assert_eq!(a.chars().count(), 16);
        assert_ne!(a, generate_password());
    }
}
