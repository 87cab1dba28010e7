//! Fixed-window rate limiting with the same semantics as TREK's limiter.
//!
//! Each key (a client address, an account name, ...) has a window that opens
//! at its first counted request and lasts `window_ms`. The first `max`
//! requests of a window pass; later ones are refused, and not counted, until
//! `window_start + window_ms`. The first request after that opens a new
//! window.
//!
//! Time is whatever the caller passes as `now_ms`: milliseconds on any
//! monotonic scale. The limiter never reads a clock, which keeps it
//! deterministic and testable.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Upper bound on shards: enough that a handful of busy threads rarely meet
/// on the same lock, few enough that the per-shard capacity stays large.
const MAX_SHARDS: usize = 16;

/// Fewest keys a shard should hold. Eviction picks the oldest window of one
/// shard, so tiny shards would make that choice too local to be meaningful.
const MIN_KEYS_PER_SHARD: usize = 64;

/// Bits of the key hash that pick the shard. The low bits index the buckets
/// of the shard's table and the top seven are its tag bits; reusing either
/// would crowd each shard's keys into a fraction of its table.
const SHARD_SHIFT: u32 = 32;

/// Why a limiter could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// `max` was zero, which would refuse every request.
    #[error("rate limit max is 0: allow at least 1 request per window")]
    ZeroMax,
    /// `window_ms` was zero, which would never limit anything.
    #[error("rate limit window is 0 ms: use a window of at least 1 ms")]
    ZeroWindow,
    /// `capacity` was zero, so no key could ever be tracked.
    #[error("rate limiter capacity is 0: track at least 1 key")]
    ZeroCapacity,
}

/// The outcome of [`RateLimiter::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// The request was counted and may proceed.
    Allowed {
        /// How many more requests this window allows.
        remaining: u32,
    },
    /// The request was refused and not counted.
    Limited {
        /// Milliseconds until the window ends (at least 1), suitable for a
        /// `Retry-After` header once rounded up to seconds.
        retry_after_ms: u64,
    },
}

impl Decision {
    /// Whether the request may proceed.
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        matches!(self, Self::Allowed { .. })
    }
}

/// A thread-safe fixed-window rate limiter with bounded memory.
///
/// Share one limiter between threads behind an [`Arc`](std::sync::Arc); all
/// methods take `&self`. Counts are exact under concurrency because each key
/// is only ever updated under its shard's lock.
///
/// # Memory
///
/// At most `capacity` keys are tracked, however many distinct keys arrive.
/// Keys are not stored: each is reduced to a 64-bit hash keyed randomly per
/// limiter (std's `RandomState`, a `SipHash` today), so an attacker cannot
/// choose keys that collide. Two real keys sharing a hash would share a
/// counter; among 100 000 keys the chance of any such pair is about 3 in 10
/// billion. The footprint of one tracked key is:
///
/// - hash table slot: 8-byte key + 16-byte record + 1 control byte = 25
///   bytes, divided by the table's load (7/8 when full, 7/16 right after it
///   doubles): 29 to 57 bytes;
/// - window-order index: a 16-byte `(window_start, key)` pair in B-tree
///   leaves of 192 bytes holding 5 to 11 pairs, plus the internal nodes
///   above them: about 20 to 50 bytes.
///
/// That is 49 to 107 bytes per key, under the 128-byte budget (a million
/// keys measured 70 to 90 bytes each in resident memory), so the default
/// capacity costs at most about 11 MB.
///
/// # Eviction
///
/// When a new key arrives and its shard is full, records whose window has
/// elapsed are dropped first: forgetting them changes nothing, because their
/// next request would open a new window anyway. If the shard is still full,
/// the record with the oldest window start is evicted. Under a flood of fresh
/// addresses we prefer forgetting the oldest window over refusing newcomers
/// (which would let the flood lock everyone out) or growing without bound
/// (which would let it exhaust memory); the oldest window is also the one
/// closest to ending by itself. The choice is made per shard, and keys are
/// spread over shards by the keyed hash, so an attacker cannot aim a flood
/// at one key's shard.
///
/// # Example
///
/// ```
/// use trek_lib::ratelimit::{Decision, RateLimiter};
///
/// // Five login attempts per address per 15 minutes.
/// let limiter = RateLimiter::new(5, 15 * 60 * 1000)?;
/// let now_ms = 1_000;
/// for _ in 0..5 {
///     assert!(limiter.check("203.0.113.7", now_ms).is_allowed());
/// }
/// assert_eq!(
///     limiter.check("203.0.113.7", now_ms + 10),
///     Decision::Limited { retry_after_ms: 15 * 60 * 1000 - 10 },
/// );
/// // Once the window has passed, the address starts afresh.
/// assert!(limiter.check("203.0.113.7", now_ms + 15 * 60 * 1000).is_allowed());
/// # Ok::<(), trek_lib::ratelimit::RateLimitError>(())
/// ```
pub struct RateLimiter {
    limits: Limits,
    capacity: usize,
    hasher: RandomState,
    shards: Box<[ShardSlot]>,
}

