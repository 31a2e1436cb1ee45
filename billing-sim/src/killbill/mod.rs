//! A stateful simulator of Kill Bill 0.24.x's REST API, written from `vendors/killbill.md`
//! (quirks included), never from an adapter's code. Where the project's recording of a real
//! 0.24 server (`scripts/killbill/OBSERVED.md`) disagrees with the notes, it follows the
//! recording.
//!
//! What it serves, all under `/1.0/kb` except `GET /1.0/healthcheck`:
//! - Stock's CORS headers on every response; any path reaches the resources (no request filter
//!   refuses non-ASCII characters, `;`, `\\` or encoded dots).
//! - Basic auth (`admin`/`password` by default, [`KillBillSimConfig::users`]; a failure is
//!   Shiro's bare 401 challenge) and the tenant headers `X-Killbill-ApiKey`/`X-Killbill-ApiSecret`
//!   (missing or wrong: a 401 HTML container page, not JSON). Every write needs
//!   `X-Killbill-CreatedBy` (400 JSON without it). The tenant `bob`/`lazar` (or
//!   [`KillBillSimConfig::tenants`]) exists from the start, with the start-up catalog (the sample
//!   by default); `POST /1.0/kb/tenants` adds more (with an empty catalog, or the start-up one
//!   with `?useGlobalDefault=true`).
//! - Accounts: create (201, empty body, full-URL `Location`), read by id or `externalKey`,
//!   partial update, close (`DELETE`: AUTO_INVOICING_OFF tag and CLOSE_ACCOUNT blocking state,
//!   read back with `GET .../tags` and `GET .../block`), offset pagination with the
//!   `X-Killbill-Pagination-*` headers, bundles of an account.
//! - Subscriptions: create by `planName` (or product/period/price list), read by id or
//!   `externalKey`, cancel (entitlement and billing policies; 500/1031 once cancelled),
//!   uncancel, change plan now or at the end of the term (a pending change shows as a future
//!   CHANGE event); bundles by key.
//! - Usage: record (201, empty body; `trackingId` dedup as 400/50000; a record after the
//!   subscription's end is a 400 HTML page) and rolled-up sums over `[startDate, endDate)`,
//!   with the column's 9 decimals.
//! - Invoices: `GET /1.0/kb/accounts/{id}/invoices`, issued when they fall due: recurring items
//!   in advance from the billing start (`billingDate`: a migrated subscription is not billed
//!   for its time before it), usage in arrear (see the `invoices` module).
//! - Catalog, per tenant: `GET /1.0/kb/catalog` (JSON only with `Accept: application/json`, XML
//!   otherwise, as observed), `/catalog/versions`, `/catalog/xml`, and uploads of a new version
//!   (`POST /1.0/kb/catalog/xml`: 201, 400/2080 for what the server refuses, 501 for what the
//!   simulator does not model). The start-up tenants get the start-up catalog
//!   ([`KillBillSimConfig::catalog`] or Kill Bill XML, [`KillBillSim::start_with_catalog_xml`]).
//! - Admin controls under `/__sim` (see [`crate::admin`]).
//! - The test-mode clock, `/1.0/kb/test/clock`: read (`GET`), set (`POST ?requestedDate=`) and
//!   moved (`PUT ?days=&months=`), as on a server started in test mode.
//!
//! Time is real time plus an offset, as Kill Bill's test-mode `ClockMock` (see
//! [`KillBillSim::advance_clock`] and the `/test/clock` resource). Billing periods are monthly,
//! on the account's bill-cycle day (set from the first recurring subscription's start), and
//! local dates become instants at the account's reference time of day, as on the server.
//! A subscription is charged through the end of its current period from the moment its
//! billing starts; invoices are issued when read, for everything that fell due by then.

use axum::Router;
use axum::extract::OriginalUri;
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, StatusCode};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::server::{SimOptions, SimServer};

mod accounts;
mod auth;
mod catalog;
mod catalog_api;
mod catalog_xml;
mod closing;
mod control;
mod cors;
mod errors;
mod ids;
mod invoices;
mod lifecycle;
mod pagination;
mod reply;
mod seed;
mod state;
mod subscriptions;
mod tenants;
mod test_clock;
mod time;
mod timeline;
mod usage;
mod wire;

use auth::FilterState;
use errors::KbError;
use state::Sim;

