//! Billing periods, which Kill Bill leaves to its clients: the period a subscription is in,
//! from its billing start, bill-cycle day, billing period and `chargedThroughDate`.

use billing_core::Period;
use billing_core::chrono::{
    DateTime, Datelike, Duration, Months, NaiveDate, NaiveTime, TimeZone, Utc,
};

use super::{opt_datetime, parse_date, time_of_day};
use crate::wire;

/// How long a billing period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Months(u32),
    Days(i64),
}

/// Kill Bill's `BillingPeriod`; a usage-only plan (`NO_BILLING_PERIOD`) bills its usage monthly
/// in this adapter's reading (the period of the catalog's usage sections is not in the
/// subscription's JSON).
fn step(billing_period: Option<&str>) -> Step {
    match billing_period.unwrap_or("") {
        "DAILY" => Step::Days(1),
        "WEEKLY" => Step::Days(7),
        "BIWEEKLY" => Step::Days(14),
        "THIRTY_DAYS" => Step::Days(30),
        "THIRTY_ONE_DAYS" => Step::Days(31),
        "SIXTY_DAYS" => Step::Days(60),
        "NINETY_DAYS" => Step::Days(90),
        "BIMESTRIAL" => Step::Months(2),
        "QUARTERLY" => Step::Months(3),
        "TRIANNUAL" => Step::Months(4),
        "BIANNUAL" => Step::Months(6),
        "ANNUAL" => Step::Months(12),
        "SESQUIENNIAL" => Step::Months(18),
        "BIENNIAL" => Step::Months(24),
        "TRIENNIAL" => Step::Months(36),
        _ => Step::Months(1),
    }
}

/// Day `bcd` of the month `index` months after January of year 0, clamped to the month's last
/// day (a bill-cycle day of 31 falls on February 28).
fn cycle_date(index: i64, bcd: u32) -> Option<NaiveDate> {
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let last_day = first
        .checked_add_months(Months::new(1))
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day());
    NaiveDate::from_ymd_opt(year, month, bcd.clamp(1, last_day))
}

fn month_index(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

/// A local date as the instant Kill Bill makes of it: that day at the account's reference time
/// of day.
fn at(date: NaiveDate, tod: NaiveTime) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_time(tod))
}

/// The billing period containing `anchor` for a subscription billed from `start` on
/// bill-cycle day `bcd`, with local dates turned into instants at `tod`. As Kill Bill aligns
/// them: the first cycle date is the first date on or after the start's date that falls on the
/// bill-cycle day; a start on another day makes a first, short period up to it; periods then
/// last whole steps. Day-based periods simply run from the start.
fn period_at(
    start: DateTime<Utc>,
    bcd: u32,
    tod: NaiveTime,
    step: Step,
    anchor: DateTime<Utc>,
) -> Option<Period> {
    let n = match step {
        Step::Days(days) => {
            let k = if anchor <= start {
                0
            } else {
                (anchor - start).num_days() / days
            };
            let s = start.checked_add_signed(Duration::days(k.checked_mul(days)?))?;
            return Some(Period {
                start: s,
                end: s.checked_add_signed(Duration::days(days))?,
            });
        }
        Step::Months(n) => i64::from(n),
    };
    let start_date = start.date_naive();
    let first_cycle = (month_index(start_date)..month_index(start_date) + 2)
        .filter_map(|i| cycle_date(i, bcd))
        .find(|d| *d >= start_date)?;
    // Boundary k (k >= 0) ends period k; period 0 starts at the start.
    let base = month_index(first_cycle) + if first_cycle == start_date { n } else { 0 };
    let boundary = |k: i64| {
        Some(at(
            cycle_date(base.checked_add(k.checked_mul(n)?)?, bcd)?,
            tod,
        ))
    };
    let first_end = boundary(0)?;
    if anchor < first_end {
        return Some(Period {
            start,
            end: first_end,
        });
    }
    let estimate = (month_index(anchor.date_naive()) - base).div_euclid(n);
    for k in (estimate - 1).max(0)..=estimate + 1 {
        let (s, e) = (boundary(k)?, boundary(k + 1)?);
        if s <= anchor && anchor < e {
            return Some(Period { start: s, end: e });
        }
    }
    None
}

