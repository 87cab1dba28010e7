//! What every request handler shares.

use std::sync::{Arc, RwLock};

use trek_lib::clock::Clock;
use trek_lib::secrets::SecretBox;
use trek_lib::session::{SecretFile, SigningSecret};

use crate::config::Config;
use crate::hashing::PasswordService;
use crate::limits::RateLimits;
use crate::store::Store;

/// The server's shared state. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// The contents of [`AppState`].
pub struct Inner {
    /// Start-up configuration.
    pub config: Config,
    /// The database.
    pub store: Store,
    /// Time, injected so tests can move it.
    pub clock: Arc<dyn Clock>,
    /// Seals and opens secrets at rest.
    pub secrets: SecretBox,
    /// Password hashing off the reactor.
    pub passwords: PasswordService,
    /// Rate-limit counters.
    pub limits: Arc<dyn RateLimits>,
    /// The session signing secret and its file.
    pub signing: SigningKeys,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Wraps the parts.
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    /// Now as TREK's database writes it: `YYYY-MM-DD HH:MM:SS` UTC.
    pub fn now_db(&self) -> String {
        format_db_time(self.clock.now_secs())
    }

    /// Now in whole seconds since the epoch.
    pub fn now_secs(&self) -> i64 {
        self.clock.now_secs()
    }

    /// Now in milliseconds, for rate-limit windows.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.now_ms()).unwrap_or(0)
    }
}

/// Formats seconds since the epoch as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn format_db_time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// The session signing secret, swappable at run time by rotation.
///
/// Known shortcut: the secret lives in `data/.jwt_secret` and this process's memory, so a
/// rotation on one instance reaches others only when they restart. Several instances on one
/// database need the secret (or a key id and a short list of keys) kept in the shared store.
pub struct SigningKeys {
    current: RwLock<SigningSecret>,
    file: SecretFile,
}

impl SigningKeys {
    /// Keys starting from `secret`, persisted to `file`.
    pub fn new(secret: SigningSecret, file: SecretFile) -> Self {
        Self {
            current: RwLock::new(secret),
            file,
        }
    }

    /// The secret tokens are signed and verified with now.
    pub fn current(&self) -> SigningSecret {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Writes a new secret and switches to it; every existing token dies.
    ///
    /// # Errors
    ///
    /// The file could not be written; the old secret then stays in use.
    pub fn rotate(&self) -> std::io::Result<()> {
        let fresh = self.file.rotate(&mut rand::rngs::OsRng)?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        Ok(())
    }
}
