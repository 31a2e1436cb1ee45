//! The `[outbox]` configuration section.

use std::time::Duration;

use billing_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::location::StoreLocation;
use super::retry::RetryPolicy;

/// The `[outbox]` section: where the outbox keeps events and how it delivers them.
///
/// ```toml
/// [outbox]
/// store = "/var/lib/myapp/billing-outbox.db"    # SQLite (the default kind): a file path,
///                                               # or "sqlite:PATH"; for PostgreSQL:
///                                               # "postgres://user:password@host:5432/db"
/// concurrency = 4                # batches in flight per destination
/// linger_ms = 0                  # wait this long for a batch to fill after new events
/// retry_base_delay_ms = 1000     # backoff after a temporary failure: doubles, with jitter,
/// retry_max_delay_ms = 300000    # up to this cap
/// # batch_max = 100              # at most this many events per request (default: the vendor's)
/// # retry_max_attempts = 50      # then a dead letter (default: retry until it goes through)
/// ```
///
/// Every setting can come from the environment: `BILLING_OUTBOX_STORE`,
/// `BILLING_OUTBOX_CONCURRENCY`, `BILLING_OUTBOX_RETRY_MAX_DELAY_MS`, ... `Debug`, errors and
/// logs never show a PostgreSQL password.
///
/// The outbox's retries come on top of the HTTP client's: each delivery attempt is one
/// `record_usage` call, which already retries within `[http]`'s `total_budget_ms` (60 s and up
/// to 4 retries by default) what is safe to resend. The outbox then waits at least
/// `retry_base_delay_ms` (growing to `retry_max_delay_ms`) before the next attempt, and pauses
/// the whole destination while it keeps failing, so an outage costs a few requests per minute,
/// not one per event.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct OutboxConfig {
    /// Where events are kept: a SQLite file (path or `sqlite:PATH`) or a PostgreSQL URL
    /// (`postgres://...`). Required.
    pub store: StoreLocation,
    /// At most this many events per `record_usage` call; the destination's
    /// `Capabilities::usage_batch_max` applies when it is lower or this is unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_max: Option<usize>,
    /// After new events arrive, wait this long for more before sending a partial batch.
    #[serde(default)]
    pub linger_ms: u64,
    /// Batches in flight at once, per destination.
    #[serde(default = "defaults::concurrency")]
    pub concurrency: usize,
    /// How often an idle delivery task looks for work it was not told about (events recorded
    /// by another process, retries coming due).
    #[serde(default = "defaults::poll_ms")]
    pub poll_ms: u64,
    /// How long a claimed batch stays reserved for the process sending it. A process that dies
    /// while sending leaves its batch to others after this long.
    #[serde(default = "defaults::lease_ms")]
    pub lease_ms: u64,
    /// Longest time one delivery attempt may take (a `record_usage` call); beyond it the
    /// outcome is unknown. Must be below `lease_ms`, and should be above the destinations'
    /// `http.total_budget_ms`.
    #[serde(default = "defaults::send_timeout_ms")]
    pub send_timeout_ms: u64,
    /// First wait after a temporary failure; it doubles on each attempt, with jitter.
    #[serde(default = "defaults::retry_base_delay_ms")]
    pub retry_base_delay_ms: u64,
    /// Longest wait between two attempts of one event.
    #[serde(default = "defaults::retry_max_delay_ms")]
    pub retry_max_delay_ms: u64,
    /// After this many attempts an event becomes a dead letter; unset: retried until it goes
    /// through (usage is money).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_max_attempts: Option<u32>,
    /// How often the delivery task logs the outbox's statistics (`tracing`, INFO); 0: never.
    #[serde(default = "defaults::stats_interval_ms")]
    pub stats_interval_ms: u64,
    /// SQLite only: the largest the file may grow, in bytes. When full, `record` fails with an
    /// error instead of taking the disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u64>,
    /// Opens the store for inspection only: listing and statistics work, anything that writes
    /// (recording, delivering, redriving) fails with `PermissionDenied`.
    #[serde(default)]
    pub read_only: bool,
}

