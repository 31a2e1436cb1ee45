//! The admin API: runtime controls of a running simulator under [`ADMIN_PREFIX`] (`/__sim`), a
//! path prefix none of the three vendors' APIs has. Admin requests need no credentials, are
//! never faulted and never enter the request log.
//!
//! | request | what it does | answer |
//! |---|---|---|
//! | `GET /__sim` | describes the simulator | 200 [`SimInfo`] (the binary's first line) |
//! | `POST /__sim/reset` | every customer, subscription and event forgotten, the catalog, clock, fault settings and request log back to how the simulator started | 204 |
//! | `GET /__sim/clock` | the simulator's time | 200 `{"now": "<RFC 3339>"}` |
//! | `POST /__sim/clock/advance` `{"days","hours","minutes","seconds"}` (each optional, none negative, some positive) | moves the clock forward: billing periods renew, trials and scheduled cancellations or plan changes take effect | 200 `{"now": ...}` |
//! | `GET /__sim/faults` | the fault settings and how many faults were injected | 200 `{"config": {...}, "counts": {...}}` |
//! | `PUT /__sim/faults` `{"rate"}` or `{"error_500","error_503","rate_limit","drop_before","drop_after","slow_after","rate_limit_reset_secs","latency_ms","only_paths_containing"}` | replaces the fault settings (`rate` spreads evenly over every kind; other fields then override) | 200 like `GET` |
//! | `DELETE /__sim/faults` | no more faults | 200 like `GET` |
//! | `GET /__sim/requests?since=N` | the request log as JSON lines ([`RecordedRequest::to_json`]), those numbered above `N` (default 0) | 200 `application/x-ndjson` |
//! | `DELETE /__sim/requests` | forgets the request log | 204 |
//!
//! Anything else under the prefix is 404 (405 for a known path with another method), with a
//! JSON body `{"error": "..."}`; so are malformed bodies (400).
//!
//! [`RecordedRequest::to_json`]: crate::RecordedRequest::to_json

use std::sync::Arc;
use std::time::Duration as StdDuration;

use axum::body::Body;
use bytes::Bytes;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use http::{Method, Response, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::faults::{FaultConfig, Faults};
use crate::log::RequestLog;

/// The path prefix of the admin API.
pub const ADMIN_PREFIX: &str = "/__sim";

/// What describes a running simulator: the admin API's `GET /__sim` and the first line the
/// binary prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimInfo {
    /// `lago`, `killbill` or `billabear`.
    pub vendor: String,
    /// The API base a client is configured with (Lago and BillaBear: `.../api/v1`; Kill Bill:
    /// the server root).
    pub url: String,
    /// The admin API's base, `.../__sim`.
    pub admin_url: String,
    /// The credentials the simulator accepts (vendor-specific fields).
    pub credentials: Value,
    /// The environment of this library's `billing` facade for this simulator, ready to paste
    /// (`BILLING_PROVIDER=lago BILLING_LAGO_BASE_URL=... BILLING_LAGO_API_KEY=...`).
    pub env: String,
}

/// The description of a simulator whose API is under `/api/v1` and authenticated by one API
/// key (Lago, BillaBear); `vendor` is also the `BILLING_<VENDOR>_*` prefix of the facade.
pub(crate) fn api_key_info(vendor: &str, base_url: &str, api_key: &str) -> SimInfo {
    let url = format!("{base_url}/api/v1");
    let prefix = vendor.to_ascii_uppercase();
    SimInfo {
        vendor: vendor.to_owned(),
        env: format!(
            "BILLING_PROVIDER={vendor} BILLING_{prefix}_BASE_URL={url} BILLING_{prefix}_API_KEY={api_key}"
        ),
        url,
        admin_url: format!("{base_url}{ADMIN_PREFIX}"),
        credentials: json!({ "api_key": api_key }),
    }
}

/// The vendor-specific side of the runtime controls.
pub trait Control: Send + Sync + std::fmt::Debug {
    /// Forgets every customer, subscription and event and puts the catalog and the clock back
    /// as they were at start-up.
    fn reset(&self);
    /// The simulator's current time.
    fn now(&self) -> DateTime<Utc>;
    /// Moves the clock forward by `by` and applies what became due.
    fn advance_clock(&self, by: Duration);
    /// The description of the simulator served at `base_url` (`http://127.0.0.1:<port>`).
    fn info(&self, base_url: &str) -> SimInfo;
}

