//! Verified sessions kept in memory, so an authenticated request does not wait on a database
//! round trip (each one is a hand-off to SQLite's worker thread and back, which profiling
//! showed to dominate `GET /api/auth/me`).
//!
//! Correctness rests on one rule: every store method that changes a user row or ends a
//! session calls [`SessionCache::invalidate`] after its write commits, and before the request
//! that made it answers. So a password change, role change, MFA change, logout or deletion
//! takes effect on the very next request. A lookup that raced with a write never stores its
//! (possibly stale) row: entries are only inserted if no invalidation happened since the
//! lookup began.
//!
//! Known shortcut: the cache is per process. Several instances on one database would each
//! miss the others' writes; they need the invalidation carried through the shared store
//! (PostgreSQL `LISTEN`/`NOTIFY`, or a generation counter read per request) before this may
//! be turned on for them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::store::UserRow;

/// Entries kept at most; past that the cache starts over, which bounds memory at a few MB.
pub const MAX_ENTRIES: usize = 10_000;

/// Session lookups by token hash.
#[derive(Debug, Default)]
pub struct SessionCache {
    generation: AtomicU64,
    entries: Mutex<HashMap<String, Arc<UserRow>>>,
}

impl SessionCache {
    /// The row cached for this token and account, if any.
    pub fn get(&self, token_hash: &str, user_id: i64) -> Option<Arc<UserRow>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(token_hash)
            .filter(|row| row.id == user_id)
            .cloned()
    }

    /// The generation to hand back to [`SessionCache::insert`] after a database lookup.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Caches a row looked up at `generation`, unless a write invalidated the cache since.
    pub fn insert(&self, generation: u64, token_hash: &str, row: Arc<UserRow>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(token_hash.to_owned(), row);
    }

    /// Forgets everything: called after every write that can change a session's outcome.
    pub fn invalidate(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.clear();
    }
}