/// Basic-auth user of the simulated server (Kill Bill's default `shiro.ini`).
pub const USERNAME: &str = "admin";
/// Basic-auth password of the simulated server.
pub const PASSWORD: &str = "password";
/// API key of the pre-created tenant.
pub const API_KEY: &str = "bob";
/// API secret of the pre-created tenant.
pub const API_SECRET: &str = "lazar";

/// Kill Bill documents no rate limiting; a proxy in front of it would answer 429 with
/// `Retry-After: <secs>`, which is what the simulator's rate-limit fault sends.
pub fn rate_limit_headers(reset_secs: u64) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&reset_secs.to_string()) {
        headers.insert(http::header::RETRY_AFTER, v);
    }
    headers
}

/// The credentials a simulator accepts: Shiro's basic-auth user and the pre-created tenant's
/// key and secret. The default is [`USERNAME`], [`PASSWORD`], [`API_KEY`], [`API_SECRET`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillBillCredentials {
    /// Basic-auth user.
    pub username: String,
    /// Basic-auth password.
    pub password: String,
    /// API key of the pre-created tenant.
    pub api_key: String,
    /// API secret of the pre-created tenant.
    pub api_secret: String,
}

impl Default for KillBillCredentials {
    fn default() -> Self {
        Self {
            username: USERNAME.to_owned(),
            password: PASSWORD.to_owned(),
            api_key: API_KEY.to_owned(),
            api_secret: API_SECRET.to_owned(),
        }
    }
}

/// What a Kill Bill simulator starts with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KillBillSimConfig {
    /// The users Shiro accepts, as (username, password); default [`USERNAME`]/[`PASSWORD`].
    pub users: Vec<(String, String)>,
    /// The tenants that exist from the start, as (API key, API secret), each with the catalog;
    /// default [`API_KEY`]/[`API_SECRET`].
    pub tenants: Vec<(String, String)>,
    /// The catalog of those tenants, also the global default catalog of tenants created with
    /// `useGlobalDefault=true` (default [`crate::Catalog::sample`]).
    pub catalog: crate::Catalog,
}

impl Default for KillBillSimConfig {
    fn default() -> Self {
        Self {
            users: vec![(USERNAME.to_owned(), PASSWORD.to_owned())],
            tenants: vec![(API_KEY.to_owned(), API_SECRET.to_owned())],
            catalog: crate::Catalog::sample(),
        }
    }
}

impl From<KillBillCredentials> for KillBillSimConfig {
    fn from(c: KillBillCredentials) -> Self {
        Self {
            users: vec![(c.username, c.password)],
            tenants: vec![(c.api_key, c.api_secret)],
            catalog: crate::Catalog::sample(),
        }
    }
}

/// A running Kill Bill simulator. Stops when dropped.
#[derive(Debug)]
pub struct KillBillSim {
    server: SimServer,
    sim: Sim,
    credentials: KillBillCredentials,
}

impl KillBillSim {
    /// Basic-auth user ([`USERNAME`]).
    pub const USERNAME: &'static str = USERNAME;
    /// Basic-auth password ([`PASSWORD`]).
    pub const PASSWORD: &'static str = PASSWORD;
    /// API key of the pre-created tenant ([`API_KEY`]).
    pub const API_KEY: &'static str = API_KEY;
    /// API secret of the pre-created tenant ([`API_SECRET`]).
    pub const API_SECRET: &'static str = API_SECRET;

    /// Starts the simulator on 127.0.0.1 (an ephemeral port unless `options.port` is set).
    ///
    /// # Errors
    /// If the port cannot be bound.
    pub async fn start(options: SimOptions) -> std::io::Result<KillBillSim> {
        Self::start_with(options, KillBillSimConfig::default()).await
    }

    /// Starts the simulator accepting other credentials than the defaults (say, distinctive
    /// secrets a test can search its output for).
    ///
    /// # Errors
    /// If the port cannot be bound.
    pub async fn start_with_credentials(
        options: SimOptions,
        credentials: KillBillCredentials,
    ) -> std::io::Result<KillBillSim> {
        Self::start_with(options, credentials.into()).await
    }

    /// Starts the simulator with its users, tenants and catalog.
    ///
    /// # Errors
    /// If the port cannot be bound; `InvalidInput` without a user or a tenant, or (the source a
    /// [`crate::CatalogError`]) if Kill Bill cannot serve the catalog.
    pub async fn start_with(
        options: SimOptions,
        config: KillBillSimConfig,
    ) -> std::io::Result<KillBillSim> {
        let catalog = catalog::KbCatalog::from_catalog(&config.catalog)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        Self::start_with_kb_catalog(options, config, catalog).await
    }

