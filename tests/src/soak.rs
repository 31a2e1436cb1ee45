//! The application side of the fault-injection soak: it records usage the way a real user of
//! the library does, in batches, and sends again only the events whose outcome says a resend
//! is safe and needed, for a bounded number of rounds.

use std::time::{Duration, Instant};

use billing::{BillingBackend, Capabilities, Error, EventOutcome, UsageEvent};
use futures::StreamExt;

/// How the application sends.
#[derive(Debug, Clone, Copy)]
pub struct SoakPlan {
    /// Events per `record_usage` call.
    pub batch: usize,
    /// `record_usage` calls in flight at once.
    pub parallel_batches: usize,
    /// Most rounds (the first send plus resends) before giving up.
    pub max_rounds: usize,
}

/// What the application saw.
#[derive(Debug, Default)]
pub struct SoakReport {
    /// Events to record.
    pub events: usize,
    /// Rounds used (1 when nothing had to be sent again).
    pub rounds: usize,
    /// Events the application sent again (over all rounds).
    pub resent: usize,
    /// `Accepted` outcomes.
    pub accepted: usize,
    /// `Duplicate` outcomes (the vendor already had the event: a lost answer was retried).
    pub duplicates_reported: usize,
    /// Events resent after an unknown outcome (`EventOutcome::Unknown`: a lost answer or a
    /// timeout after the write may have committed): on a vendor without deduplication, the only
    /// resends that can store an event twice.
    pub resent_unknown_outcome: usize,
    /// Rejections the application resent, by error kind.
    pub resent_kinds: Vec<(String, usize)>,
    /// Events still not recorded after the last round, with their last error.
    pub unrecorded: Vec<(String, Error)>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

/// Whether the application sends the event of `outcome` again.
///
/// A temporary rejection is safe to resend (the library's contract), and so is an unknown
/// outcome on a backend that deduplicates by event id. On a backend without deduplication
/// (`usage_dedup_by_event_id` false, BillaBear) an unknown outcome (a lost answer or a timeout
/// after the write may have committed) may already be stored, and a resend may store it twice;
/// an application that must not lose usage and has no way to check resends it anyway and
/// accepts that duplicate (BillaBear collapses equal event ids when it aggregates for
/// invoices). `billing::outbox` holds such events for a decision instead.
pub fn should_resend(outcome: &EventOutcome, _capabilities: &Capabilities) -> bool {
    match outcome {
        EventOutcome::Accepted | EventOutcome::Duplicate => false,
        EventOutcome::Rejected(e) => e.is_temporary(),
        EventOutcome::Unknown(_) => true,
    }
}

/// Records every event, resending what [`should_resend`] allows, for at most
/// `plan.max_rounds` rounds.
pub async fn record_all(
    backend: &dyn BillingBackend,
    events: &[UsageEvent],
    plan: SoakPlan,
) -> SoakReport {
    let started = Instant::now();
    let mut report = SoakReport {
        events: events.len(),
        ..SoakReport::default()
    };
    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    let mut pending: Vec<usize> = (0..events.len()).collect();
    let mut last_errors = Vec::new();
    while !pending.is_empty() && report.rounds < plan.max_rounds {
        report.rounds += 1;
        if report.rounds > 1 {
            report.resent += pending.len();
        }
        let batches: Vec<Vec<usize>> = pending
            .chunks(plan.batch.max(1))
            .map(<[usize]>::to_vec)
            .collect();
        let results: Vec<(Vec<usize>, Vec<EventOutcome>)> = futures::stream::iter(batches)
            .map(|indices| async move {
                let batch: Vec<UsageEvent> = indices.iter().map(|&i| events[i].clone()).collect();
                let outcomes = backend.record_usage(&batch).await;
                (indices, outcomes)
            })
            .buffer_unordered(plan.parallel_batches.max(1))
            .collect()
            .await;
        let mut next = Vec::new();
        last_errors.clear();
        for (indices, outcomes) in results {
            assert_eq!(indices.len(), outcomes.len(), "one outcome per event");
            for (i, outcome) in indices.into_iter().zip(outcomes) {
                let resend = should_resend(&outcome, backend.capabilities());
                match outcome {
                    EventOutcome::Accepted => report.accepted += 1,
                    EventOutcome::Duplicate => report.duplicates_reported += 1,
                    EventOutcome::Unknown(e) | EventOutcome::Rejected(e) if !resend => {
                        report.unrecorded.push((events[i].id.to_string(), e));
                    }
                    EventOutcome::Unknown(e) => {
                        report.resent_unknown_outcome += 1;
                        *kinds.entry(format!("unknown {}", e.kind())).or_default() += 1;
                        last_errors.push((events[i].id.to_string(), e));
                        next.push(i);
                    }
                    EventOutcome::Rejected(e) => {
                        *kinds.entry(e.kind().to_string()).or_default() += 1;
                        last_errors.push((events[i].id.to_string(), e));
                        next.push(i);
                    }
                }
            }
        }
        next.sort_unstable();
        pending = next;
    }
    report.unrecorded.extend(last_errors);
    report.resent_kinds = kinds.into_iter().collect();
    report.elapsed = started.elapsed();
    report
}
