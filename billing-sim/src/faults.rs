//! Fault injection: server errors, rate limiting, dropped connections before and after the
//! request is processed, and latency.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::HeaderMap;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// How often each fault happens. Each rate is a probability in `0.0..=1.0`; they are drawn in
/// the order listed, at most one fault per request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Answer 500 without processing.
    pub error_500: f64,
    /// Answer 503 without processing.
    pub error_503: f64,
    /// Answer 429 with the vendor's rate-limit headers, without processing.
    pub rate_limit: f64,
    /// Seconds the 429 asks the client to wait (as the vendor would put it in its headers).
    pub rate_limit_reset_secs: u64,
    /// Close the connection without an answer and without processing.
    pub drop_before: f64,
    /// Process the request (the write commits), then close the connection without an answer.
    pub drop_after: f64,
    /// Process the request, then delay the answer by `latency` (beyond a client's timeout, the
    /// client gives up on a write that committed).
    pub slow_after: f64,
    /// The delay of `slow_after`.
    pub latency: Duration,
    /// Only requests whose path contains this string get faults (`None`: every request).
    pub only_paths_containing: Option<String>,
}

impl FaultConfig {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// `total` spread evenly over every fault kind, with a 1 s rate-limit reset and 2 s latency.
    pub fn mixed(total: f64) -> Self {
        let each = total / 6.0;
        Self {
            error_500: each,
            error_503: each,
            rate_limit: each,
            rate_limit_reset_secs: 1,
            drop_before: each,
            drop_after: each,
            slow_after: each,
            latency: Duration::from_secs(2),
            only_paths_containing: None,
        }
    }
}

/// The fault chosen for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Process normally.
    None,
    /// Answer with this status without processing.
    Status(u16),
    /// Answer 429 without processing.
    RateLimited,
    /// Close the connection before processing.
    DropBefore,
    /// Process, then close the connection.
    DropAfter,
    /// Process, then wait before answering.
    SlowAfter,
}

/// Counts of faults injected so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultCounts {
    /// 500 and 503 answers.
    pub server_errors: u64,
    /// 429 answers.
    pub rate_limited: u64,
    /// Connections dropped before processing.
    pub dropped_before: u64,
    /// Connections dropped after processing.
    pub dropped_after: u64,
    /// Answers delayed after processing.
    pub slowed_after: u64,
}

/// Builds the vendor's rate-limit headers for a 429 that resets in `secs` seconds.
pub type RateLimitHeaders = fn(secs: u64) -> HeaderMap;

#[derive(Debug)]
struct Inner {
    config: FaultConfig,
    seed: u64,
    rng: StdRng,
    counts: FaultCounts,
}

/// The live fault settings of a running simulator; change them at any time.
#[derive(Debug, Clone)]
pub struct Faults {
    inner: Arc<Mutex<Inner>>,
    rate_limit_headers: RateLimitHeaders,
}

impl Faults {
    pub(crate) fn new(
        config: FaultConfig,
        seed: u64,
        rate_limit_headers: RateLimitHeaders,
    ) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner {
                config,
                seed,
                rng: StdRng::seed_from_u64(seed),
                counts: FaultCounts::default(),
            })),
            rate_limit_headers,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Replaces the configuration.
    pub fn set(&self, config: FaultConfig) {
        self.lock().config = config;
    }

    /// Replaces the configuration, zeroes the counts and restarts the generator from its seed,
    /// as if the simulator had just started with `config`.
    pub fn restore(&self, config: FaultConfig) {
        let mut inner = self.lock();
        inner.rng = StdRng::seed_from_u64(inner.seed);
        inner.config = config;
        inner.counts = FaultCounts::default();
    }

    /// The current configuration.
    pub fn config(&self) -> FaultConfig {
        self.lock().config.clone()
    }

    /// How many faults were injected so far.
    pub fn counts(&self) -> FaultCounts {
        self.lock().counts
    }

    pub(crate) fn rate_limit_headers(&self) -> HeaderMap {
        let secs = self.lock().config.rate_limit_reset_secs;
        (self.rate_limit_headers)(secs)
    }

    pub(crate) fn latency(&self) -> Duration {
        self.lock().config.latency
    }

    /// Draws the fault for a request to `path`.
    pub(crate) fn draw(&self, path: &str) -> Fault {
        let mut inner = self.lock();
        let c = inner.config.clone();
        if c.only_paths_containing
            .as_deref()
            .is_some_and(|p| !path.contains(p))
        {
            return Fault::None;
        }
        let x: f64 = inner.rng.random();
        let table = [
            (c.error_500, Fault::Status(500)),
            (c.error_503, Fault::Status(503)),
            (c.rate_limit, Fault::RateLimited),
            (c.drop_before, Fault::DropBefore),
            (c.drop_after, Fault::DropAfter),
            (c.slow_after, Fault::SlowAfter),
        ];
        let mut acc = 0.0;
        let mut fault = Fault::None;
        for (rate, f) in table {
            acc += rate;
            if x < acc {
                fault = f;
                break;
            }
        }
        let counts = &mut inner.counts;
        match fault {
            Fault::Status(_) => counts.server_errors += 1,
            Fault::RateLimited => counts.rate_limited += 1,
            Fault::DropBefore => counts.dropped_before += 1,
            Fault::DropAfter => counts.dropped_after += 1,
            Fault::SlowAfter => counts.slowed_after += 1,
            Fault::None => {}
        }
        fault
    }
}
