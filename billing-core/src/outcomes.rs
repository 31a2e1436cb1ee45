//! Building the per-event outcomes of a `record_usage` call: validate, set aside duplicates
//! within the batch, send the rest in whatever requests the vendor needs, and put each answer
//! back in its slot.

use std::collections::HashSet;

use crate::error::Error;
use crate::usage::{EventOutcome, UsageEvent};

/// One slot per event, filled in any order; [`Outcomes::finish`] returns them in event order.
///
/// ```
/// # use billing_core::raw::Outcomes;
/// # use billing_core::{UsageEvent, EventId, SubscriptionKey, MetricCode, EventOutcome};
/// # let ev = |id: &str| UsageEvent::new(EventId::new(id).unwrap(), SubscriptionKey::new("s").unwrap(),
/// #     MetricCode::new("m").unwrap(), 1.into());
/// let events = vec![ev("a"), ev("a"), ev("b")];
/// let mut outcomes = Outcomes::new(&events);
/// // events[1] repeats events[0]: it is Duplicate without being sent.
/// assert_eq!(outcomes.pending(), vec![0, 2]);
/// for i in outcomes.pending() {
///     outcomes.set(i, EventOutcome::Accepted);
/// }
/// let done = outcomes.finish();
/// assert!(matches!(done[1], EventOutcome::Duplicate));
/// ```
#[derive(Debug)]
pub struct Outcomes {
    slots: Vec<Option<EventOutcome>>,
}

impl Outcomes {
    /// Validates every event (`Rejected(InvalidInput)` for bad ones) and marks repeats of an
    /// earlier event of the same batch (same subscription and id) as `Duplicate`.
    pub fn new(events: &[UsageEvent]) -> Self {
        let mut seen = HashSet::new();
        let slots = events
            .iter()
            .map(|e| {
                if let Err(err) = e.validate() {
                    return Some(EventOutcome::Rejected(err));
                }
                if !seen.insert((&e.subscription, &e.id)) {
                    return Some(EventOutcome::Duplicate);
                }
                None
            })
            .collect();
        Self { slots }
    }

    /// Indices of events that still need an answer, in order.
    pub fn pending(&self) -> Vec<usize> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.is_none().then_some(i))
            .collect()
    }

    /// Whether event `i` still needs an answer.
    pub fn is_pending(&self, i: usize) -> bool {
        self.slots.get(i).is_some_and(Option::is_none)
    }

    /// Records the outcome of event `i` (ignored if `i` is out of range).
    pub fn set(&mut self, i: usize, outcome: EventOutcome) {
        if let Some(slot) = self.slots.get_mut(i) {
            *slot = Some(outcome);
        }
    }

    /// Rejects event `i` with `error`.
    pub fn reject(&mut self, i: usize, error: Error) {
        self.set(i, EventOutcome::Rejected(error));
    }

    /// Rejects every event still pending with `error` (e.g. the request carrying them failed).
    pub fn reject_pending(&mut self, indices: &[usize], error: &Error) {
        for &i in indices {
            if self.is_pending(i) {
                self.reject(i, error.clone());
            }
        }
    }

    /// The outcomes in event order. A slot nobody filled is a bug in the adapter; it is reported
    /// as `Rejected(Unexpected)` rather than lost.
    pub fn finish(self) -> Vec<EventOutcome> {
        self.slots
            .into_iter()
            .map(|s| {
                s.unwrap_or_else(|| {
                    EventOutcome::Rejected(Error::unexpected(
                        "no outcome was recorded for this event",
                    ))
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ErrorKind, EventId, MetricCode, SubscriptionKey};

    fn ev(id: &str, sub: &str, q: i64) -> UsageEvent {
        UsageEvent::new(
            EventId::new(id).unwrap(),
            SubscriptionKey::new(sub).unwrap(),
            MetricCode::new("m").unwrap(),
            q.into(),
        )
    }

    #[test]
    fn invalid_and_repeated_events_are_answered_up_front() {
        let events = [
            ev("a", "s1", 1),
            ev("a", "s2", 1),
            ev("b", "s1", -1),
            ev("a", "s1", 1),
        ];
        let o = Outcomes::new(&events);
        assert_eq!(
            o.pending(),
            vec![0, 1],
            "same id on another subscription is distinct"
        );
        let done = o.finish();
        assert_eq!(done[2].error_kind(), Some(ErrorKind::InvalidInput));
        assert!(matches!(done[3], EventOutcome::Duplicate));
        assert_eq!(
            done[0].error_kind(),
            Some(ErrorKind::Unexpected),
            "unfilled is not lost"
        );
    }

    #[test]
    fn reject_pending_leaves_answered_slots_alone() {
        let events = [ev("a", "s", 1), ev("b", "s", 1)];
        let mut o = Outcomes::new(&events);
        o.set(0, EventOutcome::Accepted);
        o.reject_pending(&[0, 1], &Error::new(ErrorKind::Unavailable, "down"));
        let done = o.finish();
        assert!(matches!(done[0], EventOutcome::Accepted));
        assert_eq!(done[1].error_kind(), Some(ErrorKind::Unavailable));
    }
}
