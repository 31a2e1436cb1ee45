//! A stateful simulator of BillaBear's REST API (`/api/v1`), written from
//! `shared/vendors/billabear.md` and the server source it cites, quirks included.
//!
//! # Endpoints
//! All need the header `X-API-KEY: `[`BillaBearSim::API_KEY`] (or the
//! [`BillaBearSimConfig::api_key`] the simulator was started with; any header-name case;
//! missing or wrong: `401 []`). Unknown paths answer Symfony's 404 (before authentication), known paths
//! with another method 405; endpoints of the real API that are not simulated (products,
//! invoices, payment methods, trials, seats, usage limits...) answer like unknown paths.
//!
//! | Route | Success | Errors |
//! |---|---|---|
//! | `POST /customer` | 201 Customer (random UUIDv4 `id`, status `new`, a fake `cus_...` `external_reference` unless one is given) | 400 `{"errors":{...}}` (PHP property paths: `billingType`, `address.country`, `stripe`...), 500 (malformed JSON, wrong JSON type for a typed field, unknown `brand`) |
//! | `GET /customer?limit&last_key&email&country&reference&external_reference&company_name` | 200 list, `ORDER BY id`, `LIKE '%v%'` filters (case-sensitive, `%`/`_` are wildcards), `country` exact | 400/413 `{"reason":...}`, 500 for a non-UUID `last_key` |
//! | `GET /customer/{id}` | 200 Customer | 404 `[]`, 500 for a non-UUID id |
//! | `PUT /customer/{id}` | 202 Customer: a FULL replace (omitted fields reset; `external_reference` kept when omitted; `status` untouched) | 404 `[]`, 400, 500 |
//! | `POST /customer/{id}/disable`, `/enable` | 202 `{}` (status `disabled` / `active` only) | 404 `{"success":false}`, 500 for a non-UUID id |
//! | `POST /customer/{id}/subscription/start` | 201 Subscription | 404 `[]`, 400, 406 `{"error":"No default payment method"}`, 402 `{"reason":...}` (see [`BillaBearSim::fail_next_charge`]), 500 |
//! | `GET /customer/{id}/subscription`, `.../subscription/active` | 200 list, not paged (`has_more:false`, no `last_key`) | 404 `[]` |
//! | `GET /subscription?per_page&last_key&first_key&status&customer` | 200 list | 400/413 `{"success":false,"reason":...}` |
//! | `GET /subscription/plans?limit&last_key&first_key&key` | 200 list sorted by id DESC, with `first_key` | 400/413 `{"success":false,"reason":"per_page is ..."}` |
//! | `GET /subscription/{id}` | 200 Subscription | 404 `{}` |
//! | `POST /subscription/{id}/cancel {when,refund_type,date,comment}` | 202 `{}` | 404 `{}`, 400 `{"success":false,"errors":{...}}`, 424 |
//! | `POST /subscription/{id}/plan {plan,price,when}` | 202 `[]` (plan and price switch at once, whatever `when`) | 404 `[]`, 400, 500 for a `code_name` plan |
//! | `POST /events {event_id,subscription,code,value,properties}` | 201, empty body; duplicates stored again | 400 `{"errors":{...}}`, 500 for a non-UUID subscription |
//! | `GET /customer/{id}/costs` | 200 `{"total":{"amount","currency"},"costs":[{"name","amount","currency","usage"}]}` | 404 empty body |
//!
//! # Catalog
//! See [`catalog`] for the seeded ids. Two plans (`starter-monthly`, `pro-monthly`), each with
//! three monthly USD prices in this order: a usage price for `api_calls` (1 cent per unit), a
//! usage price for `storage_gb` (10 cents per unit), and a fixed base price (1000 / 5000
//! cents). A BillaBear subscription has ONE price, so it meters at most one metric: the one of
//! its price (`subscription.price.metric`). `currency: "USD"` + `schedule: "month"` selects the
//! plan's first matching price, the `api_calls` usage price; pass an explicit price UUID to
//! meter `storage_gb` or to bill the base fee.
//!
//! # Time and usage
//! The server clock is real time plus [`BillaBearSim::advance_clock`]. Periods renew lazily
//! when a request (or a hook) finds an `active` subscription past its `valid_until`: the
//! period moves on and the invoice resets the resettable usage counter. `pending_cancel`
//! subscriptions are never renewed and never become `cancelled` (nothing in the server does
//! that), so they stay `active` in lists and estimates after `ended_at`.
//!
//! The cost estimate reads a per-(customer, metric) counter. With
//! [`BillaBearSimConfig::counters_auto_update`] (default) the counter update runs right before
//! every costs read, so reads see writes; otherwise only [`BillaBearSim::update_counters`] runs
//! it, like the real lagging cron. Each update collapses duplicate `event_id`s among the
//! events since the previous update; duplicates straddling two updates count twice, as in the
//! server. Starting a subscription invoices it, which resets the customer's counter for the
//! price's metric.
//!
//! # Where the server source overrides `billabear.md`
//! - `POST /subscription/{id}/plan` with `when: next-cycle` switches plan and price at once
//!   (`InvoiceSubscriptionManager::changeSubscriptionPlan` has no next-cycle branch, and the
//!   Behat scenario asserts the new plan right after the call).
//! - The same endpoint accepts a price of another product: `PriceIsValidForPlanValidator`
//!   only inspects the admin app's `UpdatePlan` DTO and returns early for the API's.
//! - Wrong JSON types for UNTYPED DTO properties (`value`, `seat_number`, `billing_type`...)
//!   are `400` validation errors (`Assert\Type`); only typed setters (`email`, `name`,
//!   `reference`, `external_reference`, `brand`, address fields) make the serializer throw.

