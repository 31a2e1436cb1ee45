//! What an outbox holds, for dashboards and alerts: `Outbox::stats()` returns it and logs it as
//! a `tracing` event.

use std::time::Duration;

use serde::Serialize;

use super::store::{DestinationCounts, Millis};

/// One destination's deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DestinationStats {
    /// The destination.
    pub destination: String,
    /// Waiting for an attempt (due now, or after a backoff).
    pub pending: u64,
    /// Being sent by some process now.
    pub in_flight: u64,
    /// Dead letters, waiting for an operator to re-drive them.
    pub dead_letters: u64,
    /// Unknown outcomes held for an operator (destinations without deduplication only).
    pub held_unknown: u64,
    /// Age of the oldest event still pending or in flight.
    pub oldest_pending_age: Option<Duration>,
}

/// The whole outbox: totals, and the same per destination.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct OutboxStats {
    /// Waiting for an attempt.
    pub pending: u64,
    /// Being sent now.
    pub in_flight: u64,
    /// Dead letters.
    pub dead_letters: u64,
    /// Held unknown outcomes.
    pub held_unknown: u64,
    /// Age of the oldest event still pending or in flight, over every destination.
    pub oldest_pending_age: Option<Duration>,
    /// Per destination, by name.
    pub destinations: Vec<DestinationStats>,
}

impl OutboxStats {
    pub(crate) fn from_counts(counts: Vec<DestinationCounts>, now: Millis) -> Self {
        let age = |at: Option<Millis>| {
            at.map(|t| Duration::from_millis(u64::try_from(now.saturating_sub(t)).unwrap_or(0)))
        };
        let destinations: Vec<DestinationStats> = counts
            .into_iter()
            .map(|c| DestinationStats {
                oldest_pending_age: age(c.oldest_pending),
                destination: c.destination,
                pending: c.pending,
                in_flight: c.in_flight,
                dead_letters: c.dead_letters,
                held_unknown: c.held_unknown,
            })
            .collect();
        Self {
            pending: destinations.iter().map(|d| d.pending).sum(),
            in_flight: destinations.iter().map(|d| d.in_flight).sum(),
            dead_letters: destinations.iter().map(|d| d.dead_letters).sum(),
            held_unknown: destinations.iter().map(|d| d.held_unknown).sum(),
            oldest_pending_age: destinations
                .iter()
                .filter_map(|d| d.oldest_pending_age)
                .max(),
            destinations,
        }
    }

    /// Nothing left to send: no delivery pending or in flight (parked ones may remain).
    pub fn is_drained(&self) -> bool {
        self.pending == 0 && self.in_flight == 0
    }

    /// Logs the statistics: one INFO event per destination under the `billing::outbox` target
    /// (fields `destination`, `pending`, `in_flight`, `dead_letters`, `held_unknown`,
    /// `oldest_pending_ms`), and a WARN when dead letters or held unknowns wait for an operator.
    pub fn emit(&self) {
        for d in &self.destinations {
            let oldest_pending_ms = d
                .oldest_pending_age
                .map_or(0, |a| u64::try_from(a.as_millis()).unwrap_or(u64::MAX));
            tracing::info!(
                target: "billing::outbox",
                destination = %d.destination,
                pending = d.pending,
                in_flight = d.in_flight,
                dead_letters = d.dead_letters,
                held_unknown = d.held_unknown,
                oldest_pending_ms,
                "outbox statistics"
            );
            if d.dead_letters > 0 || d.held_unknown > 0 {
                tracing::warn!(
                    target: "billing::outbox",
                    destination = %d.destination,
                    dead_letters = d.dead_letters,
                    held_unknown = d.held_unknown,
                    "outbox deliveries wait for an operator (list them, then re-drive, release \
                     or mark them done)"
                );
            }
        }
    }
}