    /// Starts the simulator with its users and tenants, the tenants' catalog read from Kill
    /// Bill's own catalog XML (`config.catalog` is not used), as `org.killbill.catalog.uri`
    /// gives a real server its default catalog.
    ///
    /// # Errors
    /// As [`KillBillSim::start_with`]; `InvalidInput` if the XML is not a catalog the
    /// simulator models.
    pub async fn start_with_catalog_xml(
        options: SimOptions,
        config: KillBillSimConfig,
        xml: &str,
    ) -> std::io::Result<KillBillSim> {
        let catalog = catalog_xml::parse(xml)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        Self::start_with_kb_catalog(options, config, std::sync::Arc::new(catalog)).await
    }

    async fn start_with_kb_catalog(
        options: SimOptions,
        config: KillBillSimConfig,
        catalog: std::sync::Arc<catalog::KbCatalog>,
    ) -> std::io::Result<KillBillSim> {
        let (Some(user), Some(tenant)) = (config.users.first(), config.tenants.first()) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a Kill Bill simulator needs at least one user and one tenant",
            ));
        };
        let credentials = KillBillCredentials {
            username: user.0.clone(),
            password: user.1.clone(),
            api_key: tenant.0.clone(),
            api_secret: tenant.1.clone(),
        };
        let sim = Sim::seeded(&config.tenants, catalog);
        let shiro = auth::Credentials {
            users: config.users.clone(),
        };
        let control = std::sync::Arc::new(control::KillBillControl {
            sim: sim.clone(),
            config,
        });
        let server = SimServer::start_with_control(
            router(sim.clone(), shiro),
            options,
            rate_limit_headers,
            control,
        )
        .await?;
        Ok(KillBillSim {
            server,
            sim,
            credentials,
        })
    }

    /// Forgets every account, subscription and usage record and tenant created since, and
    /// puts the start-up tenants' catalog, the clock, fault settings and request log back as
    /// they were at start-up (`POST /__sim/reset`).
    pub fn reset(&self) {
        self.server.reset();
    }

    /// What the binary prints on start-up and `GET /__sim` answers: URLs, users, tenants and
    /// the `billing` facade's environment (first user and tenant).
    pub fn info(&self) -> crate::SimInfo {
        self.server.info().unwrap_or_else(|| crate::SimInfo {
            vendor: "killbill".to_owned(),
            url: self.base_url(),
            admin_url: String::new(),
            credentials: serde_json::Value::Null,
            env: String::new(),
        })
    }

    /// The server root, e.g. `http://127.0.0.1:41234` (the API is under `/1.0/kb`).
    pub fn base_url(&self) -> String {
        self.server.base_url()
    }

    /// The configuration of this library's `billing` facade that talks to this simulator
    /// (`provider = "killbill"` and its section), as TOML.
    pub fn billing_toml(&self) -> String {
        let c = &self.credentials;
        format!(
            "provider = \"killbill\"\n\n[killbill]\nbase_url = \"{}\"\nusername = \"{}\"\n\
             password = \"{}\"\napi_key = \"{}\"\napi_secret = \"{}\"\n",
            self.base_url(),
            c.username,
            c.password,
            c.api_key,
            c.api_secret
        )
    }

    /// The underlying server: request log and fault injection.
    pub fn server(&self) -> &SimServer {
        &self.server
    }

    /// Serves until the process ends (standalone use).
    pub async fn wait(self) {
        self.server.wait().await;
    }

    /// Gives up the inspection handle and keeps only the server (its state lives on).
    pub fn into_server(self) -> SimServer {
        self.server
    }

    /// Stored usage rows, across all tenants.
    pub fn usage_record_count(&self) -> usize {
        self.sim.db().usage_rows
    }

    /// The stored usage rows of a subscription, in insertion order:
    /// `(trackingId, unitType, amount)`, the amount as stored in `decimal(18,9)`.
    pub fn usage_records_for(&self, subscription_id: &str) -> Vec<(String, String, Decimal)> {
        let Ok(id) = Uuid::parse_str(subscription_id) else {
            return Vec::new();
        };
        self.sim
            .db()
            .usage
            .get(&id)
            .map(|rows| {
                rows.iter()
                    .map(|r| (r.tracking_id.clone(), r.unit_type.clone(), r.amount))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Accounts, across all tenants (closed ones included: closing is not deleting).
    pub fn account_count(&self) -> usize {
        self.sim.db().accounts.len()
    }

    /// Subscriptions, across all tenants (cancelled ones included).
    pub fn subscription_count(&self) -> usize {
        self.sim.db().subscriptions.len()
    }

    /// The simulated current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.sim.clock.now()
    }

    /// Moves the simulated clock forward (scheduled cancellations and plan changes take
    /// effect, billing periods roll over), like `PUT /1.0/kb/test/clock` and
    /// `POST /__sim/clock/advance`.
    pub fn advance_clock(&self, by: chrono::Duration) {
        self.sim.clock.advance(by);
    }

    /// Sets the simulated clock, e.g. to a fixed time of day so tests do not depend on when
    /// they run, like `POST /1.0/kb/test/clock?requestedDate=`. It keeps moving with real time
    /// from there. Call it before creating anything: existing dates are not moved.
    pub fn set_clock(&self, at: DateTime<Utc>) {
        self.sim.clock.set(at);
    }
}

async fn healthcheck() -> Response {
    let mut resp = reply::json(&serde_json::json!({
        "main.pool.ConnectivityCheck": {"healthy": true},
        "org.killbill.billing.server.healthchecks.KillbillHealthcheck": {"healthy": true, "message": "OK"},
        "org.killbill.billing.server.healthchecks.KillbillPluginsHealthcheck": {"healthy": true},
        "org.killbill.billing.server.healthchecks.KillbillQueuesHealthcheck": {"healthy": true},
        "osgi.pool.ConnectivityCheck": {"healthy": true},
        "shiro.pool.ConnectivityCheck": {"healthy": true},
    }));
    resp.headers_mut().insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("must-revalidate,no-cache,no-store"),
    );
    resp
}

