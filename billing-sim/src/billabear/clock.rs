//! Time as the simulated server sees it: PHP's date arithmetic and serialization format.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

/// `$date->modify('+1 <schedule>')` with PHP's overflow rules: `+1 month` on Jan 31 gives
/// Mar 3 (or Mar 2 in a leap year), `+1 year` on Feb 29 gives Mar 1. Unknown schedules count
/// as a month (the server's `match` default).
pub(crate) fn add_schedule(at: DateTime<Utc>, schedule: &str) -> DateTime<Utc> {
    let (months, days) = match schedule {
        "week" => (0, 7),
        "year" => (12, 0),
        _ => (1, 0),
    };
    let date = at.date_naive();
    let total = date.year() * 12 + date.month0() as i32 + months;
    let (year, month0) = (total.div_euclid(12), total.rem_euclid(12) as u32);
    let first = NaiveDate::from_ymd_opt(year, month0 + 1, 1).unwrap_or(date);
    // Out of chrono's range (only reachable by advancing the clock absurdly): stay put.
    let shifted = first
        .checked_add_signed(Duration::days(i64::from(date.day()) - 1 + days))
        .unwrap_or(date);
    Utc.from_utc_datetime(&shifted.and_time(at.time()))
}

/// RFC 3339 without fractional seconds, offset written `+00:00`, as Symfony's DateTime
/// normalizer does.
pub(crate) fn format(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S+00:00").to_string()
}

/// `new \DateTime('YYYY-MM-DD')`: midnight UTC of that day.
pub(crate) fn midnight(date: NaiveDate) -> DateTime<Utc> {
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 30, 0).single().unwrap()
    }

    #[test]
    fn php_month_overflow() {
        assert_eq!(add_schedule(at(2025, 1, 31), "month"), at(2025, 3, 3));
        assert_eq!(add_schedule(at(2024, 1, 31), "month"), at(2024, 3, 2));
        assert_eq!(add_schedule(at(2025, 12, 15), "month"), at(2026, 1, 15));
        assert_eq!(add_schedule(at(2024, 2, 29), "year"), at(2025, 3, 1));
        assert_eq!(add_schedule(at(2025, 2, 25), "week"), at(2025, 3, 4));
        assert_eq!(format(at(2025, 1, 2)), "2025-01-02T12:30:00+00:00");
    }
}
