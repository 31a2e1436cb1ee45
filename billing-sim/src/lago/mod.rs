//! A stateful simulator of Lago's REST API (`/api/v1`), written from `vendors/lago.md` (facts
//! checked against lago-api's source), quirks included. One organization, in memory.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use billing_sim::SimOptions;
//! use billing_sim::lago::LagoSim;
//!
//! let sim = LagoSim::start(SimOptions::default()).await?;
//! let url = sim.api_url(); // http://127.0.0.1:<port>/api/v1
//! // Authorization: Bearer lago-sim-api-key
//! # let _ = (url, LagoSim::API_KEY);
//! # Ok(()) }
//! ```
//!
//! # Seeded catalog (the sample, `billing-sim/catalogs/sample.toml`)
//! | code | kind | details |
//! |---|---|---|
//! | `api_calls` | billable metric | `sum_agg`, **`field_name: "quantity"`** |
//! | `storage_gb` | billable metric | `sum_agg`, **`field_name: "quantity"`** |
//! | `logins` | billable metric | `count_agg` (no field name; not charged by the seeded plans) |
//! | `starter-monthly` | plan | monthly, `amount_cents` 1000 USD, pay in arrear; standard charges `api_calls` `"0.01"`, `storage_gb` `"0.10"` |
//! | `pro-monthly` | plan | monthly, `amount_cents` 5000 USD, same charges |
//!
//! So a usage event for the sum metrics carries its quantity as `properties.quantity`
//! (a number or a numeric string). Another catalog can be given at start-up
//! ([`LagoSim::start_with`], `billing-sim --catalog FILE`). More metrics and plans can be
//! created with `POST /billable_metrics` (count, sum, max, unique_count, latest, weighted_sum)
//! and `POST /plans` (standard charges only, referencing metrics by `lago_id`).
//!
//! # Endpoints
//! `POST/GET /customers`, `GET/DELETE /customers/{external_id}`,
//! `GET /customers/{external_id}/current_usage`, `GET /customers/{external_id}/subscriptions`,
//! `POST/GET /subscriptions`, `GET/PUT/DELETE /subscriptions/{external_id}`,
//! `POST/GET /events`, `POST /events/batch`, `GET /events/{transaction_id}`,
//! `GET/POST /billable_metrics`, `GET /billable_metrics/{code}`, `GET/POST /plans`,
//! `GET /plans/{code}`. Anything else is 404 `resource_not_found` (no auth, like Rails' catch-all).
//!
//! # Behaviour worth knowing (all from the notes)
//! - Auth: the second space-separated token of `Authorization` must be a known key
//!   ([`LagoSim::API_KEY`] or one added with [`LagoSim::add_read_only_key`]); otherwise 401.
//!   A read-only key gets 403 `write_action_not_allowed_for_<resource>` on non-GET calls.
//! - Bodies need their root key (`customer`, `subscription`, `event`, `events`, `plan`,
//!   `billable_metric`); missing, empty or non-object gives 400 `BadRequest: param is missing
//!   ...`. A body is read as JSON only with a JSON content type; malformed JSON gives 400
//!   `{"status":400,"error":"Bad Request"}`. Successful writes answer 200.
//! - `POST /customers` is an upsert by external_id writing only the keys present (null clears).
//!   Metadata is an array replaced with ids; limits 5 entries, key 20, value 100 characters.
//!   `timezone` and `invoice_grace_period` are premium-only and ignored. Any `tax_codes`
//!   entry gives 404 `tax_not_found` (the organization has no taxes).
//! - Customer path segments follow Rails' default pattern, which stops at `.`: `/customers/a.b`
//!   addresses `a`, and dotted ids are reachable only percent-encoded (`%2E`) or through
//!   `GET /customers?external_id=`. Subscription and event segments take anything but `/`.
//! - `POST /subscriptions` auto-creates an unknown customer; same external_id and plan returns
//!   the existing row; another plan is an upgrade (annualised base fee new >= current: applied
//!   now, new row and lago_id) or a downgrade (pending row from the next billing period; the
//!   answer is the current row with `next_plan_code` and `downgrade_plan_date`).
//!   `plan_overrides` gives 403 `feature_unavailable` (premium).
//! - Lists and `GET /subscriptions/{id}` default to status active. `DELETE` twice gives 404.
//! - Events are not checked against subscriptions or metrics. Duplicates
//!   `(external_subscription_id, transaction_id)` give 422; batches (max 100) are all or
//!   nothing with errors keyed by index.
//! - `ending_at` (create or `PUT`) must fall on a later date than today and than the
//!   subscription date, else 422 `invalid_date` (Lago compares dates, not instants).
//! - Time follows the real clock plus an offset ([`LagoSim::advance_clock`]), or stands still
//!   once [`LagoSim::set_clock`] froze it. Lifecycle changes (future start, scheduled
//!   downgrade, `ending_at`) are applied lazily, when a request next reads subscriptions;
//!   all periods are in UTC (the organization's timezone; customer timezones are premium).
//!
//! # Choices where the notes are silent or unsure
//! - A blank subscription `name` is rendered `null` (lago-api stores `name.to_s.strip`; `null`
//!   keeps clients that expect a string honest).
//! - Re-sending the current plan while a downgrade is scheduled returns the current row and
//!   keeps the scheduled change (Lago's same-plan branch runs before any plan-change logic).
//! - Unknown customer on current usage: 404 `resource_not_found` (the notes' inference).
//! - A page beyond the last has `prev_page: null` too (Kaminari's out-of-range rule);
//!   `per_page` below 1 or unparsable falls back to 100.
//! - `current_billing_period_started_at` is the later of the period start and the exact
//!   `started_at` (lago-api's `charges_from_datetime`), and usage counts events in
//!   `[that, period end]`: an event stamped even a millisecond before `started_at` (say, whole
//!   Unix seconds sent right after creating the subscription) is not counted.
//! - Expired subscriptions are terminated at their `ending_at`; scheduled downgrades switch at
//!   the period boundary; future subscriptions start on their `subscription_at` date.
//! - Aggregations follow lago-api's Postgres event store (see the `aggregation` module):
//!   sum, max, latest and weighted sum read only events whose property text is a plain
//!   decimal (`^-?\d+(\.\d+)?$`), and only those count in `events_count`. Sums that overflow
//!   saturate instead of failing.
//! - The subscription date decides the start state by date (UTC): today or earlier is active
//!   at once with `started_at = subscription_at`, later is pending.
//! - Rate-limit headers only appear on injected 429s (see [`rate_limit_headers`]).

