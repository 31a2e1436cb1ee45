//! How the attempts of one call are scheduled: one time budget from the moment the call starts
//! (waiting for a free slot included), a slot of the concurrency limit held per attempt and
//! released before any wait, and the waits between attempts. Generic over what an attempt is,
//! so the policy is tested on tokio's paused clock without any I/O.

use std::time::Duration;

use billing_core::Operation;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::config::HttpConfig;
use crate::retry::Backoff;

/// The smallest slice of the budget worth starting another attempt with.
pub(crate) const MIN_ATTEMPT: Duration = Duration::from_millis(50);

/// What to do after an attempt.
#[derive(Debug)]
pub(crate) enum Next {
    /// Return this attempt's outcome.
    Stop,
    /// Try again, for `reason`, after at least `server_wait` if the server asked for one.
    Retry {
        reason: String,
        server_wait: Option<Duration>,
    },
}

/// How a scheduled call ended.
#[derive(Debug)]
pub(crate) enum Ended<T> {
    /// The last attempt's outcome.
    Attempted(T),
    /// No attempt was made: the budget ran out while the call waited for a slot.
    Queued,
    /// The limiter was closed.
    Closed,
}

/// One call's schedule.
pub(crate) struct Schedule<'a> {
    pub limiter: &'a Semaphore,
    pub config: &'a HttpConfig,
    pub backend: &'static str,
    pub operation: Operation,
}

