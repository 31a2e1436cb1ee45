//! The outbox's clock: milliseconds since the Unix epoch, as stores keep time.
//!
//! Processes sharing a PostgreSQL outbox compare their clocks through leases and retry times;
//! keep them synchronised (NTP). Leases last minutes, so seconds of drift are harmless.

use std::time::{SystemTime, UNIX_EPOCH};

use super::store::Millis;

/// Now.
pub(crate) fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
