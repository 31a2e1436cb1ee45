//! The simulator's clock, Kill Bill's date formats (Joda on the wire) and monthly billing periods.
//!
//! The clock is Kill Bill's test-mode `ClockMock`: real time plus an offset. It moves with real
//! time, as the server's does, and `/1.0/kb/test/clock` (or `KillBillSim::set_clock` /
//! `advance_clock`) shifts it. What the server stores goes through `datetime` columns of whole
//! seconds, and even the clock resource answers `.000` milliseconds (observed), so
//! [`Clock::now`] reads whole seconds. Every date is UTC, as the server forces
//! `user.timezone=GMT`.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{
    DateTime, Datelike, Duration, DurationRound, NaiveDate, NaiveDateTime, NaiveTime, Utc,
};

/// A shared clock: real time plus an offset, like Kill Bill's `ClockMock`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Clock {
    offset: Arc<Mutex<Duration>>,
}

impl Clock {
    /// A clock reading real time.
    pub(crate) fn real_time() -> Self {
        Self::default()
    }

    fn offset(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The simulated current time as the server stores it: whole seconds.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.truncated(Duration::seconds(1))
    }

    fn truncated(&self, unit: Duration) -> DateTime<Utc> {
        let real = Utc::now();
        let t = real.checked_add_signed(self.offset()).unwrap_or(real);
        t.duration_trunc(unit).unwrap_or(t)
    }

    /// Makes the clock read `at` now; it keeps moving with real time from there
    /// (`ClockMock.setTime`).
    pub(crate) fn set(&self, at: DateTime<Utc>) {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner) = at - Utc::now();
    }

    /// Back to real time (`ClockMock.resetDeltaFromReality`).
    pub(crate) fn reset(&self) {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner) = Duration::zero();
    }

    /// Moves the clock forward (or backward, for a negative duration).
    pub(crate) fn advance(&self, by: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(PoisonError::into_inner);
        *offset = offset.checked_add(&by).unwrap_or(*offset);
    }

    /// Moves the clock by whole calendar months, as Joda's `plusMonths` does (the day is clamped
    /// to the target month's last day).
    pub(crate) fn advance_months(&self, months: i32) {
        let now = self.now();
        let moved = if months >= 0 {
            now.checked_add_months(chrono::Months::new(months.unsigned_abs()))
        } else {
            now.checked_sub_months(chrono::Months::new(months.unsigned_abs()))
        };
        if let Some(moved) = moved {
            self.advance(moved - now);
        }
    }
}

/// A Joda `DateTime` as Jackson writes it: `2024-05-01T10:00:00.000Z`.
pub(crate) fn fmt_datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A Joda `LocalDate`: `2024-05-01`.
pub(crate) fn fmt_date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// A `java.util.Date` as Jackson's `StdDateFormat` writes it: `2020-01-01T00:00:00.000+00:00`.
pub(crate) fn fmt_java_date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+00:00").to_string()
}

/// A date or date-time as accepted by Joda's `ISODateTimeFormat.dateTimeParser()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// Only a date was given (`2024-05-01`).
    Date(NaiveDate),
    /// A time was given; a missing offset means UTC (the server runs in GMT).
    DateTime(DateTime<Utc>),
}

impl Parsed {
    /// As an instant: a bare date is midnight UTC.
    pub(crate) fn instant(self) -> DateTime<Utc> {
        match self {
            Parsed::Date(d) => d.and_time(NaiveTime::MIN).and_utc(),
            Parsed::DateTime(t) => t,
        }
    }
}

/// Parses `yyyy[-MM[-dd]][Thh[:mm[:ss[.fff]]][Z|±hh[:mm]]]`, the forms Kill Bill clients send.
pub(crate) fn parse_joda(s: &str) -> Option<Parsed> {
    let s = s.trim();
    let (date_part, time_part) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let date = parse_date(date_part)?;
    let Some(time_part) = time_part else {
        return Some(Parsed::Date(date));
    };
    let (time_str, offset_secs) = split_offset(time_part)?;
    let time = parse_time(time_str)?;
    let local = NaiveDateTime::new(date, time);
    let utc = local.checked_sub_signed(Duration::seconds(offset_secs))?;
    Some(Parsed::DateTime(utc.and_utc()))
}