impl Schedule<'_> {
    /// Runs `attempt` (given the time it may take) until `judge` says stop, the retries are
    /// used up, or the budget would run out.
    pub(crate) async fn run<T, F>(
        &self,
        mut attempt: impl FnMut(Duration) -> F,
        mut judge: impl FnMut(&T) -> Next,
    ) -> Ended<T>
    where
        F: Future<Output = T>,
    {
        // The budget starts now and covers everything: waiting for a slot, every attempt, and
        // every wait between attempts.
        let deadline = Instant::now() + self.config.total_budget();
        let mut backoff = Backoff::new(self.config);
        let mut number = 1_u32;
        let mut last = None;
        loop {
            let ended = |last: Option<T>| last.map_or(Ended::Queued, Ended::Attempted);
            // A slot per attempt, released before any wait: a burst of 429s never holds every
            // slot while it sleeps through Retry-After.
            let permit = match tokio::time::timeout_at(deadline, self.limiter.acquire()).await {
                Ok(Ok(permit)) => permit,
                Ok(Err(_)) => return Ended::Closed,
                Err(_) => return ended(last),
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < MIN_ATTEMPT {
                return ended(last);
            }
            let outcome = attempt(remaining.min(self.config.timeout())).await;
            drop(permit);
            let (reason, server_wait) = match judge(&outcome) {
                Next::Stop => return Ended::Attempted(outcome),
                Next::Retry {
                    reason,
                    server_wait,
                } => (reason, server_wait),
            };
            let Some(wait) = backoff.next(server_wait) else {
                return Ended::Attempted(outcome);
            };
            let remaining = deadline.saturating_duration_since(Instant::now());
            let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
            if wait + MIN_ATTEMPT > remaining {
                tracing::warn!(
                    target: "billing_http",
                    backend = self.backend,
                    operation = %self.operation,
                    attempt = number,
                    wait_ms,
                    remaining_ms = u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX),
                    reason = %reason,
                    "not retrying: the time budget would run out"
                );
                return Ended::Attempted(outcome);
            }
            tracing::warn!(
                target: "billing_http",
                backend = self.backend,
                operation = %self.operation,
                attempt = number,
                wait_ms,
                reason = %reason,
                "retrying request"
            );
            last = Some(outcome);
            tokio::time::sleep(wait).await;
            number += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    //! A 429 storm, on tokio's paused clock: attempts are instant fakes, so every figure is
    //! exact virtual time.
    use super::*;

    const BUDGET: Duration = Duration::from_secs(30);
    const RETRY_AFTER: Duration = Duration::from_secs(20);

    fn config(concurrency: usize) -> HttpConfig {
        HttpConfig::default()
            .with_concurrency(concurrency)
            .with_max_retries(10)
            .with_timeout(Duration::from_secs(10))
            .with_max_retry_delay(RETRY_AFTER)
            .with_total_budget(BUDGET)
    }

    /// A fake call: each attempt takes `takes` and answers `status`; 429 asks for 20 s.
    async fn call(
        limiter: &Semaphore,
        config: &HttpConfig,
        status: u16,
        takes: Duration,
    ) -> (Ended<u16>, Duration) {
        let start = Instant::now();
        let schedule = Schedule {
            limiter,
            config,
            backend: "test",
            operation: Operation::GetCustomer,
        };
        let ended = schedule
            .run(
                |_timeout| async move {
                    tokio::time::sleep(takes).await;
                    status
                },
                |s| match s {
                    429 => Next::Retry {
                        reason: "status 429".into(),
                        server_wait: Some(RETRY_AFTER),
                    },
                    _ => Next::Stop,
                },
            )
            .await;
        (ended, start.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_storm_neither_overruns_budgets_nor_blocks_other_calls() {
        let config = config(2);
        let limiter = Semaphore::new(config.concurrency);
        let attempt = Duration::from_millis(100);
        // Eight throttled calls over two slots, then one that would succeed.
        let storm = (0..8).map(|_| call(&limiter, &config, 429, attempt));
        let (storm, calm) = tokio::join!(futures::future::join_all(storm), async {
            tokio::task::yield_now().await;
            call(&limiter, &config, 200, attempt).await
        });
        // The calm call waited only for the storm's first attempts (4 rounds of 100 ms over 2
        // slots), never for their 20 s waits.
        assert!(matches!(calm.0, Ended::Attempted(200)));
        assert_eq!(calm.1, Duration::from_millis(500));
        for (ended, took) in storm {
            assert!(matches!(ended, Ended::Attempted(429)));
            assert!(took <= BUDGET, "a throttled call ran {took:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_for_a_slot_counts_against_the_budget() {
        let config = config(1);
        let limiter = Semaphore::new(1);
        // Four calls of 10 s each over one slot: the fourth would start at 30 s, when its
        // budget is gone; it ends without an attempt, at its deadline.
        let calls = (0..4).map(|_| call(&limiter, &config, 200, Duration::from_secs(10)));
        let results = futures::future::join_all(calls).await;
        let took: Vec<Duration> = results.iter().map(|(_, t)| *t).collect();
        assert_eq!(
            took,
            [10, 20, 30, 30].map(Duration::from_secs).to_vec(),
            "{results:?}"
        );
        assert!(matches!(results[3].0, Ended::Queued));
    }

    #[tokio::test(start_paused = true)]
    async fn a_slot_is_free_while_its_call_waits_to_retry() {
        let config = config(1);
        let limiter = Semaphore::new(1);
        let (throttled, calm) = tokio::join!(
            call(&limiter, &config, 429, Duration::from_millis(100)),
            async {
                // Starts while the throttled call sleeps through its Retry-After.
                tokio::time::sleep(Duration::from_secs(1)).await;
                call(&limiter, &config, 200, Duration::from_millis(100)).await
            }
        );
        assert_eq!(calm.1, Duration::from_millis(100), "the slot was free");
        assert!(matches!(throttled.0, Ended::Attempted(429)));
        assert_eq!(
            throttled.1,
            Duration::from_millis(20_200),
            "0 s and 20 s attempts"
        );
    }

    /// The figures the documentation gives (`HttpConfig`, `Error::is_temporary`,
    /// `record_usage`): with the default `[http]`, a 429 reaches the caller after 5 attempts,
    /// over 1.5 to 3 s of backoff (each wait doubles, plus up to as much again of jitter)
    /// without `Retry-After`, and over 4 to 4.6 s when the vendor asks for a second each time.
    #[tokio::test(start_paused = true)]
    async fn the_documented_default_retries_hold() {
        let config = HttpConfig::default();
        let limiter = Semaphore::new(config.concurrency);
        for (server_wait, low, high) in [
            (None, 1_500, 3_000),
            (Some(Duration::from_secs(1)), 4_000, 4_600),
        ] {
            let attempts = std::sync::atomic::AtomicU32::new(0);
            let start = Instant::now();
            let schedule = Schedule {
                limiter: &limiter,
                config: &config,
                backend: "test",
                operation: Operation::RecordUsage,
            };
            let ended = schedule
                .run(
                    |_timeout| {
                        attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        async { 429_u16 }
                    },
                    |_| Next::Retry {
                        reason: "status 429".into(),
                        server_wait,
                    },
                )
                .await;
            let took = start.elapsed();
            assert!(matches!(ended, Ended::Attempted(429)));
            assert_eq!(attempts.into_inner(), config.max_retries + 1);
            let ms = took.as_millis();
            assert!((low..=high).contains(&ms), "{server_wait:?}: {took:?}");
        }
    }
}
