//! Proving a cutover: every event the application sent counted exactly once, on the side that
//! bills its timestamp.
//!
//! Vendors answer usage totals, not event lists, so [`reconcile`] compares, per subscription and
//! metric and per side of the instant, the quantity each vendor counts with the quantity of the
//! events the application sent (its own record: an outbox, a log). A side that counts more
//! than was sent to it has counted something twice (or counted an event that belonged to the
//! other side); one that counts less has lost something (or it went to the other side). Where a
//! vendor can total any window (`usage_range`), a mismatch is narrowed down by halving the
//! window until the events at fault are named; otherwise the finding stays per metric.

use std::collections::{BTreeMap, HashSet};

use billing_core::chrono::{DateTime, Duration, Utc};
use billing_core::rust_decimal::Decimal;
use billing_core::{
    BillingBackend, EventId, MetricCode, Period, Result, SubscriptionKey, UsageEvent, UsagePeriod,
    UsageQuery,
};
use serde::{Deserialize, Serialize};

use super::plan::{CutoverPlan, Side};

/// At most this many extra usage reads to name the events behind one mismatch.
const LOCATE_BUDGET: usize = 64;

/// One event as the application sent it (what [`reconcile`] checks the vendors against).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SentEvent {
    /// The event id.
    pub id: EventId,
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// How much.
    pub quantity: Decimal,
}

/// One side's view of one subscription's metric.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideCount {
    /// Events sent that this side bills (by timestamp).
    pub events_sent: u64,
    /// Their total quantity.
    pub quantity_sent: Decimal,
    /// What the vendor counts for the side's window; `None` when it cannot say (no range
    /// query, and its current period is not the window).
    pub quantity_counted: Option<Decimal>,
    /// Counted beyond what was sent: counted twice, or an event of the other side.
    pub over: Decimal,
    /// Sent but not counted: lost, or counted on the other side.
    pub under: Decimal,
    /// The events at fault, when they could be named.
    pub suspect_events: Vec<EventId>,
    /// The window read.
    pub window: Option<Period>,
}

/// One subscription's metric on both sides of its instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricReconciliation {
    /// The subscription.
    pub subscription: SubscriptionKey,
    /// The metric.
    pub metric: MetricCode,
    /// Its cutover instant (`None`: not in the plan, billed by the target alone).
    pub instant: Option<DateTime<Utc>>,
    /// Before the instant.
    pub source: SideCount,
    /// At and after it.
    pub target: SideCount,
}

/// The whole reconciliation, as JSON for a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// Per subscription and metric.
    pub metrics: Vec<MetricReconciliation>,
    /// Totals of the source side.
    pub source: SideTotals,
    /// Totals of the target side.
    pub target: SideTotals,
}

/// Totals of one side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SideTotals {
    /// Events sent that this side bills.
    pub events_sent: u64,
    /// Their quantity.
    pub quantity_sent: Decimal,
    /// What the vendor counts (where it could say).
    pub quantity_counted: Decimal,
    /// Counted twice (or from the other side).
    pub counted_twice: Decimal,
    /// Lost (or counted on the other side).
    pub lost: Decimal,
    /// Metrics the vendor could not total for the window.
    pub unverifiable: u64,
}

impl Reconciliation {
    /// Every event counted exactly once, on its side, and every window verifiable.
    pub fn is_exact(&self) -> bool {
        [&self.source, &self.target]
            .iter()
            .all(|t| t.counted_twice.is_zero() && t.lost.is_zero() && t.unverifiable == 0)
    }

