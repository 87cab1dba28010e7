//! Password hashing on a bounded pool of dedicated threads (decision 4).
//!
//! Argon2id takes tens of milliseconds of one core by design. Run on the async reactor, a burst
//! of logins would stall every other request; run unbounded, it would take every core. So
//! `concurrency` long-lived threads do all password work, jobs wait in a queue of bounded
//! length, and beyond that the server answers 503. Each thread keeps one Argon2 workspace, so
//! memory stays at `concurrency` × 19 MiB however many logins arrive (fresh 19 MiB allocations
//! per hash made the allocator hoard hundreds of megabytes).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock};

use trek_lib::password::{HashError, Hasher, Workspace};

/// How many jobs may wait for a thread before new ones are refused.
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
    /// The hashing thread failed.
    #[error("password hashing task failed")]
    Task,
}

type Job = Box<dyn FnOnce(&Hasher, &mut Workspace) + Send>;

/// Hashes and verifies passwords off the reactor.
#[derive(Debug, Clone)]
pub struct PasswordService {
    hasher: Hasher,
    queue: SyncSender<Job>,
    decoy: Arc<str>,
    legacy_decoy: Arc<OnceLock<String>>,
    work: Arc<Work>,
}

#[derive(Debug, Default)]
struct Work {
    argon2: AtomicU64,
    bcrypt: AtomicU64,
}

fn worker(hasher: Hasher, jobs: Arc<Mutex<Receiver<Job>>>) {
    let mut workspace = Workspace::new();
    loop {
        let job = match jobs.lock().unwrap_or_else(|p| p.into_inner()).recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        // A panicking job drops its reply channel (the caller sees `Task`); the thread lives on.
        let _ = catch_unwind(AssertUnwindSafe(|| job(&hasher, &mut workspace)));
    }
}

impl PasswordService {
    /// Starts `concurrency` hashing threads and computes the decoy hash on one of them.
    ///
    /// # Errors
    ///
    /// A thread could not be started, or computing the decoy hash failed.
    pub fn new(hasher: Hasher, concurrency: usize) -> Result<Self, HashError> {
        let (queue, jobs) = sync_channel::<Job>(MAX_QUEUED);
        let jobs = Arc::new(Mutex::new(jobs));
        for i in 0..concurrency.max(1) {
            let (hasher, jobs) = (hasher.clone(), jobs.clone());
            std::thread::Builder::new()
                .name(format!("trek-hash-{i}"))
                .spawn(move || worker(hasher, jobs))
                .map_err(|_| HashError::HashingFailed)?;
        }
        let (reply, answer) = std::sync::mpsc::channel();
        let job: Job = Box::new(move |h, ws| {
            let mut bytes = [0u8; 24];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut bytes);
            let _ = reply.send(h.hash_in(ws, &hex::encode(bytes), &mut rand::rngs::OsRng));
        });
        queue.send(job).map_err(|_| HashError::HashingFailed)?;
        let decoy = answer.recv().map_err(|_| HashError::HashingFailed)??;
        Ok(Self {
            hasher,
            queue,
            decoy: decoy.into(),
            legacy_decoy: Arc::new(OnceLock::new()),
            work: Arc::default(),
        })
    }

    /// Runs password-grade work (a hash or a verification) on a hashing thread.
    ///
    /// # Errors
    ///
    /// [`HashJobError::Busy`] when the queue is full, [`HashJobError::Task`] if the job
    /// panicked, or what `job` returns.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Hasher, &mut Workspace) -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashJobError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let boxed: Job = Box::new(move |h, ws| {
            let _ = reply.send(job(h, ws));
        });
        self.queue.try_send(boxed).map_err(|e| match e {
            TrySendError::Full(_) => HashJobError::Busy,
            TrySendError::Disconnected(_) => HashJobError::Task,
        })?;
        Ok(answer.await.map_err(|_| HashJobError::Task)??)
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
        self.run(move |h, ws| h.hash_in(ws, &password, &mut rand::rngs::OsRng))
            .await
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
        self.run(move |h, ws| {
            let legacy = Hasher::is_legacy(&stored);
            let matched = h.verify_in(ws, &password, &stored)? && known;
            decoys.count(legacy);
            if legacy_present {
                let other = if legacy {
                    decoys.decoy.to_string()
                } else {
                    decoys.legacy_decoy(h)?
                };
                let _ = h.verify_in(ws, &password, &other);
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