mod aggregation;
mod catalog;
mod control;
mod customers;
mod errors;
mod events;
mod request;
mod routes;
mod seed;
mod state;
mod subscription_queries;
mod subscriptions;
mod time;
mod usage;
mod wire;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue};

use crate::admin::SimInfo;
use crate::catalog::{Catalog, Vendor};
use crate::server::{SimOptions, SimServer};
use routes::{Access, Shared};

/// What a Lago simulator starts with.
#[derive(Debug, Clone, PartialEq)]
pub struct LagoSimConfig {
    /// The API key with read and write access (default [`LagoSim::API_KEY`]).
    pub api_key: String,
    /// The catalog (default [`Catalog::sample`]); only its metrics and plans meant for Lago
    /// are installed.
    pub catalog: Catalog,
}

impl Default for LagoSimConfig {
    fn default() -> Self {
        Self {
            api_key: LagoSim::API_KEY.to_owned(),
            catalog: Catalog::sample(),
        }
    }
}

/// A running Lago simulator. Stops when dropped.
#[derive(Debug)]
pub struct LagoSim {
    server: SimServer,
    shared: Shared,
    api_key: String,
}

impl LagoSim {
    /// The accepted bearer key (read and write on everything).
    pub const API_KEY: &'static str = "lago-sim-api-key";

    /// Starts a simulator with the seeded catalog on 127.0.0.1 (`options.port`, or an
    /// ephemeral port when 0). Injected 429s carry [`rate_limit_headers`].
    ///
    /// # Errors
    /// If the port cannot be bound.
    pub async fn start(options: SimOptions) -> std::io::Result<LagoSim> {
        Self::start_with(options, LagoSimConfig::default()).await
    }

    /// Starts a simulator with its own API key and catalog.
    ///
    /// # Errors
    /// If the port cannot be bound, or (`InvalidInput`, the source a
    /// [`crate::CatalogError`]) if Lago cannot serve the catalog.
    pub async fn start_with(
        options: SimOptions,
        config: LagoSimConfig,
    ) -> std::io::Result<LagoSim> {
        let catalog = config.catalog.for_vendor(Vendor::Lago);
        let mut state = state::State::new();
        catalog::install(&mut state, &catalog)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let shared = Shared::new(state, &config.api_key);
        let control = Arc::new(control::LagoControl {
            shared: shared.clone(),
            catalog,
            api_key: config.api_key.clone(),
        });
        let server = SimServer::start_with_control(
            routes::router(shared.clone()),
            options,
            rate_limit_headers,
            control,
        )
        .await?;
        Ok(Self {
            server,
            shared,
            api_key: config.api_key,
        })
    }

