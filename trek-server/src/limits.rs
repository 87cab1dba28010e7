//! TREK's rate-limit buckets, each its own counter (decision 7).

use std::collections::HashMap;
use std::sync::Arc;

use trek_lib::ratelimit::{Decision, RateLimiter};

const MINUTE_MS: u64 = 60_000;

/// A rate-limited action. Each has its own counter per source address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// `POST /login`, `POST /register` and `GET /invite/:token` share 10 per 15 minutes.
    Login,
    /// `POST /mfa/verify-login` and `POST /mfa/enable`: 5 per 15 minutes.
    Mfa,
    /// `PUT /me/password`: 5 per 15 minutes.
    PasswordChange,
    /// `POST /mfa/disable`: 5 per 15 minutes.
    MfaDisable,
    /// `POST /mcp-tokens`: 5 per 15 minutes.
    McpToken,
    /// `POST /forgot-password`: 3 per 15 minutes.
    Forgot,
    /// `POST /reset-password`: 5 per 15 minutes.
    Reset,
    /// Manual backup creation: 3 per hour.
    Backup,
    /// Login attempts per account, whatever the address: 10 per 15 minutes. Every attempt is
    /// counted before the password is checked and successful ones are refunded, so this
    /// bounds failures even when they arrive all at once.
    AccountLogin,
    /// Two-factor code attempts per account, counted and refunded the same way: 10 failures
    /// per 15 minutes.
    AccountMfa,
}

impl Bucket {
    /// Allowed attempts and window length in milliseconds.
    pub fn policy(self) -> (u32, u64) {
        let quarter_hour = 15 * MINUTE_MS;
        match self {
            Self::Login | Self::AccountLogin | Self::AccountMfa => (10, quarter_hour),
            Self::Mfa | Self::PasswordChange | Self::MfaDisable | Self::McpToken | Self::Reset => {
                (5, quarter_hour)
            }
            Self::Forgot => (3, quarter_hour),
            Self::Backup => (3, 60 * MINUTE_MS),
        }
    }

    const ALL: [Self; 10] = [
        Self::Login,
        Self::Mfa,
        Self::PasswordChange,
        Self::MfaDisable,
        Self::McpToken,
        Self::Forgot,
        Self::Reset,
        Self::Backup,
        Self::AccountLogin,
        Self::AccountMfa,
    ];
}

/// Where rate-limit counters live.
///
/// Known shortcut: only the in-process [`MemoryLimits`] exists, so several instances behind one
/// load balancer each count on their own. A shared backend (PostgreSQL or Redis) implements this
/// trait; it will need to become async then, which touches only the call sites in `api`.
pub trait RateLimits: Send + Sync {
    /// Counts an attempt and decides it.
    fn check(&self, bucket: Bucket, key: &str, now_ms: u64) -> Decision;
    /// Retry-after in milliseconds if the key is limited now, without counting.
    fn limited(&self, bucket: Bucket, key: &str, now_ms: u64) -> Option<u64>;
    /// Counts an attempt without deciding.
    fn record(&self, bucket: Bucket, key: &str, now_ms: u64);
    /// Takes back one attempt of the current window (one that turned out legitimate).
    fn refund(&self, bucket: Bucket, key: &str, now_ms: u64);
}

/// Counters in this process's memory, bounded per bucket.
pub struct MemoryLimits {
    buckets: HashMap<Bucket, Arc<RateLimiter>>,
}

impl MemoryLimits {
    /// One limiter per bucket with TREK's numbers.
    ///
    /// # Errors
    ///
    /// Never for the built-in policies; the type allows it because the limiter validates.
    pub fn new() -> Result<Self, trek_lib::ratelimit::RateLimitError> {
        let mut buckets = HashMap::new();
        for bucket in Bucket::ALL {
            let (max, window) = bucket.policy();
            buckets.insert(bucket, Arc::new(RateLimiter::new(max, window)?));
        }
        Ok(Self { buckets })
    }

    fn get(&self, bucket: Bucket) -> Option<&RateLimiter> {
        self.buckets.get(&bucket).map(AsRef::as_ref)
    }
}

impl RateLimits for MemoryLimits {
    fn check(&self, bucket: Bucket, key: &str, now_ms: u64) -> Decision {
        match self.get(bucket) {
            Some(l) => l.check(key, now_ms),
            None => Decision::Allowed { remaining: 0 },
        }
    }

    fn limited(&self, bucket: Bucket, key: &str, now_ms: u64) -> Option<u64> {
        self.get(bucket).and_then(|l| l.limited(key, now_ms))
    }

    fn record(&self, bucket: Bucket, key: &str, now_ms: u64) {
        if let Some(l) = self.get(bucket) {
            l.record(key, now_ms);
        }
    }

    fn refund(&self, bucket: Bucket, key: &str, now_ms: u64) {
        if let Some(l) = self.get(bucket) {
            l.refund(key, now_ms);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bucket_has_trek_s_numbers() {
        let quarter = 15 * MINUTE_MS;
        let expected = [
            (Bucket::Login, 10, quarter),
            (Bucket::Mfa, 5, quarter),
            (Bucket::PasswordChange, 5, quarter),
            (Bucket::MfaDisable, 5, quarter),
            (Bucket::McpToken, 5, quarter),
            (Bucket::Forgot, 3, quarter),
            (Bucket::Reset, 5, quarter),
            (Bucket::Backup, 3, 60 * MINUTE_MS),
            (Bucket::AccountLogin, 10, quarter),
            (Bucket::AccountMfa, 10, quarter),
        ];
        for (bucket, max, window) in expected {
            assert_eq!(bucket.policy(), (max, window), "{bucket:?}");
        }
    }

    #[test]
    fn buckets_count_apart() {
        let limits = MemoryLimits::new().expect("limits");
        for _ in 0..5 {
            assert!(limits.check(Bucket::PasswordChange, "ip", 0).is_allowed());
        }
        assert!(!limits.check(Bucket::PasswordChange, "ip", 0).is_allowed());
        assert!(
            limits.check(Bucket::MfaDisable, "ip", 0).is_allowed(),
            "a bucket of its own"
        );
        assert!(limits.check(Bucket::Login, "ip", 0).is_allowed());
    }
}
