//! Password hashing on a bounded blocking pool (decision 4).
//!
//! Argon2id takes tens of milliseconds of one core by design. Run on the async reactor, a burst
//! of logins would stall every other request; run unbounded on blocking threads, it would take
//! every core. So at most `concurrency` hashes run at once on tokio's blocking threads, the
//! rest wait their turn in a queue of bounded length, and beyond that the server answers 503.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::sync::Semaphore;
use trek_lib::password::{HashError, Hasher};

/// How many hash requests may wait for a slot before new ones are refused.
pub const MAX_QUEUED: usize = 1024;

/// Why a hashing job did not produce an answer.
#[derive(Debug, thiserror::Error)]
pub enum HashJobError {
    /// The queue is full: the server is saturated with password work.
    #[error("password hashing queue is full")]
    Busy,
    /// The stored hash could not be read, or hashing failed.
    #[error(transparent)]
    Hash(#[from] HashError),
    /// The blocking task died.
    #[error("password hashing task failed")]
    Task,
}

/// Hashes and verifies passwords off the reactor.
#[derive(Debug, Clone)]
pub struct PasswordService {
    hasher: Hasher,
    slots: Arc<Semaphore>,
    queue: Arc<Semaphore>,
    decoy: Arc<str>,
    legacy_decoy: Arc<OnceLock<String>>,
    work: Arc<Work>,
}

#[derive(Debug, Default)]
struct Work {
    argon2: AtomicU64,
    bcrypt: AtomicU64,
}

impl PasswordService {
    /// A service running at most `concurrency` hashes at once.
    ///
    /// # Errors
    ///
    /// Computing the decoy hash failed.
    pub fn new(hasher: Hasher, concurrency: usize) -> Result<Self, HashError> {
        let decoy = hasher.decoy_hash()?;
        Ok(Self {
            hasher,
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
            queue: Arc::new(Semaphore::new(MAX_QUEUED + concurrency.max(1))),
            decoy: decoy.into(),
            legacy_decoy: Arc::new(OnceLock::new()),
            work: Arc::default(),
        })
    }

    /// Runs password-grade work (a hash or a verification) on the pool.
    ///
    /// # Errors
    ///
    /// [`HashJobError::Busy`] when saturated, or what `job` returns.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Hasher) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashJobError> {
        let _queued = self
            .queue
            .clone()
            .try_acquire_owned()
            .map_err(|_| HashJobError::Busy)?;
        let _slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| HashJobError::Task)?;
        let hasher = self.hasher.clone();
        let result = tokio::task::spawn_blocking(move || job(&hasher))
            .await
            .map_err(|_| HashJobError::Task)?;
        Ok(result?)
    }

    /// The hasher the pool runs.
    pub fn hasher(&self) -> &Hasher {
        &self.hasher
    }

    /// Hashes a new password with Argon2id.
    ///
    /// # Errors
    ///
    /// [`HashJobError::Busy`] when saturated, otherwise a hashing failure.
    pub async fn hash(&self, password: &str) -> Result<String, HashJobError> {
        let password = zeroize::Zeroizing::new(password.to_owned());
        self.run(move |h| h.hash(&password)).await
    }

    /// Verifies `password` against `stored`; with `stored` absent (unknown account) verifies
    /// against a decoy hash so the work, and so the time, is the same (decision 5).
    /// Returns whether it matched and whether the stored hash should be upgraded.
    ///
    /// `legacy_present` says the install still holds bcrypt hashes. Then every call does one
    /// Argon2id and one bcrypt verification, real or decoy: otherwise a bcrypt account (about
    /// 300 ms) would stand out from an unknown e-mail (an Argon2id decoy, about 40 ms).
    ///
    /// # Errors
    ///
    /// [`HashJobError::Busy`] when saturated, or the stored hash cannot be read.
    pub async fn verify(
        &self,
        password: &str,
        stored: Option<&str>,
        legacy_present: bool,
    ) -> Result<(bool, bool), HashJobError> {
        let password = zeroize::Zeroizing::new(password.to_owned());
        let known = stored.is_some();
        let stored: Arc<str> = stored.map_or_else(|| self.decoy.clone(), Arc::from);
        let decoys = self.clone();
        self.run(move |h| {
            let legacy = Hasher::is_legacy(&stored);
            let matched = h.verify(&password, &stored)? && known;
            decoys.count(legacy);
            if legacy_present {
                let other = if legacy {
                    decoys.decoy.to_string()
                } else {
                    decoys.legacy_decoy(h)?
                };
                let _ = h.verify(&password, &other);
                decoys.count(!legacy);
            }
            Ok((matched, matched && h.needs_rehash(&stored)))
        })
        .await
    }

    fn legacy_decoy(&self, hasher: &Hasher) -> Result<String, HashError> {
        if let Some(hash) = self.legacy_decoy.get() {
            return Ok(hash.clone());
        }
        let hash = hasher.legacy_decoy_hash()?;
        Ok(self.legacy_decoy.get_or_init(|| hash).clone())
    }

    fn count(&self, legacy: bool) {
        let counter = if legacy {
            &self.work.bcrypt
        } else {
            &self.work.argon2
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Verifications done so far, `(argon2id, bcrypt)`, real and decoy alike: tests compare
    /// the work of login paths with these instead of with a stopwatch.
    pub fn verifications(&self) -> (u64, u64) {
        (
            self.work.argon2.load(Ordering::Relaxed),
            self.work.bcrypt.load(Ordering::Relaxed),
        )
    }
}