async fn not_found() -> Response {
    KbError::not_found_page().into_response()
}

async fn method_not_allowed() -> Response {
    KbError::Page {
        status: StatusCode::METHOD_NOT_ALLOWED,
        message: None,
    }
    .into_response()
}

fn kb_routes(sim: Sim, credentials: auth::Credentials) -> Router {
    use axum::routing::{post, put};
    let filters = FilterState {
        sim: sim.clone(),
        credentials,
    };
    Router::new()
        .route(
            "/tenants",
            post(tenants::create).get(tenants::get_by_api_key),
        )
        .route("/tenants/{id}", get(tenants::get))
        .route(
            "/accounts",
            post(accounts::create).get(accounts::get_by_key),
        )
        .route("/accounts/pagination", get(accounts::list))
        .route(
            "/accounts/{id}",
            get(accounts::get)
                .put(accounts::update)
                .delete(closing::close),
        )
        .route(
            "/accounts/{id}/bundles",
            get(subscriptions::account_bundles),
        )
        .route("/accounts/{id}/invoices", get(invoices::for_account))
        .route("/accounts/{id}/tags", get(closing::tags))
        .route("/accounts/{id}/block", get(closing::block))
        .route(
            "/subscriptions",
            post(subscriptions::create).get(subscriptions::get_by_key),
        )
        .route(
            "/subscriptions/{id}",
            get(subscriptions::get)
                .put(lifecycle::change_plan)
                .delete(lifecycle::cancel),
        )
        .route("/subscriptions/{id}/uncancel", put(lifecycle::uncancel))
        .route("/bundles", get(subscriptions::bundles_by_key))
        .route("/usages", post(usage::record))
        .route("/usages/{id}", get(usage::get_all))
        .route("/usages/{id}/{unit}", get(usage::get_unit))
        .route("/catalog", get(catalog_api::get))
        .route("/catalog/versions", get(catalog_api::versions))
        .route(
            "/catalog/xml",
            get(catalog_api::get_xml).post(catalog_api::upload_xml),
        )
        .route(
            "/test/clock",
            get(test_clock::get)
                .post(test_clock::set)
                .put(test_clock::update),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(sim)
        .layer(from_fn_with_state(filters, auth::kb_filters))
}

fn router(sim: Sim, credentials: auth::Credentials) -> Router {
    Router::new()
        .route("/1.0/healthcheck", get(healthcheck))
        .nest("/1.0/kb", kb_routes(sim, credentials))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(cors::headers))
}

/// The path as the client sent it (nested routers see it without their prefix).
pub(crate) fn original_path(request: &axum::extract::Request) -> String {
    request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().path().to_owned(), |u| u.path().to_owned())
}
