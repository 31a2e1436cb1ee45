//! When to retry and how long to wait: exponential backoff with jitter, or the server's own
//! `Retry-After` / `X-RateLimit-Reset`, capped.

use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder, ExponentialBuilder};
use http::HeaderMap;

use crate::config::HttpConfig;

/// Whether a request may be sent again after a failure whose outcome is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Resending cannot change the result: reads, upserts, and writes whose duplicates the vendor
    /// detects (event ids, tracking ids).
    Idempotent,
    /// Resent only when it surely never reached the server (the connection was refused).
    NotIdempotent,
}

/// The wait the server asked for: `Retry-After` (seconds or an HTTP date), or
/// `X-RateLimit-Reset` (seconds until the reset, or a Unix timestamp when it is that large).
pub fn server_delay(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(v) = text("retry-after") {
        if let Ok(secs) = v.parse::<f64>() {
            return secs_to_duration(secs);
        }
        if let Ok(at) = httpdate::parse_http_date(v) {
            return Some(at.duration_since(now).unwrap_or(Duration::ZERO));
        }
    }
    if let Some(v) = text("x-ratelimit-reset")
        && let Ok(n) = v.parse::<f64>()
    {
        // Lago sends seconds until the reset; some proxies send the reset's Unix time.
        const EPOCH_THRESHOLD: f64 = 1_000_000_000.0;
        if n >= EPOCH_THRESHOLD {
            let now_secs = now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            return secs_to_duration((n - now_secs).max(0.0));
        }
        return secs_to_duration(n);
    }
    None
}

fn secs_to_duration(secs: f64) -> Option<Duration> {
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// The delays between attempts of one call.
#[derive(Debug)]
pub(crate) struct Backoff {
    delays: backon::ExponentialBackoff,
    cap: Duration,
}

impl Backoff {
    pub(crate) fn new(config: &HttpConfig) -> Self {
        let delays = ExponentialBuilder::default()
            .with_min_delay(config.retry_base_delay())
            .with_max_delay(config.max_retry_delay())
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(config.max_retries as usize)
            .build();
        Self {
            delays,
            cap: config.max_retry_delay(),
        }
    }

    /// The next wait, or `None` when retries are used up. A server-requested wait wins over the
    /// backoff when it is longer; both are capped.
    pub(crate) fn next(&mut self, server: Option<Duration>) -> Option<Duration> {
        let backoff = self.delays.next()?;
        Some(server.map_or(backoff, |s| s.max(backoff)).min(self.cap))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            server_delay(&headers(&[("retry-after", "3")]), now),
            Some(Duration::from_secs(3))
        );
        let date = httpdate::fmt_http_date(now + Duration::from_secs(5));
        assert_eq!(
            server_delay(&headers(&[("retry-after", &date)]), now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            server_delay(&headers(&[("retry-after", "soon")]), now),
            None
        );
        assert_eq!(server_delay(&HeaderMap::new(), now), None);
    }

    #[test]
    fn parses_rate_limit_reset_as_seconds_or_epoch() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            server_delay(&headers(&[("x-ratelimit-reset", "2")]), now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            server_delay(&headers(&[("x-ratelimit-reset", "1700000004")]), now),
            Some(Duration::from_secs(4))
        );
    }

    #[test]
    fn backoff_is_capped_and_bounded() {
        let config = HttpConfig::default()
            .with_max_retries(3)
            .with_retry_base_delay(std::time::Duration::from_millis(100))
            .with_max_retry_delay(std::time::Duration::from_millis(1000));
        let mut b = Backoff::new(&config);
        let first = b.next(None).unwrap();
        assert!(first >= Duration::from_millis(100) && first <= Duration::from_millis(1000));
        assert_eq!(
            b.next(Some(Duration::from_secs(60))),
            Some(Duration::from_secs(1)),
            "a server's wait is capped"
        );
        assert!(b.next(None).is_some());
        assert_eq!(b.next(None), None, "three retries, then stop");
    }
}
