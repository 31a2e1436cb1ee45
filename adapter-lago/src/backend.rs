//! [`LagoBackend`]: construction, capabilities, and the lookups every trait shares (customer by
//! key, subscription rows by key, the billable-metric catalog). The trait implementations are
//! in `backend/{customers,subscriptions,usage}.rs`.

use std::collections::HashMap;
use std::time::Duration;

use billing_core::layer::WithErrorContext;
use billing_core::{
    BackendInfo, BillingBackend, Capabilities, Customer, CustomerDeletion, CustomerKey,
    MetadataLimits, Operation, Result, SubscriptionKey,
};
use billing_http::{ApiRequest, Credentials, HttpClient, HttpConfig, KeyCache, KeyedLocks, Method};
use serde_json::Value;
use url::Url;

use crate::config::LagoConfig;
use crate::convert::{self, BACKEND, Metering};
use crate::error::LagoErrors;
use crate::pager::{self, MAX_PER_PAGE, Position};
use crate::wire;

mod customers;
mod subscriptions;
mod usage;

/// Every status a subscription row can have, for lists that must see them all.
const ALL_STATUSES: [&str; 4] = ["active", "pending", "terminated", "canceled"];

/// Lago's customer metadata limits.
pub const METADATA_LIMITS: MetadataLimits = MetadataLimits {
    max_entries: 5,
    max_key_chars: 20,
    max_value_chars: 100,
};

/// Most events per `POST /events/batch`.
pub const BATCH_MAX: usize = 100;

/// The Lago backend. Build it with [`LagoBackend::new`] (or through the `billing` facade).
///
/// It caches, per subscription key, the customer key (subscriptions never move between
/// customers), and the billable-metric catalog (refreshed when an unknown code shows up), so a
/// usage batch or a usage query costs one request once warm. Its errors carry the backend name
/// `lago` and the operation.
#[derive(Debug)]
pub struct LagoBackend {
    inner: WithErrorContext<Lago>,
}

billing_core::raw::delegate_backend!(LagoBackend => inner);

/// The backend itself: every trait, no error context (added by [`LagoBackend`]).
#[derive(Debug)]
pub(crate) struct Lago {
    client: HttpClient,
    capabilities: Capabilities,
    subscription_customers: KeyCache<SubscriptionKey, CustomerKey>,
    metrics: KeyCache<String, Metering>,
    metrics_refresh: tokio::sync::Mutex<()>,
    /// Customer writes are a read then an upsert: one at a time per key.
    customer_locks: KeyedLocks<CustomerKey>,
}

impl LagoBackend {
    /// Connects (lazily: no request is sent here) to the Lago API of `config`.
    ///
    /// # Errors
    /// A `Config` error naming the bad setting (`lago.base_url`, `lago.api_key`, `http.*`).
    pub fn new(config: &LagoConfig, http: &HttpConfig) -> Result<Self> {
        Ok(Self {
            inner: WithErrorContext::new(Lago::new(config, http)?),
        })
    }
}

/// What Lago supports, as this adapter implements it (see the crate docs for the reasons). No
/// request is needed: the in-memory backend can take these to stand in for Lago in tests.
pub fn capabilities() -> Capabilities {
    let mut c = Capabilities::full();
    c.customer_update = true;
    c.customer_delete = Some(CustomerDeletion::Remove);
    c.customer_metadata = Some(METADATA_LIMITS);
    c.customer_email_required = false;
    c.customer_writes_atomic = false;
    c.cancel_now = true;
    c.cancel_at_period_end = true;
    c.change_plan_now = false;
    c.change_plan_at_period_end = false;
    c.change_plan_vendor_default = true;
    c.subscription_start_past = true;
    c.subscription_start_future = true;
    c.subscription_billing_anchor = false;
    c.usage_batch_max = BATCH_MAX;
    c.usage_dedup_by_event_id = true;
    c.usage_backdated = true;
    c.usage_current_period = true;
    c.usage_range = false;
    c.usage_per_subscription = true;
    c.usage_read_lag = Duration::from_secs(10);
    c.usage_amounts = true;
    c
}

impl Lago {
    fn new(config: &LagoConfig, http: &HttpConfig) -> Result<Self> {
        let endpoint = config.validate(http)?;
        let client = HttpClient::new(
            BACKEND,
            endpoint,
            Credentials::bearer(config.api_key.clone()),
            http.clone(),
            LagoErrors,
        )?;
        Ok(Self {
            client,
            capabilities: capabilities(),
            subscription_customers: KeyCache::default(),
            metrics: KeyCache::default(),
            metrics_refresh: tokio::sync::Mutex::new(()),
            customer_locks: KeyedLocks::default(),
        })
    }

    /// `<base>/<segments>` (subscription and event routes accept any character but `/`, which is
    /// encoded).
    fn url(&self, segments: &[&str]) -> Result<Url> {
        self.client.endpoint().url(segments)
    }

    /// `<base>/customers/<key>/<rest>` with every dot of the key encoded: Rails' customer routes
    /// would otherwise stop the id at the first `.`.
    fn customer_url(&self, key: &CustomerKey, rest: &[&str]) -> Result<Url> {
        let mut segments = vec!["customers", key.as_str()];
        segments.extend_from_slice(rest);
        self.client.endpoint().url_escaping_dots(&segments)
    }