mod defaults {
    pub(super) fn concurrency() -> usize {
        4
    }
    pub(super) fn poll_ms() -> u64 {
        1_000
    }
    pub(super) fn lease_ms() -> u64 {
        300_000
    }
    pub(super) fn send_timeout_ms() -> u64 {
        120_000
    }
    pub(super) fn retry_base_delay_ms() -> u64 {
        1_000
    }
    pub(super) fn retry_max_delay_ms() -> u64 {
        300_000
    }
    pub(super) fn stats_interval_ms() -> u64 {
        60_000
    }
}

impl OutboxConfig {
    /// An outbox in `store`, every other setting at its default.
    pub fn new(store: StoreLocation) -> Self {
        Self {
            store,
            batch_max: None,
            linger_ms: 0,
            concurrency: defaults::concurrency(),
            poll_ms: defaults::poll_ms(),
            lease_ms: defaults::lease_ms(),
            send_timeout_ms: defaults::send_timeout_ms(),
            retry_base_delay_ms: defaults::retry_base_delay_ms(),
            retry_max_delay_ms: defaults::retry_max_delay_ms(),
            retry_max_attempts: None,
            stats_interval_ms: defaults::stats_interval_ms(),
            max_bytes: None,
            read_only: false,
        }
    }

    /// An outbox in a SQLite file at `path`.
    pub fn sqlite(path: impl Into<std::path::PathBuf>) -> Self {
        Self::new(StoreLocation::Sqlite(path.into()))
    }

    /// The retry policy these settings describe.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            base_delay: Duration::from_millis(self.retry_base_delay_ms),
            max_delay: Duration::from_millis(self.retry_max_delay_ms),
            max_attempts: self.retry_max_attempts,
        }
    }

    /// [`OutboxConfig::lease_ms`] as a duration.
    pub fn lease(&self) -> Duration {
        Duration::from_millis(self.lease_ms)
    }

    /// [`OutboxConfig::send_timeout_ms`] as a duration.
    pub fn send_timeout(&self) -> Duration {
        Duration::from_millis(self.send_timeout_ms)
    }

    /// [`OutboxConfig::poll_ms`] as a duration.
    pub fn poll(&self) -> Duration {
        Duration::from_millis(self.poll_ms)
    }

    /// [`OutboxConfig::linger_ms`] as a duration.
    pub fn linger(&self) -> Duration {
        Duration::from_millis(self.linger_ms)
    }

    /// Checks the values.
    ///
    /// # Errors
    /// A `Config` error naming the bad setting.
    pub fn validate(&self) -> Result<()> {
        if self.concurrency == 0 {
            return Err(Error::config("outbox.concurrency", "must be at least 1"));
        }
        if self.batch_max == Some(0) {
            return Err(Error::config("outbox.batch_max", "must be at least 1"));
        }
        if self.poll_ms == 0 {
            return Err(Error::config("outbox.poll_ms", "must be above 0"));
        }
        if self.send_timeout_ms == 0 {
            return Err(Error::config("outbox.send_timeout_ms", "must be above 0"));
        }
        if self.lease_ms <= self.send_timeout_ms {
            return Err(Error::config(
                "outbox.lease_ms",
                "must be above outbox.send_timeout_ms (a batch stays reserved while it is sent)",
            ));
        }
        if self.retry_base_delay_ms == 0 {
            return Err(Error::config(
                "outbox.retry_base_delay_ms",
                "must be above 0",
            ));
        }
        if self.retry_max_delay_ms < self.retry_base_delay_ms {
            return Err(Error::config(
                "outbox.retry_max_delay_ms",
                "must be at least outbox.retry_base_delay_ms",
            ));
        }
        if self.retry_max_attempts == Some(0) {
            return Err(Error::config(
                "outbox.retry_max_attempts",
                "must be at least 1 (leave it unset to retry until delivered)",
            ));
        }
        if let Some(max) = self.max_bytes {
            if !matches!(self.store, StoreLocation::Sqlite(_)) {
                return Err(Error::config(
                    "outbox.max_bytes",
                    "applies to a SQLite store only",
                ));
            }
            if max < 64 * 1024 {
                return Err(Error::config("outbox.max_bytes", "must be at least 65536"));
            }
        }
        self.store.validate()
    }
}