    /// Forgets every customer, subscription and event, and puts the catalog, clock, fault
    /// settings and request log back as they were at start-up (`POST /__sim/reset`).
    pub fn reset(&self) {
        self.server.reset();
    }

    /// What the binary prints on start-up and `GET /__sim` answers: URLs, credentials and
    /// the `billing` facade's environment.
    pub fn info(&self) -> SimInfo {
        control::info(&self.server.base_url(), &self.api_key)
    }

    /// The API base, `http://127.0.0.1:<port>/api/v1`.
    pub fn api_url(&self) -> String {
        format!("{}/api/v1", self.server.base_url())
    }

    /// The configuration of this library's `billing` facade that talks to this simulator
    /// (`provider = "lago"` and its section), as TOML.
    pub fn billing_toml(&self) -> String {
        format!(
            "provider = \"lago\"\n\n[lago]\nbase_url = \"{}\"\napi_key = \"{}\"\n",
            self.api_url(),
            self.api_key
        )
    }

    /// The underlying server: request log, fault injection, address, `wait()`.
    pub fn server(&self) -> &SimServer {
        &self.server
    }

    /// Consumes the handle and serves until the process ends (for a standalone binary;
    /// [`SimServer::wait`] consumes its server, so it cannot be called through [`Self::server`]).
    pub async fn wait(self) {
        self.server.wait().await;
    }

    /// Gives up the inspection methods and keeps only the server (the simulator keeps its
    /// state: the router owns it).
    pub fn into_server(self) -> SimServer {
        self.server
    }

    /// How many events are stored.
    pub fn event_count(&self) -> usize {
        self.shared.lock().events.len()
    }

    /// The `(transaction_id, properties)` of every event stored for this external subscription
    /// id, in ingestion order.
    pub fn events_for(&self, external_subscription_id: &str) -> Vec<(String, serde_json::Value)> {
        self.shared
            .lock()
            .events_of(external_subscription_id)
            .map(|e| (e.transaction_id.clone(), e.properties.clone()))
            .collect()
    }

    /// How many customers exist (soft-deleted ones excluded).
    pub fn customer_count(&self) -> usize {
        self.shared.lock().live_customer_count()
    }

    /// How many subscription rows exist, whatever their status (plan changes add rows).
    pub fn subscription_row_count(&self) -> usize {
        self.shared.lock().subscriptions.len()
    }

    /// The simulator's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.shared.lock().now()
    }

    /// Moves the simulator's clock (`POST /__sim/clock/advance` moves it forward only).
    /// Subscriptions are settled lazily: an expired one is terminated, a scheduled downgrade
    /// applied, a future one started, when a request next reads subscriptions.
    pub fn advance_clock(&self, by: chrono::Duration) {
        // As the admin API's clock control does: what came due is applied at once.
        let mut state = self.shared.lock();
        state.clock.advance(by);
        state.settle();
    }

    /// Sets the simulator's clock to `at` and freezes it there: from then on it moves only
    /// through [`LagoSim::advance_clock`], so tests are deterministic. Best called before any
    /// data is created.
    pub fn set_clock(&self, at: DateTime<Utc>) {
        self.shared.lock().clock.set(at);
    }

    /// Accepts another key with read and write access, like [`LagoSim::API_KEY`] (so a test can
    /// use a distinctive secret of its own).
    pub fn add_api_key(&self, key: impl Into<String>) {
        self.shared.add_key(key.into(), Access::ReadWrite);
    }

    /// Accepts another key, limited to reads: writes answer 403
    /// `write_action_not_allowed_for_<resource>`.
    pub fn add_read_only_key(&self, key: impl Into<String>) {
        self.shared.add_key(key.into(), Access::ReadOnly);
    }
}

/// Lago Cloud's rate-limit headers for a 429 that resets in `reset_secs` seconds:
/// `X-RateLimit-Limit` (the general 50 req/s), `X-RateLimit-Remaining: 0` and
/// `X-RateLimit-Reset` (seconds until reset, an integer).
pub fn rate_limit_headers(reset_secs: u64) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("x-ratelimit-limit", HeaderValue::from_static("50"));
    h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
    h.insert("x-ratelimit-reset", HeaderValue::from(reset_secs));
    h
}
