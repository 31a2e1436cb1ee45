//! What this process's delivery did since the outbox was opened (the store's statistics say
//! what is left; these say what was done here).

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::store::Settlement;

/// Deliveries this process settled, by what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DeliveryCounters {
    /// Delivered (accepted or duplicate).
    pub delivered: u64,
    /// Put back to wait after a temporary failure or a resendable unknown outcome.
    pub retried: u64,
    /// Made dead letters.
    pub dead_lettered: u64,
    /// Held as unknown outcomes.
    pub held_unknown: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    delivered: AtomicU64,
    retried: AtomicU64,
    dead_lettered: AtomicU64,
    held_unknown: AtomicU64,
}

impl Counters {
    pub(crate) fn add(&self, settlements: &[Settlement]) {
        for s in settlements {
            let counter = match s {
                Settlement::Done => &self.delivered,
                Settlement::Retry { .. } => &self.retried,
                Settlement::DeadLetter(_) => &self.dead_lettered,
                Settlement::HeldUnknown(_) => &self.held_unknown,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn read(&self) -> DeliveryCounters {
        DeliveryCounters {
            delivered: self.delivered.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            dead_lettered: self.dead_lettered.load(Ordering::Relaxed),
            held_unknown: self.held_unknown.load(Ordering::Relaxed),
        }
    }
}