fn digits(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let mut parts = s.split('-');
    let year = digits(parts.next()?, 4, 4)?;
    let month = parts.next().map(|m| digits(m, 1, 2)).unwrap_or(Some(1))?;
    let day = parts.next().map(|d| digits(d, 1, 2)).unwrap_or(Some(1))?;
    if parts.next().is_some() {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

fn split_offset(t: &str) -> Option<(&str, i64)> {
    if let Some(rest) = t.strip_suffix('Z').or_else(|| t.strip_suffix('z')) {
        return Some((rest, 0));
    }
    let Some(pos) = t.rfind(['+', '-']) else {
        return Some((t, 0));
    };
    let (time, offset) = t.split_at(pos);
    let sign: i64 = if offset.starts_with('-') { -1 } else { 1 };
    let body = &offset[1..];
    let (h, m) = match body.split_once(':') {
        Some((h, m)) => (digits(h, 2, 2)?, digits(m, 2, 2)?),
        None if body.len() == 4 && body.is_ascii() => {
            (digits(&body[..2], 2, 2)?, digits(&body[2..], 2, 2)?)
        }
        None => (digits(body, 2, 2)?, 0),
    };
    if h > 23 || m > 59 {
        return None;
    }
    Some((time, sign * (i64::from(h) * 3600 + i64::from(m) * 60)))
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let (hms, frac) = match s.split_once(['.', ',']) {
        Some((a, f)) => (a, Some(f)),
        None => (s, None),
    };
    let mut parts = hms.split(':');
    let h = digits(parts.next()?, 2, 2)?;
    let m = parts.next().map(|m| digits(m, 2, 2)).unwrap_or(Some(0))?;
    let sec = parts.next().map(|x| digits(x, 2, 2)).unwrap_or(Some(0))?;
    if parts.next().is_some() {
        return None;
    }
    let nanos = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()) => {
            let padded = format!("{f:0<9}");
            padded.parse().ok()?
        }
        Some(_) => return None,
    };
    // Joda keeps milliseconds only.
    NaiveTime::from_hms_nano_opt(h, m, sec, nanos / 1_000_000 * 1_000_000)
}

/// A local date as an instant, the way Kill Bill converts it (`toUTCDateTime`): that day at the
/// account's reference time of day (the time the account was created).
pub(crate) fn at_reference_time(
    date: NaiveDate,
    reference_time_of_day: NaiveTime,
) -> DateTime<Utc> {
    date.and_time(reference_time_of_day).and_utc()
}

/// Resolves a `requestedDate`-style query value: a date-time is used as is; a bare date is that
/// day at the account's reference time of day (even for today: there is no "today means now").
pub(crate) fn resolve_requested(parsed: Parsed, reference_time_of_day: NaiveTime) -> DateTime<Utc> {
    match parsed {
        Parsed::DateTime(t) => t,
        Parsed::Date(d) => at_reference_time(d, reference_time_of_day),
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let (ny, nm) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(ny, nm, 1)
        .and_then(|d| d.pred_opt())
        .map_or(28, |d| d.day())
}

/// The billing-cycle date of the month `index` (months since year 0) at `time`: day `bcd`,
/// clamped to the month's last day.
fn cycle_date(index: i64, bcd: u32, time: NaiveTime) -> Option<DateTime<Utc>> {
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = u32::try_from(index.rem_euclid(12)).ok()? + 1;
    let day = bcd.clamp(1, days_in_month(year, month));
    Some(
        NaiveDate::from_ymd_opt(year, month, day)?
            .and_time(time)
            .and_utc(),
    )
}

fn month_index(t: DateTime<Utc>) -> i64 {
    i64::from(t.year()) * 12 + i64::from(t.month0())
}

/// Monthly billing periods of a subscription billed from `start` on bill-cycle day `bcd`: the
/// period boundaries fall on that day of each month (clamped to the month's end), at the
/// account's reference time of day, as Kill Bill turns its local charged-through dates into
/// instants.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Periods {
    /// Billing start.
    pub(crate) start: DateTime<Utc>,
    /// Bill-cycle day (1-31).
    pub(crate) bcd: u32,
    /// The account's reference time of day.
    pub(crate) time_of_day: NaiveTime,
}

impl Periods {
    /// Whether a cycle date is a boundary: Kill Bill aligns on local dates, so the first one is
    /// the first bill-cycle date after the billing start's date (a start on the bill-cycle day
    /// makes a whole first period, whatever the time of day).
    fn is_boundary(&self, c: DateTime<Utc>) -> bool {
        c.date_naive() > self.start.date_naive()
    }

