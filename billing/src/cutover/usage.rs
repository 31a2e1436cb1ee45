//! Usage during a cutover: events routed by timestamp, reads from whichever vendor bills the
//! window (both, summed, for a window across the instant).

use billing_core::chrono::{DateTime, Utc};
use billing_core::raw;
use billing_core::{
    BillingBackend, Error, EventOutcome, Money, Period, Result, UsageEvent, UsageLine, UsagePeriod,
    UsageQuery, UsageSummary,
};

use super::plan::{CutoverPlan, Side};

/// Sends each event to the vendor that bills its timestamp, both halves at once, and returns
/// one outcome per event in the order given.
pub(super) async fn record(
    plan: &CutoverPlan,
    source: &dyn BillingBackend,
    target: &dyn BillingBackend,
    events: &[UsageEvent],
) -> Vec<EventOutcome> {
    let sides: Vec<Side> = events
        .iter()
        .map(|e| plan.side_at(&e.subscription, e.timestamp))
        .collect();
    // A batch that is all on one side goes through as it is.
    for (side, backend) in [(Side::Source, source), (Side::Target, target)] {
        if sides.iter().all(|s| *s == side) {
            return send(backend, events).await;
        }
    }
    let side_of = |wanted: Side| -> Vec<UsageEvent> {
        let on_side = events
            .iter()
            .zip(&sides)
            .filter(|(_, side)| **side == wanted);
        on_side.map(|(e, _)| e.clone()).collect()
    };
    let (to_source, to_target) = (side_of(Side::Source), side_of(Side::Target));
    let (from_source, from_target) =
        futures::join!(send(source, &to_source), send(target, &to_target));
    // Each side answered one outcome per event it was sent: taking them in turn gives one per
    // event, in order.
    let mut from_source = from_source.into_iter();
    let mut from_target = from_target.into_iter();
    sides
        .into_iter()
        .filter_map(|side| match side {
            Side::Source => from_source.next(),
            Side::Target => from_target.next(),
        })
        .collect()
}

/// One outcome per event of `batch`: an event the backend gave no answer for may have been
/// recorded, so it is `Unknown`.
async fn send(backend: &dyn BillingBackend, batch: &[UsageEvent]) -> Vec<EventOutcome> {
    if batch.is_empty() {
        return Vec::new();
    }
    let outcomes = backend.record_usage(batch).await;
    raw::one_outcome_per_event(outcomes, batch.len(), || {
        Error::unexpected("the backend answered fewer outcomes than events")
    })
}

/// Reads usage from whichever vendor bills the queried window: for a subscription in the plan,
/// the source before the instant and the target from it on; a range across the instant is read
/// from both, each for its side, and summed.
pub(super) async fn read(
    plan: &CutoverPlan,
    source: &dyn BillingBackend,
    target: &dyn BillingBackend,
    query: &UsageQuery,
    now: DateTime<Utc>,
) -> Result<UsageSummary> {
    let Some(instant) = plan.instant(&query.subscription) else {
        return target.usage(query).await;
    };
    let UsagePeriod::Range { from, to } = query.period else {
        return if now < instant {
            source.usage(query).await
        } else {
            target.usage(query).await
        };
    };
    if to <= instant {
        return source.usage(query).await;
    }
    if from >= instant {
        return target.usage(query).await;
    }
    let part = |from, to| {
        let mut q = query.clone();
        q.period = UsagePeriod::Range { from, to };
        q
    };
    let (before_query, after_query) = (part(from, instant), part(instant, to));
    let (before, after) = futures::join!(source.usage(&before_query), target.usage(&after_query));
    Ok(sum(
        Period {
            start: from,
            end: to,
        },
        before?,
        after?,
    ))
}

/// Adds two summaries line by line. An amount is kept only when both sides price the metric in
/// the same currency (or only one side has the metric).
fn sum(period: Period, a: UsageSummary, b: UsageSummary) -> UsageSummary {
    let mut lines: Vec<UsageLine> = a.lines;
    for line in b.lines {
        match lines.iter_mut().find(|l| l.metric == line.metric) {
            Some(l) => {
                l.quantity += line.quantity;
                l.amount = match (l.amount, line.amount) {
                    (Some(x), Some(y)) if x.currency == y.currency => x
                        .minor
                        .checked_add(y.minor)
                        .map(|minor| Money::from_minor(minor, x.currency)),
                    _ => None,
                };
            }
            None => lines.push(line),
        }
    }
    UsageSummary::new(period, lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::{Currency, MetricCode};

    #[test]
    fn sums_quantities_and_amounts_of_the_same_currency() {
        let m = |s: &str| MetricCode::new(s).unwrap();
        let p = Period {
            start: Utc::now(),
            end: Utc::now(),
        };
        let usd = |minor| Some(Money::from_minor(minor, Currency::USD));
        let a = UsageSummary::new(
            p,
            vec![
                UsageLine::new(m("calls"), 3.into(), usd(30)),
                UsageLine::new(m("gb"), 1.into(), None),
            ],
        );
        let b = UsageSummary::new(
            p,
            vec![
                UsageLine::new(m("calls"), 2.into(), usd(20)),
                UsageLine::new(m("seats"), 5.into(), usd(50)),
            ],
        );
        let s = sum(p, a, b);
        let calls = s.lines.iter().find(|l| l.metric == m("calls")).unwrap();
        assert_eq!(calls.quantity, 5.into());
        assert_eq!(calls.amount, usd(50));
        assert_eq!(s.lines.len(), 3);
    }
}
