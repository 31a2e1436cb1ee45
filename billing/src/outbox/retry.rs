//! How long to wait before the next attempt of an event (or a whole destination) after a
//! temporary failure: exponential backoff with jitter, capped.

use std::time::Duration;

/// Exponential backoff with jitter, from the `outbox.retry_*` settings.
///
/// The n-th wait is drawn between half and all of `base_delay * 2^(n-1)`, capped at
/// `max_delay`: never collapsing to zero (so a failing vendor is not hammered), never in
/// lockstep across processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// The first wait (before jitter).
    pub base_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
    /// Attempts after which an event becomes a dead letter; `None`: never.
    pub max_attempts: Option<u32>,
}

impl RetryPolicy {
    /// The wait after the `attempt`-th failed attempt (1 for the first), at least `at_least`
    /// (a vendor's `Retry-After`), never above `max_delay`.
    pub fn delay(&self, attempt: u32, at_least: Option<Duration>) -> Duration {
        let exponent = attempt.saturating_sub(1).min(32);
        let full = self
            .base_delay
            .saturating_mul(1_u32 << exponent.min(31))
            .min(self.max_delay);
        let half = full / 2;
        let jitter = Duration::from_nanos(fastrand::u64(
            0..=u64::try_from(half.as_nanos()).unwrap_or(u64::MAX),
        ));
        (half + jitter)
            .max(at_least.unwrap_or(Duration::ZERO))
            .min(self.max_delay)
    }

    /// Whether an event that has had `attempts` attempts may have another.
    pub fn allows_another(&self, attempts: u32) -> bool {
        self.max_attempts.is_none_or(|max| attempts < max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            max_attempts: Some(3),
        }
    }

    #[test]
    fn doubles_with_jitter_up_to_the_cap() {
        let p = policy();
        for _ in 0..200 {
            let first = p.delay(1, None);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = p.delay(3, None);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = p.delay(40, None);
            assert!(late >= Duration::from_secs(1) && late <= Duration::from_secs(2));
        }
    }

    #[test]
    fn a_vendor_wait_is_honoured_within_the_cap() {
        let p = policy();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(1))),
            Duration::from_secs(1)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(60))),
            Duration::from_secs(2)
        );
    }

    #[test]
    fn attempts_are_bounded_only_when_asked() {
        let p = policy();
        assert!(p.allows_another(2));
        assert!(!p.allows_another(3));
        let forever = RetryPolicy {
            max_attempts: None,
            ..p
        };
        assert!(forever.allows_another(u32::MAX));
    }
}
