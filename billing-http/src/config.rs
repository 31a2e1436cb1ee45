//! HTTP settings shared by every adapter: timeouts, retries, concurrency, transport policy.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// HTTP settings, the `[http]` section of the billing configuration.
///
/// Durations are in milliseconds so they can come from environment variables as plain numbers.
/// In code, start from [`HttpConfig::default`] and use the `with_*` setters:
///
/// ```
/// # use std::time::Duration;
/// # use billing_http::HttpConfig;
/// let http = HttpConfig::default()
///     .with_timeout(Duration::from_secs(5))
///     .with_total_budget(Duration::from_secs(30))
///     .with_concurrency(8);
/// assert!(http.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Time allowed for one attempt, connection included.
    pub timeout_ms: u64,
    /// Time allowed to establish a connection.
    pub connect_timeout_ms: u64,
    /// Retries after the first attempt, for requests that are safe to retry.
    pub max_retries: u32,
    /// First backoff delay; it doubles on each retry, with jitter.
    pub retry_base_delay_ms: u64,
    /// Longest single wait, including a server's `Retry-After` or `X-RateLimit-Reset`.
    pub max_retry_delay_ms: u64,
    /// Total time budget for one call, all attempts and waits included.
    pub total_budget_ms: u64,
    /// Most requests in flight at once per backend.
    pub concurrency: usize,
    /// Allow `http://` to a host that is not loopback (credentials would travel in clear).
    pub allow_insecure_http: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 10_000,
            connect_timeout_ms: 5_000,
            max_retries: 4,
            retry_base_delay_ms: 100,
            max_retry_delay_ms: 20_000,
            total_budget_ms: 60_000,
            concurrency: 16,
            allow_insecure_http: false,
        }
    }
}

impl HttpConfig {
    /// [`HttpConfig::timeout_ms`] as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// [`HttpConfig::connect_timeout_ms`] as a duration.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// [`HttpConfig::retry_base_delay_ms`] as a duration.
    pub fn retry_base_delay(&self) -> Duration {
        Duration::from_millis(self.retry_base_delay_ms)
    }

    /// [`HttpConfig::max_retry_delay_ms`] as a duration.
    pub fn max_retry_delay(&self) -> Duration {
        Duration::from_millis(self.max_retry_delay_ms)
    }

    /// [`HttpConfig::total_budget_ms`] as a duration.
    pub fn total_budget(&self) -> Duration {
        Duration::from_millis(self.total_budget_ms)
    }

    /// Sets [`HttpConfig::timeout_ms`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout_ms = millis(timeout);
        self
    }

    /// Sets [`HttpConfig::connect_timeout_ms`].
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout_ms = millis(timeout);
        self
    }

    /// Sets [`HttpConfig::max_retries`].
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets [`HttpConfig::retry_base_delay_ms`].
    pub fn with_retry_base_delay(mut self, delay: Duration) -> Self {
        self.retry_base_delay_ms = millis(delay);
        self
    }

    /// Sets [`HttpConfig::max_retry_delay_ms`].
    pub fn with_max_retry_delay(mut self, delay: Duration) -> Self {
        self.max_retry_delay_ms = millis(delay);
        self
    }

    /// Sets [`HttpConfig::total_budget_ms`].
    pub fn with_total_budget(mut self, budget: Duration) -> Self {
        self.total_budget_ms = millis(budget);
        self
    }

    /// Sets [`HttpConfig::concurrency`].
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Sets [`HttpConfig::allow_insecure_http`].
    pub fn with_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Checks the values.
    ///
    /// # Errors
    /// A `Config` error naming the bad setting.
    pub fn validate(&self) -> billing_core::Result<()> {
        use billing_core::Error;
        if self.timeout_ms == 0 {
            return Err(Error::config("http.timeout_ms", "must be above 0"));
        }
        if self.connect_timeout_ms == 0 {
            return Err(Error::config("http.connect_timeout_ms", "must be above 0"));
        }
        if self.concurrency == 0 {
            return Err(Error::config("http.concurrency", "must be at least 1"));
        }
        if self.total_budget_ms < self.timeout_ms {
            return Err(Error::config(
                "http.total_budget_ms",
                "must be at least http.timeout_ms",
            ));
        }
        Ok(())
    }
}

/// A duration in whole milliseconds, saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