    /// The first period boundary strictly after `t` (and after the billing start).
    pub(crate) fn end_of_period_at(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let t = t.max(self.start);
        let time = self.time_of_day;
        let m = month_index(t);
        for index in m..m + 3 {
            if let Some(c) = cycle_date(index, self.bcd, time)
                && c > t
                && self.is_boundary(c)
            {
                return c;
            }
        }
        // Unreachable for real dates; fall back to a plain month.
        t.checked_add_months(chrono::Months::new(1)).unwrap_or(t)
    }

    /// The start of the period containing `t`: the last boundary at or before `t`, or the
    /// billing start.
    pub(crate) fn start_of_period_at(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        if t <= self.start {
            return self.start;
        }
        let time = self.time_of_day;
        let m = month_index(t);
        for index in [m, m - 1] {
            if let Some(c) = cycle_date(index, self.bcd, time)
                && c <= t
                && self.is_boundary(c)
            {
                return c;
            }
        }
        self.start
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(s: &str) -> DateTime<Utc> {
        parse_joda(s).unwrap().instant()
    }

    #[test]
    fn parses_joda_forms() {
        assert_eq!(
            parse_joda("2024-05-01"),
            Some(Parsed::Date(NaiveDate::from_ymd_opt(2024, 5, 1).unwrap()))
        );
        assert_eq!(
            dt("2024-05-01T10:00:00.000Z"),
            dt("2024-05-01T12:00:00+02:00")
        );
        assert_eq!(dt("2024-05-01T10:00"), dt("2024-05-01T10:00:00Z"));
        assert_eq!(dt("2024-05-01T10:00:00-0130"), dt("2024-05-01T11:30:00Z"));
        assert!(parse_joda("yesterday").is_none());
        assert!(parse_joda("2024-13-01").is_none());
        assert!(parse_joda("2024-05-01T25:00").is_none());
        assert!(parse_joda("2024-05-01T10:00+\u{20ac}1").is_none());
        assert_eq!(
            fmt_datetime(dt("2024-05-01T10:00:00.123456Z")),
            "2024-05-01T10:00:00.123Z"
        );
    }

    #[test]
    fn periods_follow_the_bill_cycle_day() {
        let p = Periods {
            start: dt("2024-01-31T08:00:00Z"),
            bcd: 31,
            time_of_day: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
        };
        assert_eq!(p.end_of_period_at(p.start), dt("2024-02-29T08:00:00Z"));
        assert_eq!(
            p.end_of_period_at(dt("2024-02-29T08:00:00Z")),
            dt("2024-03-31T08:00:00Z")
        );
        assert_eq!(
            p.start_of_period_at(dt("2024-03-01T00:00:00Z")),
            dt("2024-02-29T08:00:00Z")
        );
        let aligned = Periods {
            start: dt("2024-05-20T00:00:00Z"),
            bcd: 5,
            time_of_day: NaiveTime::MIN,
        };
        // The boundary uses the account's time of day, a few seconds before the start here.
        let observed = Periods {
            start: dt("2026-11-21T21:28:41Z"),
            bcd: 21,
            time_of_day: NaiveTime::from_hms_opt(21, 28, 36).unwrap(),
        };
        assert_eq!(
            observed.end_of_period_at(observed.start),
            dt("2026-12-21T21:28:36Z")
        );
        assert_eq!(
            aligned.end_of_period_at(aligned.start),
            dt("2024-06-05T00:00:00Z")
        );
        assert_eq!(
            aligned.start_of_period_at(dt("2024-05-25T00:00:00Z")),
            aligned.start
        );
        // A billing start on the bill-cycle day, earlier in the day than the account's time of
        // day: a whole first period, not a few hours.
        let anchored = Periods {
            start: dt("2026-12-08T12:00:00Z"),
            bcd: 8,
            time_of_day: NaiveTime::from_hms_opt(14, 40, 0).unwrap(),
        };
        assert_eq!(
            anchored.end_of_period_at(anchored.start),
            dt("2027-01-08T14:40:00Z")
        );
        assert_eq!(
            anchored.start_of_period_at(dt("2026-12-08T15:00:00Z")),
            anchored.start
        );
    }
}