impl RateLimiter {
    /// How many keys [`RateLimiter::new`] tracks at most.
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A limiter allowing `max` requests per `window_ms` for each key,
    /// tracking at most [`Self::DEFAULT_CAPACITY`] keys.
    ///
    /// # Errors
    ///
    /// [`RateLimitError::ZeroMax`] if `max` is 0 and
    /// [`RateLimitError::ZeroWindow`] if `window_ms` is 0.
    pub fn new(max: u32, window_ms: u64) -> Result<Self, RateLimitError> {
        Self::with_capacity(max, window_ms, Self::DEFAULT_CAPACITY)
    }

    /// A limiter allowing `max` requests per `window_ms` for each key,
    /// tracking at most `capacity` keys.
    ///
    /// # Errors
    ///
    /// [`RateLimitError::ZeroMax`] if `max` is 0,
    /// [`RateLimitError::ZeroWindow`] if `window_ms` is 0 and
    /// [`RateLimitError::ZeroCapacity`] if `capacity` is 0.
    pub fn with_capacity(
        max: u32,
        window_ms: u64,
        capacity: usize,
    ) -> Result<Self, RateLimitError> {
        if max == 0 {
            return Err(RateLimitError::ZeroMax);
        }
        if window_ms == 0 {
            return Err(RateLimitError::ZeroWindow);
        }
        if capacity == 0 {
            return Err(RateLimitError::ZeroCapacity);
        }
        Ok(Self {
            limits: Limits { max, window_ms },
            capacity,
            hasher: RandomState::new(),
            shards: build_shards(capacity),
        })
    }

    /// Requests allowed per window.
    #[must_use]
    pub fn max(&self) -> u32 {
        self.limits.max
    }

    /// Length of a window in milliseconds.
    #[must_use]
    pub fn window_ms(&self) -> u64 {
        self.limits.window_ms
    }

    /// Most keys tracked at once.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Counts a request for `key` at `now_ms` and decides whether it may
    /// proceed. A refused request is not counted.
    #[must_use = "a refused request must be rejected; use `record` to count without deciding"]
    pub fn check(&self, key: &str, now_ms: u64) -> Decision {
        let (mut shard, hash) = self.shard_for(key);
        shard.check(hash, now_ms, self.limits)
    }

    /// `Some(retry_after_ms)` if `key` is limited at `now_ms`, without
    /// counting anything.
    #[must_use]
    pub fn limited(&self, key: &str, now_ms: u64) -> Option<u64> {
        let (shard, hash) = self.shard_for(key);
        shard.limited(hash, now_ms, self.limits)
    }

    /// Counts an attempt for `key` at `now_ms` without deciding anything.
    ///
    /// For counting something after the fact. To limit failures of a slow check (failed
    /// logins per account), prefer [`Self::check`] before the check and [`Self::refund`] on
    /// success: checking [`Self::limited`] first and recording failures afterwards lets every
    /// request that arrives while the first ones are still running slip through.
    pub fn record(&self, key: &str, now_ms: u64) {
        let (mut shard, hash) = self.shard_for(key);
        // The decision is irrelevant here: the caller asked `limited` already.
        let _ = shard.check(hash, now_ms, self.limits);
    }