pub mod catalog;
mod clock;
mod control;
mod costs;
mod customers;
mod errors;
mod events;
mod lifecycle;
mod listing;
mod router;
mod seed;
mod state;
mod subscriptions;
mod validate;
mod wire;

use std::collections::HashSet;

use http::{HeaderMap, HeaderValue};

use crate::server::{SimOptions, SimServer};
use state::{Shared, State};

/// Behaviour switches of the simulated instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillaBearSimConfig {
    /// Every customer gets a default payment card on creation, as if registered via the
    /// hosted portal (default true). False: starting a subscription without `card_token` or
    /// `payment_details` answers `406 {"error":"No default payment method"}` unless
    /// [`BillaBearSim::register_card`] gave the customer one.
    pub customers_have_default_card: bool,
    /// A Stripe secret key is configured (default true). False: customer create and update
    /// answer `400 {"errors":{"stripe":"The stripe is not configured."}}`, and `card_token`
    /// cannot be turned into a card (406).
    pub stripe_configured: bool,
    /// Update the usage counters right before every costs read, so reads see writes (default
    /// true). False: only [`BillaBearSim::update_counters`] updates them, like the real
    /// per-minute cron and its workers.
    pub counters_auto_update: bool,
    /// The API key the instance accepts (default [`BillaBearSim::API_KEY`]); a test can set a
    /// distinctive secret of its own.
    pub api_key: String,
    /// The catalog (default [`crate::Catalog::sample`]); only its metrics and plans meant for
    /// BillaBear are served.
    pub catalog: crate::Catalog,
}

impl Default for BillaBearSimConfig {
    fn default() -> Self {
        Self {
            customers_have_default_card: true,
            stripe_configured: true,
            counters_auto_update: true,
            api_key: BillaBearSim::API_KEY.to_owned(),
            catalog: crate::Catalog::sample(),
        }
    }
}

/// A running BillaBear simulator. Stops when dropped.
#[derive(Debug)]
pub struct BillaBearSim {
    server: SimServer,
    state: Shared,
}

/// The headers an edge proxy would send with a 429 (BillaBear itself has no rate limiter):
/// `Retry-After: <secs>`.
pub fn rate_limit_headers(reset_secs: u64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(http::header::RETRY_AFTER, HeaderValue::from(reset_secs));
    headers
}

impl BillaBearSim {
    /// The only API key the simulator accepts (header `X-API-KEY`).
    pub const API_KEY: &'static str = "bb-sim-0123456789abcdef";

    /// Starts a simulator with the default [`BillaBearSimConfig`].
    ///
    /// # Errors
    /// If the port cannot be bound.
    pub async fn start(options: SimOptions) -> std::io::Result<BillaBearSim> {
        Self::start_with(options, BillaBearSimConfig::default()).await
    }

    /// Starts a simulator with the given behaviour switches, key and catalog.
    ///
    /// # Errors
    /// If the port cannot be bound, or (`InvalidInput`, the source a
    /// [`crate::CatalogError`]) if BillaBear cannot serve the catalog.
    pub async fn start_with(
        options: SimOptions,
        config: BillaBearSimConfig,
    ) -> std::io::Result<BillaBearSim> {
        let catalog = catalog::Catalog::from_catalog(&config.catalog, chrono::Utc::now())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        let state: Shared =
            std::sync::Arc::new(std::sync::Mutex::new(State::new(config.clone(), catalog)));
        let control = std::sync::Arc::new(control::BillaBearControl {
            state: state.clone(),
            config,
        });
        let server = SimServer::start_with_control(
            router::router(state.clone()),
            options,
            rate_limit_headers,
            control,
        )
        .await?;
        Ok(Self { server, state })
    }

