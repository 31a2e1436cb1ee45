//! Kill Bill's test-mode clock resource (`TestResource`, bound when the server runs with
//! `org.killbill.server.test.mode=true`, as the project's real server does):
//! - `GET /1.0/kb/test/clock`: the current time;
//! - `POST /1.0/kb/test/clock?requestedDate=`: set it (no date: back to real time);
//! - `PUT /1.0/kb/test/clock?days=|weeks=|months=|years=`: move it (the first given wins, in
//!   that order).
//!
//! All three answer 200 with `{currentUtcTime, timeZone, localDate}`. The real server then waits
//! up to `timeoutSec` for its queues to drain; the simulator has no queues: what a moved clock
//! changes (periods, scheduled cancellations, invoices) is computed when it is read. Only the
//! UTC zone is simulated (`timeZone` is echoed as `UTC`).

use axum::extract::{RawQuery, State};
use axum::response::Response;
use chrono::Duration;

use super::errors::{KbError, KbResult};
use super::reply::{self, Params};
use super::state::Sim;
use super::time::{fmt_date, fmt_datetime, parse_joda};

/// `GET /1.0/kb/test/clock`.
pub(crate) async fn get(State(sim): State<Sim>) -> Response {
    current(&sim)
}

/// `POST /1.0/kb/test/clock?requestedDate=`.
pub(crate) async fn set(State(sim): State<Sim>, RawQuery(query): RawQuery) -> KbResult<Response> {
    let params = Params::parse(query.as_deref());
    match params.get("requestedDate") {
        None => sim.clock.reset(),
        Some(raw) => {
            let at = parse_joda(raw)
                .ok_or_else(|| KbError::illegal_argument(format!("Invalid format: \"{raw}\"")))?;
            sim.clock.set(at.instant());
        }
    }
    Ok(current(&sim))
}

/// `PUT /1.0/kb/test/clock?days=&weeks=&months=&years=`.
pub(crate) async fn update(
    State(sim): State<Sim>,
    RawQuery(query): RawQuery,
) -> KbResult<Response> {
    let params = Params::parse(query.as_deref());
    // `Integer` query parameters: a value that is not a number is a 404 (JAX-RS conversion).
    let int = |name: &str| -> KbResult<Option<i32>> {
        params
            .get(name)
            .map(|v| {
                v.trim()
                    .parse::<i32>()
                    .map_err(|_| KbError::not_found_page())
            })
            .transpose()
    };
    if let Some(days) = int("days")? {
        sim.clock.advance(Duration::days(i64::from(days)));
    } else if let Some(weeks) = int("weeks")? {
        sim.clock.advance(Duration::weeks(i64::from(weeks)));
    } else if let Some(months) = int("months")? {
        sim.clock.advance_months(months);
    } else if let Some(years) = int("years")? {
        sim.clock.advance_months(years.saturating_mul(12));
    }
    Ok(current(&sim))
}

fn current(sim: &Sim) -> Response {
    // Observed: the resource shows whole seconds (`.000Z`).
    let now = sim.clock.now();
    reply::json(&serde_json::json!({
        "currentUtcTime": fmt_datetime(now),
        "timeZone": "UTC",
        "localDate": fmt_date(now.date_naive()),
    }))
}