    /// Takes back one attempt counted in the current window, for an attempt that turned out
    /// legitimate: count every try up front (so parallel requests cannot all slip under the
    /// limit while the slow check runs), then refund the ones that succeed. Nothing happens
    /// when the window has ended or nothing was counted.
    pub fn refund(&self, key: &str, now_ms: u64) {
        let (mut shard, hash) = self.shard_for(key);
        shard.refund(hash, now_ms, self.limits);
    }

    /// Forgets everything about `key`, e.g. after a successful login.
    pub fn reset(&self, key: &str) {
        let (mut shard, hash) = self.shard_for(key);
        shard.remove(hash);
    }

    /// How many keys are tracked, including ones whose window has elapsed
    /// but which have not been dropped yet.
    #[must_use]
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|slot| lock(slot).entries.len())
            .sum()
    }

    /// Whether no key is tracked.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|slot| lock(slot).entries.is_empty())
    }

    fn shard_for(&self, key: &str) -> (MutexGuard<'_, Shard>, u64) {
        let hash = self.hasher.hash_one(key);
        // The shard count is a power of two, so the mask keeps the index in range.
        let index = (hash >> SHARD_SHIFT) as usize & (self.shards.len() - 1);
        (lock(&self.shards[index]), hash)
    }
}

impl fmt::Debug for RateLimiter {
    // Deliberately without the records: they are only hashes, and locking
    // every shard to print them would stall the limiter.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("max", &self.limits.max)
            .field("window_ms", &self.limits.window_ms)
            .field("capacity", &self.capacity)
            .field("shards", &self.shards.len())
            .finish_non_exhaustive()
    }
}

/// Locks a shard even if a thread panicked while holding it: every update
/// leaves the shard consistent before anything can panic, so its data stays
/// valid and refusing to rate-limit would be the worse outcome.
fn lock(slot: &ShardSlot) -> MutexGuard<'_, Shard> {
    slot.0.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Shards sized so that their capacities add up to exactly `capacity`.
fn build_shards(capacity: usize) -> Box<[ShardSlot]> {
    let count = shard_count(capacity);
    (0..count)
        .map(|index| {
            let share = capacity / count + usize::from(index < capacity % count);
            ShardSlot(Mutex::new(Shard::new(share)))
        })
        .collect()
}

/// A power of two, so a shard can be picked with a mask.
fn shard_count(capacity: usize) -> usize {
    let wanted = (capacity / MIN_KEYS_PER_SHARD).clamp(1, MAX_SHARDS);
    1 << wanted.ilog2()
}

/// The limiter's settings, copied into each shard operation.
#[derive(Debug, Clone, Copy)]
struct Limits {
    max: u32,
    window_ms: u64,
}

impl Limits {
    fn window_end(self, entry: Entry) -> u64 {
        entry.window_start.saturating_add(self.window_ms)
    }

    fn elapsed(self, entry: Entry, now_ms: u64) -> bool {
        now_ms >= self.window_end(entry)
    }

    fn retry_after(self, entry: Entry, now_ms: u64) -> u64 {
        self.window_end(entry).saturating_sub(now_ms).max(1)
    }
}

/// One key's window: 16 bytes.
#[derive(Debug, Clone, Copy)]
struct Entry {
    window_start: u64,
    count: u32,
}

/// Keeps each shard on its own cache line, so that threads working on
/// different shards do not slow each other down through false sharing.
#[repr(align(64))]
struct ShardSlot(Mutex<Shard>);

struct Shard {
    entries: HashMap<u64, Entry, BuildHasherDefault<PrehashedKey>>,
    /// `(window_start, key)` of every entry, so that expired records and the
    /// oldest window are found without scanning the table.
    by_start: BTreeSet<(u64, u64)>,
    capacity: usize,
}