    /// Forgets every customer, subscription and event, and puts the catalog, clock, fault
    /// settings and request log back as they were at start-up (`POST /__sim/reset`).
    pub fn reset(&self) {
        self.server.reset();
    }

    /// What the binary prints on start-up and `GET /__sim` answers: URLs, the API key and the
    /// `billing` facade's environment.
    pub fn info(&self) -> crate::SimInfo {
        control::info(&self.server.base_url(), &self.lock().config.api_key)
    }

    /// The API base, `http://127.0.0.1:<port>/api/v1` (no trailing slash).
    pub fn api_url(&self) -> String {
        format!("{}/api/v1", self.server.base_url())
    }

    /// The configuration of this library's `billing` facade that talks to this simulator
    /// (`provider = "billabear"` and its section), as TOML.
    pub fn billing_toml(&self) -> String {
        format!(
            "provider = \"billabear\"\n\n[billabear]\nbase_url = \"{}\"\napi_key = \"{}\"\n",
            self.api_url(),
            self.lock().config.api_key
        )
    }

    /// The underlying server: request log and fault injection.
    pub fn server(&self) -> &SimServer {
        &self.server
    }

    /// Serves until the process ends (for a standalone simulator).
    pub async fn wait(self) {
        self.server.wait().await;
    }

    /// Gives up the inspection handle and keeps only the server (the state lives on inside it).
    pub fn into_server(self) -> SimServer {
        self.server
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        let mut state = state::lock(&self.state);
        state.settle();
        state
    }

    /// How many event rows are stored, duplicates included.
    pub fn event_count(&self) -> usize {
        self.lock().events.len()
    }

    /// The stored events of a subscription, oldest first: `(event_id, code, value)`.
    pub fn events_for(&self, subscription_id: &str) -> Vec<(String, String, f64)> {
        let id = subscription_id.to_ascii_lowercase();
        self.lock()
            .events
            .iter()
            .filter(|e| e.subscription_id == id)
            .map(|e| (e.event_id.clone(), e.code.clone(), e.value))
            .collect()
    }

    /// How many distinct `event_id`s were stored, over all subscriptions.
    pub fn distinct_event_ids(&self) -> usize {
        let state = self.lock();
        let ids: HashSet<&str> = state.events.iter().map(|e| e.event_id.as_str()).collect();
        ids.len()
    }

    /// How many customers exist (disabled ones included: there is no deletion).
    pub fn customer_count(&self) -> usize {
        self.lock().customers.len()
    }

    /// How many subscriptions exist, whatever their status.
    pub fn subscription_count(&self) -> usize {
        self.lock().subscriptions.len()
    }

    /// Runs the counter update the real server runs from its per-minute cron, for every
    /// customer (see the module docs).
    pub fn update_counters(&self) {
        costs::update_all(&mut self.lock());
    }

    /// Moves the server clock forward, then renews the subscriptions whose period ended.
    pub fn advance_clock(&self, by: chrono::Duration) {
        control::advance(&self.state, by);
    }

    /// The server's current time.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.lock().now()
    }

    /// Makes the next subscription start whose first invoice is charged (customer
    /// `billing_type` `card`) fail with `402 {"reason": reason}`; nothing is stored.
    pub fn fail_next_charge(&self, reason: &str) {
        self.lock().fail_next_charge = Some(reason.to_owned());
    }

    /// Gives the customer a new default payment card, as the hosted portal would; returns its
    /// id (usable as `payment_details`), or `None` for an unknown customer.
    pub fn register_card(&self, customer_id: &str) -> Option<String> {
        let mut state = self.lock();
        let id = validate::uuid(customer_id)?;
        let card = uuid::Uuid::new_v4().to_string();
        state.customers.get_mut(&id)?.default_card = Some(card.clone());
        state.cards.insert(card.clone(), id);
        Some(card)
    }

    /// The customer's default payment card id, if any.
    pub fn default_card(&self, customer_id: &str) -> Option<String> {
        let id = validate::uuid(customer_id)?;
        self.lock().customers.get(&id)?.default_card.clone()
    }
}