/// The admin API of one server: the vendor's controls plus the server's log and faults.
#[derive(Debug)]
pub(crate) struct Admin {
    pub(crate) control: Arc<dyn Control>,
    pub(crate) log: RequestLog,
    pub(crate) faults: Faults,
    pub(crate) initial_faults: FaultConfig,
    pub(crate) base_url: String,
}

fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let mut resp = Response::new(Body::from(value.to_string()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

fn error(status: StatusCode, message: impl Into<String>) -> Response<Body> {
    json_response(status, &json!({"error": message.into()}))
}

fn no_content() -> Response<Body> {
    let mut resp = Response::new(Body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `PUT /__sim/faults`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSpec {
    rate: Option<f64>,
    error_500: Option<f64>,
    error_503: Option<f64>,
    rate_limit: Option<f64>,
    drop_before: Option<f64>,
    drop_after: Option<f64>,
    slow_after: Option<f64>,
    rate_limit_reset_secs: Option<u64>,
    latency_ms: Option<u64>,
    only_paths_containing: Option<String>,
}

impl FaultSpec {
    fn config(self) -> Result<FaultConfig, String> {
        let mut c = match self.rate {
            Some(rate) if (0.0..=1.0).contains(&rate) => FaultConfig::mixed(rate),
            Some(_) => return Err("`rate` must be between 0 and 1".into()),
            None => FaultConfig {
                rate_limit_reset_secs: 1,
                latency: StdDuration::from_secs(2),
                ..FaultConfig::none()
            },
        };
        let rates = [
            (self.error_500, &mut c.error_500),
            (self.error_503, &mut c.error_503),
            (self.rate_limit, &mut c.rate_limit),
            (self.drop_before, &mut c.drop_before),
            (self.drop_after, &mut c.drop_after),
            (self.slow_after, &mut c.slow_after),
        ];
        for (given, slot) in rates {
            if let Some(r) = given {
                if !(0.0..=1.0).contains(&r) {
                    return Err("every fault rate must be between 0 and 1".into());
                }
                *slot = r;
            }
        }
        let total =
            c.error_500 + c.error_503 + c.rate_limit + c.drop_before + c.drop_after + c.slow_after;
        if total > 1.0 + 1e-9 {
            return Err("the fault rates add up to more than 1".into());
        }
        if let Some(s) = self.rate_limit_reset_secs {
            c.rate_limit_reset_secs = s;
        }
        if let Some(ms) = self.latency_ms {
            c.latency = StdDuration::from_millis(ms);
        }
        c.only_paths_containing = self.only_paths_containing;
        Ok(c)
    }
}

/// `POST /__sim/clock/advance`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    #[serde(default)]
    days: i64,
    #[serde(default)]
    hours: i64,
    #[serde(default)]
    minutes: i64,
    #[serde(default)]
    seconds: i64,
}

impl Advance {
    fn duration(&self) -> Result<Duration, String> {
        let parts = [self.days, self.hours, self.minutes, self.seconds];
        if parts.iter().any(|p| *p < 0) {
            return Err("the clock only moves forward".into());
        }
        let total = Duration::try_days(self.days)
            .zip(Duration::try_hours(self.hours))
            .zip(Duration::try_minutes(self.minutes))
            .zip(Duration::try_seconds(self.seconds))
            .and_then(|(((d, h), m), s)| d.checked_add(&h)?.checked_add(&m)?.checked_add(&s))
            .ok_or("the duration is too long")?;
        if total <= Duration::zero() {
            return Err("give `days`, `hours`, `minutes` or `seconds` above zero".into());
        }
        Ok(total)
    }
}

fn faults_json(faults: &Faults) -> Value {
    let c = faults.config();
    let n = faults.counts();
    json!({
        "config": {
            "error_500": c.error_500,
            "error_503": c.error_503,
            "rate_limit": c.rate_limit,
            "drop_before": c.drop_before,
            "drop_after": c.drop_after,
            "slow_after": c.slow_after,
            "rate_limit_reset_secs": c.rate_limit_reset_secs,
            "latency_ms": u64::try_from(c.latency.as_millis()).unwrap_or(u64::MAX),
            "only_paths_containing": c.only_paths_containing,
        },
        "counts": {
            "server_errors": n.server_errors,
            "rate_limited": n.rate_limited,
            "dropped_before": n.dropped_before,
            "dropped_after": n.dropped_after,
            "slowed_after": n.slowed_after,
        },
    })
}

fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("invalid JSON body: {e}"))
}

impl Admin {
    /// Everything back to how the server started: the vendor's state and clock, the fault
    /// settings and counts, the request log.
    pub(crate) fn reset(&self) {
        self.control.reset();
        self.log.clear();
        self.faults.restore(self.initial_faults.clone());
    }

    /// The description of the simulator.
    pub(crate) fn info(&self) -> SimInfo {
        self.control.info(&self.base_url)
    }

    /// Answers one admin request; `rest` is the path after [`ADMIN_PREFIX`].
    pub(crate) fn handle(
        &self,
        method: &Method,
        rest: &str,
        query: Option<&str>,
        body: &Bytes,
    ) -> Response<Body> {
        let route = rest.trim_end_matches('/');
        let allowed: &[Method] = match route {
            "" => &[Method::GET],
            "/reset" => &[Method::POST],
            "/clock" => &[Method::GET],
            "/clock/advance" => &[Method::POST],
            "/faults" => &[Method::GET, Method::PUT, Method::DELETE],
            "/requests" => &[Method::GET, Method::DELETE],
            _ => return error(StatusCode::NOT_FOUND, format!("no admin route {rest}")),
        };
        if !allowed.contains(method) {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{method} is not allowed on {ADMIN_PREFIX}{route}"),
            );
        }
        match (route, method.as_str()) {
            ("", _) => match serde_json::to_value(self.info()) {
                Ok(v) => json_response(StatusCode::OK, &v),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            },
            ("/reset", _) => {
                self.reset();
                no_content()
            }
            ("/clock", _) => {
                json_response(StatusCode::OK, &json!({"now": rfc3339(self.control.now())}))
            }
            ("/clock/advance", _) => {
                let by = match parse::<Advance>(body).and_then(|a| a.duration()) {
                    Ok(by) => by,
                    Err(message) => return error(StatusCode::BAD_REQUEST, message),
                };
                self.control.advance_clock(by);
                json_response(StatusCode::OK, &json!({"now": rfc3339(self.control.now())}))
            }
            ("/faults", "PUT") => {
                let config = match parse::<FaultSpec>(body).and_then(FaultSpec::config) {
                    Ok(c) => c,
                    Err(message) => return error(StatusCode::BAD_REQUEST, message),
                };
                self.faults.set(config);
                json_response(StatusCode::OK, &faults_json(&self.faults))
            }
            ("/faults", "DELETE") => {
                self.faults.set(FaultConfig::none());
                json_response(StatusCode::OK, &faults_json(&self.faults))
            }
            ("/faults", _) => json_response(StatusCode::OK, &faults_json(&self.faults)),
            ("/requests", "DELETE") => {
                self.log.clear();
                no_content()
            }
            ("/requests", _) => {
                let since = query
                    .into_iter()
                    .flat_map(|q| q.split('&'))
                    .find_map(|pair| pair.strip_prefix("since="))
                    .map(str::parse::<usize>);
                let since = match since {
                    None => 0,
                    Some(Ok(n)) => n,
                    Some(Err(_)) => {
                        return error(StatusCode::BAD_REQUEST, "`since` is not a number");
                    }
                };
                let mut resp = Response::new(Body::from(self.log.json_lines(since)));
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    http::HeaderValue::from_static("application/x-ndjson"),
                );
                resp
            }
            _ => error(StatusCode::NOT_FOUND, format!("no admin route {rest}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_specs() {
        let spec: FaultSpec = serde_json::from_str(r#"{"rate": 0.9, "error_500": 0.5}"#).unwrap();
        assert!(spec.config().is_err(), "0.5 + 5 x 0.15 > 1");
        let spec: FaultSpec =
            serde_json::from_str(r#"{"error_503": 1, "only_paths_containing": "/events"}"#)
                .unwrap();
        let c = spec.config().unwrap();
        assert_eq!((c.error_503, c.error_500), (1.0, 0.0));
        assert_eq!(c.only_paths_containing.as_deref(), Some("/events"));
        assert!(serde_json::from_str::<FaultSpec>(r#"{"colour": 1}"#).is_err());
    }

    #[test]
    fn advances() {
        let a: Advance = serde_json::from_str(r#"{"days": 1, "seconds": 30}"#).unwrap();
        assert_eq!(a.duration().unwrap(), Duration::seconds(86_430));
        let back: Advance = serde_json::from_str(r#"{"days": -1}"#).unwrap();
        assert!(back.duration().is_err());
        let none: Advance = serde_json::from_str("{}").unwrap();
        assert!(none.duration().is_err());
        let huge: Advance = serde_json::from_str(r#"{"days": 9223372036854775807}"#).unwrap();
        assert!(huge.duration().is_err());
    }
}