impl Shard {
    fn new(capacity: usize) -> Self {
        Self {
            entries: HashMap::default(),
            by_start: BTreeSet::new(),
            capacity,
        }
    }

    fn check(&mut self, key: u64, now_ms: u64, limits: Limits) -> Decision {
        let Some(entry) = self.entries.get(&key).copied() else {
            self.make_room(now_ms, limits);
            self.open_window(key, now_ms);
            return Decision::Allowed {
                remaining: limits.max - 1,
            };
        };
        if limits.elapsed(entry, now_ms) {
            self.by_start.remove(&(entry.window_start, key));
            self.open_window(key, now_ms);
            return Decision::Allowed {
                remaining: limits.max - 1,
            };
        }
        if entry.count >= limits.max {
            return Decision::Limited {
                retry_after_ms: limits.retry_after(entry, now_ms),
            };
        }
        let count = entry.count + 1;
        self.entries.insert(key, Entry { count, ..entry });
        Decision::Allowed {
            remaining: limits.max - count,
        }
    }

    fn limited(&self, key: u64, now_ms: u64, limits: Limits) -> Option<u64> {
        let entry = *self.entries.get(&key)?;
        let refusing = entry.count >= limits.max && !limits.elapsed(entry, now_ms);
        refusing.then(|| limits.retry_after(entry, now_ms))
    }

    fn refund(&mut self, key: u64, now_ms: u64, limits: Limits) {
        let Some(entry) = self.entries.get(&key).copied() else {
            return;
        };
        if !limits.elapsed(entry, now_ms) && entry.count > 0 {
            let count = entry.count - 1;
            self.entries.insert(key, Entry { count, ..entry });
        }
    }

    fn open_window(&mut self, key: u64, now_ms: u64) {
        let entry = Entry {
            window_start: now_ms,
            count: 1,
        };
        self.entries.insert(key, entry);
        self.by_start.insert((now_ms, key));
    }

    fn remove(&mut self, key: u64) {
        if let Some(entry) = self.entries.remove(&key) {
            self.by_start.remove(&(entry.window_start, key));
        }
    }

    fn make_room(&mut self, now_ms: u64, limits: Limits) {
        if self.entries.len() < self.capacity {
            return;
        }
        self.drop_expired(now_ms, limits);
        if self.entries.len() >= self.capacity {
            self.evict_oldest();
        }
    }

    /// Expired records form a prefix of `by_start`, since a window's end
    /// grows with its start.
    fn drop_expired(&mut self, now_ms: u64, limits: Limits) {
        while let Some(&(window_start, key)) = self.by_start.first() {
            if window_start.saturating_add(limits.window_ms) > now_ms {
                break;
            }
            self.by_start.pop_first();
            self.entries.remove(&key);
        }
    }

    fn evict_oldest(&mut self) {
        if let Some((_, key)) = self.by_start.pop_first() {
            self.entries.remove(&key);
        }
    }
}

/// Uses the map key as its own hash: keys already are outputs of a keyed hash,
/// so hashing them again would only cost time.
#[derive(Default)]
struct PrehashedKey(u64);