/// The subscription's billing period that usage "now" belongs to: the current one while it
/// runs, the last one once it ended (capped at its billing end). Computed from the billing
/// start, the bill-cycle day and the plan's billing period, because right after a create the
/// server has not invoiced yet and shows no `chargedThroughDate`; when it does, that end of the
/// invoiced term may shorten the period. `None` without a start date.
pub fn usage_period(
    sub: &wire::Subscription,
    tod: Option<NaiveTime>,
    now: DateTime<Utc>,
) -> Option<Period> {
    let start = opt_datetime(&sub.billing_start_date).or_else(|| opt_datetime(&sub.start_date))?;
    let step = step(sub.billing_period.as_deref());
    // Billing starts later than the service (a migrated subscription's billing anchor): until
    // then the subscription is in an unbilled lead-in that ends where billing starts.
    if let Some(entitlement) = opt_datetime(&sub.start_date)
        && entitlement < start
        && now < start
    {
        let back = match step {
            Step::Months(n) => start.checked_sub_months(Months::new(n)),
            Step::Days(d) => start.checked_sub_signed(Duration::days(d)),
        };
        return Some(Period {
            start: back.map_or(entitlement, |b| b.max(entitlement)),
            end: start,
        });
    }
    let tod = tod.unwrap_or_else(|| time_of_day(start));
    let bcd = sub
        .bill_cycle_day_local
        .and_then(|b| u32::try_from(b).ok())
        .filter(|b| (1..=31).contains(b))
        .unwrap_or_else(|| start.day());
    let ended = matches!(sub.state.as_deref(), Some("CANCELLED" | "EXPIRED"));
    let end_marker = if ended {
        [
            opt_datetime(&sub.billing_end_date),
            opt_datetime(&sub.cancelled_date),
        ]
        .into_iter()
        .flatten()
        .max()
        .filter(|e| *e <= now)
    } else {
        None
    };
    let anchor = match end_marker {
        Some(e) => (e - Duration::milliseconds(1)).max(start),
        None => now,
    };
    let mut period = period_at(start, bcd, tod, step, anchor)?;
    // The invoiced term refines the end when it falls inside the computed period (Kill Bill
    // made the period shorter); a term invoiced further ahead does not move it.
    if let Some(ctd) = sub.charged_through_date.as_deref().and_then(parse_date) {
        let ctd = at(ctd, tod);
        if ctd > anchor && ctd < period.end {
            period.end = ctd;
        }
    }
    if let Some(e) = end_marker {
        period.end = period.end.min(e).max(period.start);
    }
    Some(period)
}

