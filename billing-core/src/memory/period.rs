//! Billing-period arithmetic for the in-memory backend (anniversary billing).

use chrono::{DateTime, Duration, Months, Utc};

use crate::subscription::{BillingInterval, Period};

fn advance(t: DateTime<Utc>, interval: BillingInterval, n: u32) -> Option<DateTime<Utc>> {
    match interval {
        BillingInterval::Weekly => t.checked_add_signed(Duration::weeks(i64::from(n))),
        BillingInterval::Monthly => t.checked_add_months(Months::new(n)),
        BillingInterval::Quarterly => t.checked_add_months(Months::new(n.checked_mul(3)?)),
        BillingInterval::Yearly => t.checked_add_months(Months::new(n.checked_mul(12)?)),
    }
}

fn retreat(t: DateTime<Utc>, interval: BillingInterval) -> Option<DateTime<Utc>> {
    match interval {
        BillingInterval::Weekly => t.checked_sub_signed(Duration::weeks(1)),
        BillingInterval::Monthly => t.checked_sub_months(Months::new(1)),
        BillingInterval::Quarterly => t.checked_sub_months(Months::new(3)),
        BillingInterval::Yearly => t.checked_sub_months(Months::new(12)),
    }
}

/// The period of a subscription whose service started at `start` and whose billing begins at
/// `anchor` (its start when it has none) that contains `now`. Before a later anchor it is the
/// unbilled lead-in: one interval back from the anchor, no earlier than the start. From the
/// anchor on, periods follow its anniversary.
pub(crate) fn billing_period(
    start: DateTime<Utc>,
    anchor: Option<DateTime<Utc>>,
    interval: BillingInterval,
    now: DateTime<Utc>,
) -> Period {
    match anchor {
        Some(anchor) if anchor > start && now < anchor => Period {
            start: retreat(anchor, interval).map_or(start, |s| s.max(start)),
            end: anchor,
        },
        Some(anchor) => current_period(anchor.max(start), interval, now),
        None => current_period(start, interval, now),
    }
}

/// The billing period of a subscription billed from `start` that contains `now` (the first period
/// if `now` is before `start`).
pub(crate) fn current_period(
    start: DateTime<Utc>,
    interval: BillingInterval,
    now: DateTime<Utc>,
) -> Period {
    // Periods are counted from the start, never chained, so month-end anniversaries do not drift.
    let mut n = 0_u32;
    loop {
        let (Some(s), Some(e)) = (advance(start, interval, n), advance(start, interval, n + 1))
        else {
            return Period {
                start,
                end: DateTime::<Utc>::MAX_UTC,
            };
        };
        if now < e || n == u32::MAX - 1 {
            return Period { start: s, end: e };
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn monthly_periods_follow_the_anniversary() {
        let start = Utc.with_ymd_and_hms(2026, 1, 31, 12, 0, 0).unwrap();
        let p = current_period(
            start,
            BillingInterval::Monthly,
            Utc.with_ymd_and_hms(2026, 3, 5, 0, 0, 0).unwrap(),
        );
        assert_eq!(
            p.start,
            Utc.with_ymd_and_hms(2026, 2, 28, 12, 0, 0).unwrap()
        );
        assert_eq!(p.end, Utc.with_ymd_and_hms(2026, 3, 31, 12, 0, 0).unwrap());
        assert!(p.contains(Utc.with_ymd_and_hms(2026, 3, 5, 0, 0, 0).unwrap()));
    }

    #[test]
    fn an_anchor_makes_a_lead_in_then_periods_on_its_anniversary() {
        let t = |d, h| Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap();
        let start = t(2, 0);
        let anchor = t(20, 12);
        let lead_in = billing_period(start, Some(anchor), BillingInterval::Monthly, t(10, 0));
        assert_eq!((lead_in.start, lead_in.end), (start, anchor));
        let weekly = billing_period(start, Some(anchor), BillingInterval::Weekly, t(10, 0));
        assert_eq!((weekly.start, weekly.end), (t(13, 12), anchor));
        let first = billing_period(start, Some(anchor), BillingInterval::Monthly, anchor);
        assert_eq!(first.start, anchor);
        assert_eq!(
            first.end,
            Utc.with_ymd_and_hms(2026, 4, 20, 12, 0, 0).unwrap()
        );
        assert_eq!(
            billing_period(start, None, BillingInterval::Monthly, t(10, 0)),
            current_period(start, BillingInterval::Monthly, t(10, 0))
        );
    }

    #[test]
    fn first_period_before_and_at_start() {
        let start = Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap();
        let p = current_period(start, BillingInterval::Weekly, start);
        assert_eq!(p.start, start);
        assert_eq!(p.end, start + Duration::weeks(1));
    }
}
