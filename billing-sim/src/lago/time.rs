//! Time: the simulator's clock, Lago's timestamp formats, ISO 8601 parsing, and billing periods
//! (calendar or anniversary, in UTC).

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Timelike, Utc};

/// The simulator's clock. It follows real time (shifted by an offset that tests move forward)
/// until it is set, from then on it is frozen and moves only when advanced, so tests are
/// deterministic. [`Clock::tick`] readings strictly increase (by a microsecond when time stands
/// still), so records created in a row get distinct, ordered `created_at` values.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    offset: Duration,
    frozen: Option<DateTime<Utc>>,
    last: DateTime<Utc>,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Self {
            offset: Duration::zero(),
            frozen: None,
            last: DateTime::<Utc>::MIN_UTC,
        }
    }

    /// The current simulated time, to the microsecond (Postgres precision).
    pub(crate) fn now(&self) -> DateTime<Utc> {
        if let Some(t) = self.frozen {
            return t;
        }
        let t = Utc::now() + self.offset;
        t.with_nanosecond(t.timestamp_subsec_micros() * 1000)
            .unwrap_or(t)
    }

    /// A creation timestamp: like [`Clock::now`], but strictly after the previous one.
    pub(crate) fn tick(&mut self) -> DateTime<Utc> {
        let mut t = self.now();
        if t <= self.last {
            t = self.last + Duration::microseconds(1);
        }
        self.last = t;
        t
    }

    pub(crate) fn advance(&mut self, by: Duration) {
        match &mut self.frozen {
            Some(t) => *t += by,
            None => self.offset += by,
        }
    }

    /// Freezes the clock at `at`.
    pub(crate) fn set(&mut self, at: DateTime<Utc>) {
        self.frozen = Some(at);
        self.last = self.last.min(at);
    }
}

/// `2022-04-29T08:59:51Z`: Rails' `iso8601` with no fraction.
pub(crate) fn fmt_s(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `2022-04-29T08:59:51.998Z`: `iso8601(3)`.
pub(crate) fn fmt_ms(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// `2022-04-29`.
pub(crate) fn fmt_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Parses an ISO 8601 date-time the way Lago accepts it: RFC 3339 (`Z` or an offset, optional
/// fraction), a date-time without zone (taken as UTC), or a bare date (midnight UTC).
pub(crate) fn parse_iso(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Utc.from_utc_datetime(&n));
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| Utc.from_utc_datetime(&n))
}

/// Midnight UTC at the start of `t`'s day.
pub(crate) fn start_of_day(t: DateTime<Utc>) -> DateTime<Utc> {
    midnight(t.date_naive())
}

fn midnight(d: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&d.and_time(chrono::NaiveTime::MIN))
}

pub(crate) use crate::catalog::Interval;

/// Lago's plan intervals: the catalog's, under the same names.
impl Interval {
    /// A plan's `interval` (`weekly`, `monthly`, `quarterly`, `semiannual`, `yearly`).
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "weekly" => Self::Weekly,
            "monthly" => Self::Monthly,
            "quarterly" => Self::Quarterly,
            "semiannual" => Self::Semiannual,
            "yearly" => Self::Yearly,
            _ => return None,
        })
    }

    /// How many periods make a year (`yearly_amount_cents` = amount_cents x this).
    pub(crate) fn per_year(self) -> i64 {
        match self {
            Self::Weekly => 52,
            Self::Monthly => 12,
            Self::Quarterly => 4,
            Self::Semiannual => 2,
            Self::Yearly => 1,
        }
    }

    fn months(self) -> Option<i32> {
        match self {
            Self::Weekly => None,
            Self::Monthly => Some(1),
            Self::Quarterly => Some(3),
            Self::Semiannual => Some(6),
            Self::Yearly => Some(12),
        }
    }
}

/// The billing period `[start, end)` containing `t`. Calendar periods start on Monday, the 1st of
/// the month, of the quarter, of the half-year or of the year; anniversary periods start on the
/// weekday or day of month of `anchor` (the subscription date), clamped to short months.
pub(crate) fn period_containing(
    interval: Interval,
    anniversary: bool,
    anchor: DateTime<Utc>,
    t: DateTime<Utc>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let day = t.date_naive();
    let Some(n) = interval.months() else {
        let week_start = if anniversary {
            anchor.weekday().num_days_from_monday()
        } else {
            0
        };
        let back = (7 + day.weekday().num_days_from_monday() - week_start) % 7;
        let start = day - Duration::days(i64::from(back));
        return (midnight(start), midnight(start + Duration::days(7)));
    };
    let month_index = |d: NaiveDate| d.year() * 12 + d.month0() as i32;
    let (anchor_index, anchor_day) = if anniversary {
        (month_index(anchor.date_naive()), anchor.day())
    } else {
        (0, 1)
    };
    let idx = month_index(day);
    let mut start_idx = idx - (idx - anchor_index).rem_euclid(n);
    let mut start = build_date(start_idx, anchor_day);
    if start > day {
        start_idx -= n;
        start = build_date(start_idx, anchor_day);
    }
    let end = build_date(start_idx + n, anchor_day);
    (midnight(start), midnight(end))
}

/// The date `day` of the month with index `year * 12 + month0`, clamped to the month's length.
fn build_date(month_index: i32, day: u32) -> NaiveDate {
    let year = month_index.div_euclid(12);
    let month = month_index.rem_euclid(12) as u32 + 1;
    let mut d = day;
    loop {
        if let Some(date) = NaiveDate::from_ymd_opt(year, month, d) {
            return date;
        }
        if d <= 1 {
            return NaiveDate::MIN;
        }
        d -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse_iso(s).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    #[test]
    fn calendar_and_anniversary_periods() {
        let t = at("2026-02-14T10:00:00Z");
        let anchor = at("2025-11-30T09:00:00Z");
        assert_eq!(
            period_containing(Interval::Monthly, false, anchor, t),
            (at("2026-02-01"), at("2026-03-01"))
        );
        assert_eq!(
            period_containing(Interval::Monthly, true, anchor, t),
            (at("2026-01-30"), at("2026-02-28"))
        );
        assert_eq!(
            period_containing(Interval::Quarterly, false, anchor, t),
            (at("2026-01-01"), at("2026-04-01"))
        );
        assert_eq!(
            period_containing(Interval::Yearly, true, anchor, t),
            (at("2025-11-30"), at("2026-11-30"))
        );
        // 2026-02-14 is a Saturday.
        assert_eq!(
            period_containing(Interval::Weekly, false, anchor, t),
            (at("2026-02-09"), at("2026-02-16"))
        );
    }

    #[test]
    fn formats_and_parsing() {
        let t = at("2022-04-29T08:59:51.998+00:00");
        assert_eq!(fmt_s(t), "2022-04-29T08:59:51Z");
        assert_eq!(fmt_ms(t), "2022-04-29T08:59:51.998Z");
        assert_eq!(at("2022-04-29T10:59:51+02:00"), at("2022-04-29T08:59:51Z"));
        assert!(parse_iso("yesterday").is_none());
    }

    #[test]
    fn ticks_increase() {
        let mut c = Clock::new();
        let a = c.tick();
        let b = c.tick();
        assert!(b > a);
        c.advance(Duration::days(40));
        assert!(c.now() > b + Duration::days(39));
        let t = at("2030-01-01T00:00:00Z");
        c.set(t);
        let (x, y) = (c.tick(), c.tick());
        assert!(x >= t && y > x);
        assert_eq!(c.now(), t);
        c.advance(Duration::days(1));
        assert_eq!(c.now(), at("2030-01-02T00:00:00Z"));
    }
}