    /// A table for a terminal: per side (named `source_name` and `target_name`), events sent,
    /// quantity counted, counted twice, lost and unverifiable metrics, then the verdict.
    pub fn summary(&self, source_name: &str, target_name: &str) -> String {
        let mut out = vec![format!(
            "{:<24} {:>10} {:>10} {:>14} {:>6} {:>14}",
            "side", "sent", "counted", "counted twice", "lost", "unverifiable"
        )];
        for (name, side) in [(source_name, &self.source), (target_name, &self.target)] {
            out.push(format!(
                "{name:<24} {:>10} {:>10} {:>14} {:>6} {:>14}",
                side.events_sent,
                side.quantity_counted.normalize(),
                side.counted_twice.normalize(),
                side.lost.normalize(),
                side.unverifiable
            ));
        }
        out.push(if self.is_exact() {
            "every event counted exactly once, on the vendor that bills its timestamp".to_owned()
        } else {
            "MISMATCH: events counted twice, lost or unverifiable (see the report)".to_owned()
        });
        out.join("\n")
    }

    fn absorb(&mut self, m: MetricReconciliation) {
        for (totals, side) in [(&mut self.source, &m.source), (&mut self.target, &m.target)] {
            totals.events_sent += side.events_sent;
            totals.quantity_sent += side.quantity_sent;
            match side.quantity_counted {
                Some(q) => totals.quantity_counted += q,
                None if side.events_sent > 0 => totals.unverifiable += 1,
                None => {}
            }
            totals.counted_twice += side.over;
            totals.lost += side.under;
        }
        self.metrics.push(m);
    }
}

/// Reconciles what `sent` (every event the application sent through the cutover, keyed by
/// subscription and metric; an event id listed more than once is one event) should have made each vendor count with what it counts.
///
/// Each side is read over its own window: the source from the earliest event to the instant,
/// the target from the instant (or the earliest event) to just after the latest. A vendor
/// without range queries is read for its current period, which must be that window.
///
/// # Errors
/// A usage read that fails (other than `Unsupported` or `Conflict`, which make the side
/// unverifiable: the vendor cannot read that window, or cannot tell this subscription's usage
/// from another's).
pub async fn reconcile(
    source: &dyn BillingBackend,
    target: &dyn BillingBackend,
    plan: &CutoverPlan,
    sent: &[UsageEvent],
) -> Result<Reconciliation> {
    let mut groups: BTreeMap<(SubscriptionKey, MetricCode), Vec<SentEvent>> = BTreeMap::new();
    // An event sent more than once (a retry, a resend of an unknown outcome) is still one event
    // that must be counted once: the log of an at-least-once sender lists it each time.
    let mut seen = HashSet::new();
    for e in sent
        .iter()
        .filter(|e| seen.insert((&e.subscription, &e.id)))
    {
        groups
            .entry((e.subscription.clone(), e.metric.clone()))
            .or_default()
            .push(SentEvent {
                id: e.id.clone(),
                timestamp: e.timestamp,
                quantity: e.quantity,
            });
    }
    let mut out = Reconciliation::default();
    for ((subscription, metric), events) in groups {
        let instant = plan.instant(&subscription);
        let (before, after): (Vec<SentEvent>, Vec<SentEvent>) = events
            .into_iter()
            .partition(|e| plan.side_at(&subscription, e.timestamp) == Side::Source);
        let source_side = match instant {
            Some(i) if !before.is_empty() => {
                side(source, &subscription, &metric, &before, None, Some(i)).await?
            }
            _ => SideCount::default(),
        };
        let target_side = if after.is_empty() {
            SideCount::default()
        } else {
            side(target, &subscription, &metric, &after, instant, None).await?
        };
        out.absorb(MetricReconciliation {
            subscription,
            metric,
            instant,
            source: source_side,
            target: target_side,
        });
    }
    Ok(out)
}