/// Whether Kill Bill knows the end of the subscription's term: END_OF_TERM policies use the
/// `chargedThroughDate`, and without one the server acts at once (observed for a usage-only
/// plan; also the case for a few hundred milliseconds after a create, until the first invoice).
pub fn term_is_known(sub: &wire::Subscription) -> bool {
    sub.charged_through_date
        .as_deref()
        .and_then(parse_date)
        .is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn tod(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M:%S").unwrap()
    }

    fn sub(start: &str, bcd: Option<i64>, period: &str) -> wire::Subscription {
        wire::Subscription {
            state: Some("ACTIVE".into()),
            start_date: Some(start.into()),
            billing_start_date: Some(start.into()),
            bill_cycle_day_local: bcd,
            billing_period: Some(period.into()),
            ..Default::default()
        }
    }

    fn period(sub: &wire::Subscription, tod: Option<NaiveTime>, now: &str) -> (String, String) {
        let p = usage_period(sub, tod, t(now)).unwrap();
        (p.start.to_rfc3339(), p.end.to_rfc3339())
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (t(a).to_rfc3339(), t(b).to_rfc3339())
    }

    #[test]
    fn monthly_periods_as_observed() {
        // Observed: account created 21:28:36, subscription started 21:28:41, BCD 21; the end of
        // term is 2026-12-21 at the account's time of day.
        let s = sub("2026-11-21T21:28:41.000Z", Some(21), "MONTHLY");
        let ref_tod = Some(tod("21:28:36"));
        assert_eq!(
            period(&s, ref_tod, "2026-11-22T00:00:00Z"),
            pair("2026-11-21T21:28:41Z", "2026-12-21T21:28:36Z")
        );
        assert_eq!(
            period(&s, ref_tod, "2027-01-05T00:00:00Z"),
            pair("2026-12-21T21:28:36Z", "2027-01-21T21:28:36Z")
        );
        assert_eq!(
            period(&s, ref_tod, "2026-12-21T21:28:36Z"),
            pair("2026-12-21T21:28:36Z", "2027-01-21T21:28:36Z"),
            "a boundary starts the next period"
        );
        // Without the account's time of day, the start's.
        assert_eq!(
            period(&s, None, "2026-11-22T00:00:00Z"),
            pair("2026-11-21T21:28:41Z", "2026-12-21T21:28:41Z")
        );
    }

    #[test]
    fn a_later_billing_start_makes_an_unbilled_lead_in() {
        // Migrated: running since 2026-09-14, billed from the anchor 2026-12-10 on day 10.
        let mut s = sub("2026-12-10T00:00:00.000Z", Some(10), "MONTHLY");
        s.start_date = Some("2026-09-14T08:00:00.000Z".into());
        let ref_tod = Some(tod("00:00:00"));
        assert_eq!(
            period(&s, ref_tod, "2026-12-01T00:00:00Z"),
            pair("2026-11-10T00:00:00Z", "2026-12-10T00:00:00Z"),
            "one billing period back from the anchor"
        );
        assert_eq!(
            period(&s, ref_tod, "2026-12-10T00:00:00Z"),
            pair("2026-12-10T00:00:00Z", "2027-01-10T00:00:00Z"),
            "the first billed period starts at the anchor"
        );
        // A lead-in never starts before the service did.
        s.start_date = Some("2026-12-01T00:00:00.000Z".into());
        assert_eq!(
            period(&s, ref_tod, "2026-12-05T00:00:00Z"),
            pair("2026-12-01T00:00:00Z", "2026-12-10T00:00:00Z")
        );
    }

    #[test]
    fn the_invoiced_term_may_shorten_but_never_stretch_the_period() {
        let mut s = sub("2026-11-21T21:28:41.000Z", Some(21), "MONTHLY");
        s.charged_through_date = Some("2026-12-21".into());
        let same = period(&s, Some(tod("21:28:36")), "2026-11-22T00:00:00Z");
        assert_eq!(same, pair("2026-11-21T21:28:41Z", "2026-12-21T21:28:36Z"));
        s.charged_through_date = Some("2026-12-10".into());
        let shorter = period(&s, Some(tod("21:28:36")), "2026-11-22T00:00:00Z");
        assert_eq!(shorter.1, t("2026-12-10T21:28:36Z").to_rfc3339());
        s.charged_through_date = Some("2027-03-21".into());
        let ahead = period(&s, Some(tod("21:28:36")), "2026-11-22T00:00:00Z");
        assert_eq!(ahead.1, t("2026-12-21T21:28:36Z").to_rfc3339());
        s.charged_through_date = Some("2026-11-01".into());
        let past = period(&s, Some(tod("21:28:36")), "2026-11-22T00:00:00Z");
        assert_eq!(past, same, "a stale term is ignored");
    }

    #[test]
    fn bill_cycle_days_clamp_to_the_month_and_align_a_short_first_period() {
        let s = sub("2026-01-31T10:00:00Z", Some(31), "MONTHLY");
        assert_eq!(
            period(&s, None, "2026-02-15T00:00:00Z"),
            pair("2026-01-31T10:00:00Z", "2026-02-28T10:00:00Z")
        );
        assert_eq!(
            period(&s, None, "2026-03-01T00:00:00Z"),
            pair("2026-02-28T10:00:00Z", "2026-03-31T10:00:00Z")
        );
        // Account BCD 5, subscription started on the 20th: short first period.
        let aligned = sub("2026-05-20T08:00:00Z", Some(5), "MONTHLY");
        assert_eq!(
            period(&aligned, None, "2026-05-25T00:00:00Z"),
            pair("2026-05-20T08:00:00Z", "2026-06-05T08:00:00Z")
        );
        assert_eq!(
            period(&aligned, None, "2026-06-05T08:00:01Z"),
            pair("2026-06-05T08:00:00Z", "2026-07-05T08:00:00Z")
        );
    }

    #[test]
    fn other_billing_periods() {
        let annual = sub("2026-03-10T12:00:00Z", Some(10), "ANNUAL");
        assert_eq!(
            period(&annual, None, "2026-09-01T00:00:00Z"),
            pair("2026-03-10T12:00:00Z", "2027-03-10T12:00:00Z")
        );
        assert_eq!(
            period(&annual, None, "2027-03-11T00:00:00Z"),
            pair("2027-03-10T12:00:00Z", "2028-03-10T12:00:00Z")
        );
        let quarterly = sub("2026-03-10T12:00:00Z", Some(1), "QUARTERLY");
        assert_eq!(
            period(&quarterly, None, "2026-04-15T00:00:00Z"),
            pair("2026-04-01T12:00:00Z", "2026-07-01T12:00:00Z")
        );
        let weekly = sub("2026-03-10T12:00:00Z", None, "WEEKLY");
        assert_eq!(
            period(&weekly, None, "2026-03-20T00:00:00Z"),
            pair("2026-03-17T12:00:00Z", "2026-03-24T12:00:00Z")
        );
        // A usage-only plan: no bill-cycle day, usage billed monthly from the start.
        let usage_only = sub("2026-11-21T21:29:31.000Z", None, "NO_BILLING_PERIOD");
        assert_eq!(
            period(&usage_only, None, "2026-11-21T22:00:00Z"),
            pair("2026-11-21T21:29:31Z", "2026-12-21T21:29:31Z")
        );
        let pending = sub("2026-12-01T00:00:00Z", Some(1), "MONTHLY");
        assert_eq!(
            period(&pending, None, "2026-11-01T00:00:00Z"),
            pair("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z"),
            "before the start: the first period"
        );
    }

    #[test]
    fn an_ended_subscription_keeps_its_last_period_up_to_its_end() {
        let mut s = sub("2026-11-21T21:28:41.000Z", Some(21), "MONTHLY");
        s.state = Some("CANCELLED".into());
        s.cancelled_date = Some("2026-11-21T21:28:41.000Z".into());
        s.billing_end_date = Some("2026-11-25T10:00:00.000Z".into());
        assert_eq!(
            period(&s, None, "2027-02-01T00:00:00Z"),
            pair("2026-11-21T21:28:41Z", "2026-11-25T10:00:00Z")
        );
        // Ended at its start (an IMMEDIATE cancel on the start day): an empty period.
        s.billing_end_date = None;
        let p = usage_period(&s, None, t("2027-02-01T00:00:00Z")).unwrap();
        assert_eq!(p.start, p.end);
        assert!(usage_period(&wire::Subscription::default(), None, Utc::now()).is_none());
    }

    #[test]
    fn the_term_is_known_from_the_charged_through_date() {
        let mut s = sub("2026-11-21T21:28:41.000Z", Some(21), "MONTHLY");
        assert!(!term_is_known(&s));
        s.charged_through_date = Some("2026-12-21".into());
        assert!(term_is_known(&s));
    }
}