impl Hasher for PrehashedKey {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }

    // Only `u64` keys reach this hasher; this keeps it correct for any other.
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap as StdHashMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::thread;

    #[test]
    fn a_refund_gives_back_one_attempt_in_the_current_window_only() {
        let limiter = RateLimiter::new(2, 1_000).expect("limiter");
        assert!(limiter.check("k", 0).is_allowed());
        assert!(limiter.check("k", 1).is_allowed());
        assert!(!limiter.check("k", 2).is_allowed());
        limiter.refund("k", 3);
        assert!(limiter.check("k", 4).is_allowed());
        assert!(!limiter.check("k", 5).is_allowed());
        limiter.refund("unknown", 5);
        assert!(limiter.check("unknown", 6).is_allowed());
        limiter.refund("k", 2_000);
        assert!(
            limiter.check("k", 2_001).is_allowed(),
            "a new window starts fresh"
        );
    }

    #[test]
    fn counting_up_front_bounds_parallel_attempts_exactly() {
        let limiter = std::sync::Arc::new(RateLimiter::new(10, 60_000).expect("limiter"));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let limiter = limiter.clone();
                std::thread::spawn(move || {
                    (0..50)
                        .filter(|_| limiter.check("acct", 1).is_allowed())
                        .count()
                })
            })
            .collect();
        let allowed: usize = threads.into_iter().map(|t| t.join().expect("thread")).sum();
        assert_eq!(allowed, 10);
    }

    const WINDOW: u64 = 60_000;

    fn limiter(max: u32) -> RateLimiter {
        RateLimiter::new(max, WINDOW).expect("valid limits")
    }

    fn small(max: u32, capacity: usize) -> RateLimiter {
        RateLimiter::with_capacity(max, WINDOW, capacity).expect("valid limits")
    }

    #[test]
    fn zero_max_is_rejected() {
        assert_eq!(
            RateLimiter::new(0, WINDOW).err(),
            Some(RateLimitError::ZeroMax)
        );
    }

    #[test]
    fn zero_window_is_rejected() {
        assert_eq!(
            RateLimiter::new(5, 0).err(),
            Some(RateLimitError::ZeroWindow)
        );
    }

    #[test]
    fn zero_capacity_is_rejected() {
        assert_eq!(
            RateLimiter::with_capacity(5, WINDOW, 0).err(),
            Some(RateLimitError::ZeroCapacity)
        );
    }

    #[test]
    fn error_messages_are_lowercase_and_say_what_to_use() {
        for error in [
            RateLimitError::ZeroMax,
            RateLimitError::ZeroWindow,
            RateLimitError::ZeroCapacity,
        ] {
            let message = error.to_string();
            assert!(message.starts_with(char::is_lowercase), "{message}");
            assert!(message.contains("at least 1"), "{message}");
        }
    }

    #[test]
    fn new_uses_the_default_capacity_and_keeps_its_settings() {
        let limiter = limiter(5);
        assert_eq!(limiter.capacity(), RateLimiter::DEFAULT_CAPACITY);
        assert_eq!(limiter.max(), 5);
        assert_eq!(limiter.window_ms(), WINDOW);
    }

    #[test]
    fn the_first_max_requests_pass_and_the_next_is_refused() {
        let limiter = limiter(3);
        for remaining in [2, 1, 0] {
            assert_eq!(limiter.check("a", 0), Decision::Allowed { remaining });
        }
        assert!(!limiter.check("a", 0).is_allowed());
    }

    #[test]
    fn retry_after_is_the_time_left_in_the_window() {
        let limiter = limiter(1);
        let _ = limiter.check("a", 1_000);
        assert_eq!(
            limiter.check("a", 1_500),
            Decision::Limited {
                retry_after_ms: WINDOW - 500
            }
        );
    }

    #[test]
    fn a_key_is_allowed_again_exactly_at_the_window_end() {
        let limiter = limiter(1);
        let _ = limiter.check("a", 1_000);
        assert_eq!(
            limiter.check("a", 1_000 + WINDOW - 1),
            Decision::Limited { retry_after_ms: 1 }
        );
        assert_eq!(
            limiter.check("a", 1_000 + WINDOW),
            Decision::Allowed { remaining: 0 }
        );
    }

    #[test]
    fn the_window_starts_at_the_first_counted_request() {
        let limiter = limiter(2);
        let _ = limiter.check("a", 7_777);
        let _ = limiter.check("a", 7_777 + WINDOW - 1);
        assert_eq!(limiter.limited("a", 7_777 + WINDOW - 1), Some(1));
        assert_eq!(limiter.limited("a", 7_777 + WINDOW), None);
    }

    #[test]
    fn refused_requests_do_not_extend_or_fill_the_next_window() {
        let limiter = limiter(2);
        let _ = limiter.check("a", 0);
        let _ = limiter.check("a", 0);
        for now in 1..100 {
            assert!(!limiter.check("a", now).is_allowed());
        }
        assert_eq!(
            limiter.check("a", WINDOW),
            Decision::Allowed { remaining: 1 }
        );
    }

    #[test]
    fn keys_are_counted_independently() {
        let limiter = limiter(1);
        assert!(limiter.check("a", 0).is_allowed());
        assert!(limiter.check("b", 0).is_allowed());
        assert!(!limiter.check("a", 0).is_allowed());
    }

    #[test]
    fn limited_never_counts_the_attempt() {
        let limiter = limiter(2);
        for _ in 0..10 {
            assert_eq!(limiter.limited("a", 0), None);
        }
        assert!(limiter.is_empty());
        let _ = limiter.check("a", 0);
        assert_eq!(limiter.limited("a", 0), None);
        assert_eq!(limiter.check("a", 0), Decision::Allowed { remaining: 0 });
        assert_eq!(limiter.limited("a", 10), Some(WINDOW - 10));
    }

    #[test]
    fn recorded_failures_lead_to_a_limit() {
        let limiter = limiter(3);
        for now in 0..3 {
            assert_eq!(limiter.limited("alice", now), None);
            limiter.record("alice", now);
        }
        assert_eq!(limiter.limited("alice", 3), Some(WINDOW - 3));
        assert_eq!(limiter.limited("alice", WINDOW), None);
    }

    #[test]
    fn recording_after_the_window_opens_a_new_one() {
        let limiter = limiter(1);
        limiter.record("alice", 0);
        limiter.record("alice", WINDOW + 5);
        assert_eq!(limiter.limited("alice", WINDOW + 6), Some(WINDOW - 1));
    }

    #[test]
    fn reset_forgets_the_key() {
        let limiter = limiter(1);
        let _ = limiter.check("a", 0);
        limiter.reset("a");
        assert!(limiter.is_empty());
        assert!(limiter.check("a", 1).is_allowed());
    }

    #[test]
    fn resetting_an_unknown_key_changes_nothing() {
        let limiter = limiter(1);
        let _ = limiter.check("a", 0);
        limiter.reset("b");
        assert_eq!(limiter.len(), 1);
    }

    #[test]
    fn len_counts_tracked_keys() {
        let limiter = limiter(1);
        assert!(limiter.is_empty());
        for key in ["a", "b", "c", "a"] {
            let _ = limiter.check(key, 0);
        }
        assert_eq!(limiter.len(), 3);
        assert!(!limiter.is_empty());
    }

    #[test]
    fn a_full_limiter_drops_expired_records_before_evicting_live_ones() {
        let limiter = small(1, 3);
        let _ = limiter.check("old", 0);
        let _ = limiter.check("live1", WINDOW / 2);
        let _ = limiter.check("live2", WINDOW / 2);
        let _ = limiter.check("new", WINDOW);
        assert_eq!(limiter.len(), 3);
        assert!(limiter.limited("live1", WINDOW).is_some());
        assert!(limiter.limited("live2", WINDOW).is_some());
    }

    #[test]
    fn a_full_limiter_evicts_the_oldest_window_when_nothing_expired() {
        let limiter = small(1, 3);
        let _ = limiter.check("second", 20);
        let _ = limiter.check("oldest", 10);
        let _ = limiter.check("third", 30);
        let _ = limiter.check("new", 40);
        assert_eq!(limiter.len(), 3);
        assert_eq!(limiter.limited("oldest", 40), None);
        for key in ["second", "third", "new"] {
            assert!(limiter.limited(key, 40).is_some(), "{key} was evicted");
        }
    }

    #[test]
    fn a_restarted_window_counts_as_young_for_eviction() {
        let limiter = small(1, 2);
        let _ = limiter.check("a", 0);
        let _ = limiter.check("b", 10);
        let _ = limiter.check("a", WINDOW + 20);
        let _ = limiter.check("c", WINDOW + 20);
        assert!(limiter.limited("a", WINDOW + 20).is_some());
        assert_eq!(limiter.limited("b", WINDOW + 20), None);
    }

    #[test]
    fn a_flood_of_distinct_keys_never_exceeds_the_capacity() {
        let limiter = small(5, 1_000);
        for i in 0..20_000_u64 {
            let _ = limiter.check(&format!("10.0.{}.{}", i / 256, i % 256), i);
        }
        assert!(limiter.len() <= 1_000);
        assert!(limiter.len() > 900, "shards should fill up evenly");
    }

    #[test]
    fn shard_capacities_add_up_to_the_limiter_capacity() {
        for capacity in [1, 2, 63, 64, 127, 128, 1_000, 1_023, 100_000] {
            let shards = build_shards(capacity);
            assert!(shards.len().is_power_of_two());
            assert!(shards.len() <= MAX_SHARDS);
            let total: usize = shards.iter().map(|slot| lock(slot).capacity).sum();
            assert_eq!(total, capacity);
            assert!(shards.iter().all(|slot| lock(slot).capacity >= 1));
        }
    }

    #[test]
    fn a_clock_that_goes_back_does_not_underflow() {
        let limiter = limiter(1);
        let _ = limiter.check("a", 10_000);
        assert_eq!(
            limiter.check("a", 4_000),
            Decision::Limited {
                retry_after_ms: WINDOW + 6_000
            }
        );
    }

    #[test]
    fn a_window_ending_past_the_end_of_time_saturates() {
        let limiter = limiter(1);
        let _ = limiter.check("a", u64::MAX - 1);
        assert_eq!(limiter.limited("a", u64::MAX - 1), Some(1));
        assert!(limiter.check("a", u64::MAX).is_allowed());
    }

    #[test]
    fn a_poisoned_shard_keeps_limiting() {
        let limiter = Arc::new(small(1, 1));
        let _ = limiter.check("a", 0);
        let poisoner = Arc::clone(&limiter);
        let outcome = thread::spawn(move || {
            let _guard = lock(&poisoner.shards[0]);
            panic!("poison the shard");
        })
        .join();
        assert!(outcome.is_err());
        assert!(limiter.shards[0].0.is_poisoned());
        assert!(!limiter.check("a", 1).is_allowed());
    }

    #[test]
    fn the_limiter_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RateLimiter>();
        assert_send_sync::<Arc<RateLimiter>>();
    }

    #[test]
    fn concurrent_checks_on_one_key_allow_exactly_max() {
        const MAX: u32 = 1_000;
        let limiter = Arc::new(limiter(MAX));
        let allowed = Arc::new(AtomicU32::new(0));
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                let allowed = Arc::clone(&allowed);
                thread::spawn(move || {
                    for _ in 0..500 {
                        if limiter.check("hot", 42).is_allowed() {
                            allowed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("worker finished");
        }
        assert_eq!(allowed.load(Ordering::Relaxed), MAX);
    }

    #[test]
    fn concurrent_checks_on_many_keys_allow_exactly_max_each() {
        const MAX: u32 = 50;
        let limiter = Arc::new(limiter(MAX));
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let limiter = Arc::clone(&limiter);
                thread::spawn(move || {
                    let mut allowed = StdHashMap::new();
                    for round in 0..100 {
                        for key in 0..32 {
                            let key = format!("k{key}");
                            if limiter.check(&key, round).is_allowed() {
                                *allowed.entry(key).or_insert(0_u32) += 1;
                            }
                        }
                    }
                    allowed
                })
            })
            .collect();
        let mut totals: StdHashMap<String, u32> = StdHashMap::new();
        for worker in workers {
            for (key, count) in worker.join().expect("worker finished") {
                *totals.entry(key).or_insert(0) += count;
            }
        }
        assert_eq!(totals.len(), 32);
        assert!(totals.values().all(|&count| count == MAX), "{totals:?}");
    }

    #[test]
    fn debug_output_shows_settings_but_no_keys() {
        let limiter = limiter(5);
        let _ = limiter.check("secret-account", 0);
        let debug = format!("{limiter:?}");
        assert!(debug.contains("max: 5"), "{debug}");
        assert!(!debug.contains("secret-account"), "{debug}");
    }

    /// The semantics written out naively, with no capacity bound.
    #[derive(Default)]
    struct Model {
        windows: StdHashMap<u8, (u64, u32)>,
    }

    impl Model {
        fn limited(&self, key: u8, now: u64, max: u32) -> Option<u64> {
            let &(start, count) = self.windows.get(&key)?;
            (now < start + WINDOW && count >= max).then(|| start + WINDOW - now)
        }

        fn check(&mut self, key: u8, now: u64, max: u32) -> Decision {
            match self.windows.get_mut(&key) {
                Some((start, count)) if now < *start + WINDOW && *count >= max => {
                    Decision::Limited {
                        retry_after_ms: *start + WINDOW - now,
                    }
                }
                Some((start, count)) if now < *start + WINDOW => {
                    *count += 1;
                    Decision::Allowed {
                        remaining: max - *count,
                    }
                }
                _ => {
                    self.windows.insert(key, (now, 1));
                    Decision::Allowed { remaining: max - 1 }
                }
            }
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Check(u8),
        Limited(u8),
        Record(u8),
        Reset(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        let key = 0..4_u8;
        prop_oneof![
            4 => key.clone().prop_map(Op::Check),
            2 => key.clone().prop_map(Op::Limited),
            2 => key.clone().prop_map(Op::Record),
            1 => key.prop_map(Op::Reset),
        ]
    }

    proptest! {
        #[test]
        fn within_one_window_exactly_min_of_requests_and_max_pass(
            max in 1..20_u32,
            offsets in prop::collection::vec(0..WINDOW, 1..60),
        ) {
            let limiter = limiter(max);
            let start = 5_000;
            let _ = limiter.check("a", start);
            let mut passed = 1;
            let mut offsets = offsets;
            offsets.sort_unstable();
            for offset in &offsets {
                passed += u32::from(limiter.check("a", start + offset).is_allowed());
            }
            let requests = u32::try_from(offsets.len() + 1).expect("small");
            prop_assert_eq!(passed, requests.min(max));
        }

        #[test]
        fn a_limited_key_is_allowed_again_exactly_at_its_window_end(
            max in 1..10_u32,
            start in 0..1_000_000_u64,
            window in 1..1_000_000_u64,
            spread in 0..1_000_u64,
        ) {
            let limiter = RateLimiter::new(max, window).expect("valid limits");
            for i in 0..u64::from(max) {
                let _ = limiter.check("a", start + (i * spread).min(window - 1));
            }
            let end = start + window;
            prop_assert_eq!(limiter.limited("a", end - 1), Some(1));
            prop_assert!(!limiter.check("a", end - 1).is_allowed());
            prop_assert!(limiter.check("a", end).is_allowed());
        }

        #[test]
        fn the_number_of_tracked_keys_never_exceeds_the_capacity(
            capacity in 1..200_usize,
            requests in prop::collection::vec((0..1_000_u32, 0..WINDOW), 1..400),
        ) {
            let limiter = small(3, capacity);
            let mut now = 0;
            for (key, step) in requests {
                now += step / 10;
                let _ = limiter.check(&key.to_string(), now);
                prop_assert!(limiter.len() <= capacity);
            }
        }

        #[test]
        fn decisions_match_the_reference_semantics(
            max in 1..5_u32,
            ops in prop::collection::vec((op(), 0..WINDOW / 2), 1..200),
        ) {
            let limiter = limiter(max);
            let mut model = Model::default();
            let mut now = 0;
            for (op, step) in ops {
                now += step;
                match op {
                    Op::Check(key) => prop_assert_eq!(
                        limiter.check(&key.to_string(), now),
                        model.check(key, now, max)
                    ),
                    Op::Limited(key) => prop_assert_eq!(
                        limiter.limited(&key.to_string(), now),
                        model.limited(key, now, max)
                    ),
                    Op::Record(key) => {
                        limiter.record(&key.to_string(), now);
                        let _ = model.check(key, now, max);
                    }
                    Op::Reset(key) => {
                        limiter.reset(&key.to_string());
                        model.windows.remove(&key);
                    }
                }
            }
        }
    }
}