    /// Reads a customer by key: `GET /customers?external_id=` (an exact match on current Lago).
    /// If the server ignores the filter (an older Lago returns every customer), falls back to
    /// `GET /customers/{key}`.
    async fn find_customer(&self, key: &CustomerKey, op: Operation) -> Result<Option<Customer>> {
        let list: wire::CustomerList = pager::fetch(
            &self.client,
            op,
            pager::Route::Collection,
            self.url(&["customers"])?,
            &[("external_id", key.as_str().to_owned())],
            Position {
                page: 1,
                per_page: 1,
            },
        )
        .await?;
        let matches =
            |c: &Value| c.get("external_id").and_then(Value::as_str) == Some(key.as_str());
        if let Some(raw) = list.customers.iter().find(|c| matches(c)) {
            return convert::customer(raw.clone()).map(Some);
        }
        if list.customers.is_empty() {
            return Ok(None);
        }
        let request = ApiRequest::new(op, Method::GET, self.customer_url(key, &[])?);
        let response = self.client.send(request).await?;
        if response.status.as_u16() == 404 {
            return Ok(None);
        }
        if !response.is_success() {
            return Err(self.client.error(op, &response));
        }
        let envelope: wire::CustomerEnvelope = response.json()?;
        convert::customer(envelope.customer).map(Some)
    }

    /// Every row of a subscription key, in every status:
    /// `GET /subscriptions?external_id=&status[]=...`.
    async fn subscription_rows(
        &self,
        key: &SubscriptionKey,
        op: Operation,
    ) -> Result<Vec<(wire::Subscription, Value)>> {
        let mut filters = vec![("external_id", key.as_str().to_owned())];
        filters.extend(ALL_STATUSES.iter().map(|s| ("status[]", (*s).to_owned())));
        let mut rows = Vec::new();
        let mut position = Position {
            page: 1,
            per_page: MAX_PER_PAGE,
        };
        loop {
            let list: wire::SubscriptionList = pager::fetch(
                &self.client,
                op,
                pager::Route::Collection,
                self.url(&["subscriptions"])?,
                &filters,
                position,
            )
            .await?;
            for raw in list.subscriptions {
                let row = convert::subscription_row(&raw)?;
                if row.external_id == key.as_str() {
                    rows.push((row, raw));
                }
            }
            match list.meta.next_page {
                Some(next) if next > position.page => position.page = next,
                _ => return Ok(rows),
            }
        }
    }

    /// The current row of a subscription key (see [`convert::current_row`]), or `None`.
    /// Remembers the subscription's customer.
    async fn find_subscription(
        &self,
        key: &SubscriptionKey,
        op: Operation,
    ) -> Result<Option<(wire::Subscription, Value)>> {
        let mut rows = self.subscription_rows(key, op).await?;
        let typed: Vec<wire::Subscription> = rows.iter().map(|(r, _)| r.clone()).collect();
        let Some(i) = convert::current_row(&typed) else {
            return Ok(None);
        };
        let found = rows.swap_remove(i);
        if let Some(customer) = found
            .0
            .external_customer_id
            .as_ref()
            .and_then(|c| CustomerKey::new(c.clone()).ok())
        {
            self.subscription_customers.insert(key.clone(), customer);
        }
        Ok(Some(found))
    }

    /// The customer of a subscription: cached, or read once.
    async fn customer_of(
        &self,
        key: &SubscriptionKey,
        op: Operation,
    ) -> Result<Option<CustomerKey>> {
        if let Some(c) = self.subscription_customers.get(key) {
            return Ok(Some(c));
        }
        self.find_subscription(key, op).await?;
        Ok(self.subscription_customers.get(key))
    }

    /// How each metric code is metered, `None` for codes Lago does not know. The catalog is
    /// cached and listed again (`GET /billable_metrics`, every page) when a code is missing.
    async fn meterings(
        &self,
        codes: &[&str],
        op: Operation,
    ) -> Result<HashMap<String, Option<Metering>>> {
        let lookup = |codes: &[&str]| -> HashMap<String, Option<Metering>> {
            codes
                .iter()
                .map(|c| ((*c).to_owned(), self.metrics.get(&(*c).to_owned())))
                .collect()
        };
        let cached = lookup(codes);
        if cached.values().all(Option::is_some) {
            return Ok(cached);
        }
        let _guard = self.metrics_refresh.lock().await;
        let cached = lookup(codes);
        if cached.values().all(Option::is_some) {
            return Ok(cached);
        }
        let mut position = Position {
            page: 1,
            per_page: MAX_PER_PAGE,
        };
        loop {
            let list: wire::BillableMetricList = pager::fetch(
                &self.client,
                op,
                pager::Route::Collection,
                self.url(&["billable_metrics"])?,
                &[],
                position,
            )
            .await?;
            for m in &list.billable_metrics {
                self.metrics.insert(m.code.clone(), convert::metering(m));
            }
            match list.meta.next_page {
                Some(next) if next > position.page => position.page = next,
                _ => break,
            }
        }
        Ok(lookup(codes))
    }
}

#[async_trait::async_trait]
impl BillingBackend for Lago {
    fn info(&self) -> BackendInfo {
        BackendInfo::new(BACKEND, Some(self.client.endpoint().as_str().to_owned()))
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// `GET /customers?page=1&per_page=1`: authenticated, and routed whenever the base URL is
    /// Lago's API base.
    async fn check(&self) -> Result<()> {
        let request = ApiRequest::new(Operation::Check, Method::GET, self.url(&["customers"])?)
            .query("page", "1")
            .query("per_page", "1");
        self.client.check(request).await
    }
}
