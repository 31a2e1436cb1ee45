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

/// The billing period of a subscription started at `start` that contains `now` (the first period
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
    fn first_period_before_and_at_start() {
        let start = Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap();
        let p = current_period(start, BillingInterval::Weekly, start);
        assert_eq!(p.start, start);
        assert_eq!(p.end, start + Duration::weeks(1));
    }
}