fn window_of(
    events: &[SentEvent],
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Period {
    let first = events
        .iter()
        .map(|e| e.timestamp)
        .min()
        .unwrap_or_else(Utc::now);
    let last = events.iter().map(|e| e.timestamp).max().unwrap_or(first);
    Period {
        start: from.map_or(first, |f| f.min(first)),
        end: to.unwrap_or(last + Duration::milliseconds(1)),
    }
}

async fn counted(
    backend: &dyn BillingBackend,
    subscription: &SubscriptionKey,
    metric: &MetricCode,
    window: Period,
) -> Result<Option<Decimal>> {
    let caps = backend.capabilities();
    let period = if caps.usage_range {
        UsagePeriod::Range {
            from: window.start,
            to: window.end,
        }
    } else {
        UsagePeriod::Current
    };
    let mut query = UsageQuery::current(subscription.clone()).metric(metric.clone());
    query.period = period;
    let summary = match backend.usage(&query).await {
        Ok(s) => s,
        Err(e)
            if matches!(
                e.kind(),
                billing_core::ErrorKind::Unsupported | billing_core::ErrorKind::Conflict
            ) =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    // A current period read stands for the window only if it covers it.
    let covers = summary.period.start <= window.start && window.end <= summary.period.end;
    if !caps.usage_range && !covers {
        return Ok(None);
    }
    Ok(Some(
        summary
            .lines
            .iter()
            .filter(|l| &l.metric == metric)
            .map(|l| l.quantity)
            .sum(),
    ))
}

async fn side(
    backend: &dyn BillingBackend,
    subscription: &SubscriptionKey,
    metric: &MetricCode,
    events: &[SentEvent],
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<SideCount> {
    let window = window_of(events, from, to);
    let sent: Decimal = events.iter().map(|e| e.quantity).sum();
    let quantity_counted = counted(backend, subscription, metric, window).await?;
    let (over, under) = match quantity_counted {
        Some(c) if c > sent => (c - sent, Decimal::ZERO),
        Some(c) => (Decimal::ZERO, sent - c),
        None => (Decimal::ZERO, Decimal::ZERO),
    };
    let mut suspect_events = Vec::new();
    if (!over.is_zero() || !under.is_zero()) && backend.capabilities().usage_range {
        let mut budget = LOCATE_BUDGET;
        let mut sorted = events.to_vec();
        sorted.sort_by_key(|e| e.timestamp);
        locate(
            backend,
            subscription,
            metric,
            &sorted,
            window,
            &mut budget,
            &mut suspect_events,
        )
        .await?;
    }
    Ok(SideCount {
        events_sent: events.len() as u64,
        quantity_sent: sent,
        quantity_counted,
        over,
        under,
        suspect_events,
        window: Some(window),
    })
}

/// Halves a mismatching window at the middle event's timestamp until each mismatching part
/// holds events of one timestamp, and names them.
async fn locate(
    backend: &dyn BillingBackend,
    subscription: &SubscriptionKey,
    metric: &MetricCode,
    events: &[SentEvent],
    window: Period,
    budget: &mut usize,
    found: &mut Vec<EventId>,
) -> Result<()> {
    let mut stack = vec![(window, events.to_vec())];
    while let Some((w, evs)) = stack.pop() {
        let first = evs.first().map(|e| e.timestamp);
        let one_instant = evs.iter().all(|e| Some(e.timestamp) == first);
        if evs.is_empty() || one_instant || *budget < 2 {
            found.extend(evs.iter().map(|e| e.id.clone()));
            continue;
        }
        let middle = evs[evs.len() / 2].timestamp;
        let (left, right): (Vec<SentEvent>, Vec<SentEvent>) =
            evs.into_iter().partition(|e| e.timestamp < middle);
        for (part, part_events) in [
            (
                Period {
                    start: w.start,
                    end: middle,
                },
                left,
            ),
            (
                Period {
                    start: middle,
                    end: w.end,
                },
                right,
            ),
        ] {
            *budget -= 1;
            let sent: Decimal = part_events.iter().map(|e| e.quantity).sum();
            if counted(backend, subscription, metric, part).await? != Some(sent) {
                stack.push((part, part_events));
            }
        }
    }
    found.sort();
    found.dedup();
    Ok(())
}
