//! [`BillaBearBackend`]: construction, capabilities, and the lookups every operation shares
//! (customer key -> id, subscription key -> id, the plan catalog). The trait implementations
//! live in `backend/{customers,subscriptions,usage}.rs`.

mod customers;
mod subscriptions;
mod usage;

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use billing_core::layer::WithErrorContext;
use billing_core::{
    BackendInfo, BillingBackend, Capabilities, CustomerDeletion, CustomerKey, Error,
    MetadataLimits, MetricCode, Operation, PlanCode, Result, Subscription, SubscriptionKey,
};
use billing_http::{
    ApiRequest, ApiResponse, Credentials, Endpoint, HeaderName, HttpClient, HttpConfig, KeyCache,
    KeyedLocks, Method, decode_value,
};
use chrono::Utc;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::BillaBearConfig;
use crate::convert;
use crate::error::BillaBearErrors;
use crate::pager::{self, PageQuery};
use crate::wire;

/// The backend's name in errors, traces and [`BackendInfo`].
pub(crate) const NAME: &str = "billabear";

/// Metadata limits this adapter enforces. BillaBear itself sets none (metadata is a JSON
/// column); these keep a customer record reasonable, and two entries of the 50 are taken by
/// the adapter's own `billing.key` and `billing.currency`.
pub const METADATA_LIMITS: MetadataLimits = MetadataLimits {
    max_entries: 48,
    max_key_chars: 128,
    max_value_chars: 1024,
};

/// How long BillaBear's cost estimate may lag behind recorded events: its counters are updated
/// by a per-minute cron job (`CounterUpdate`) through the messenger workers, so about a minute,
/// plus the workers' queue.
pub const USAGE_READ_LAG: Duration = Duration::from_secs(90);

/// What [`BillaBearBackend`] supports, with the reason for each limit in the crate docs.
pub fn capabilities() -> Capabilities {
    let mut c = Capabilities::full();
    c.customer_update = true;
    c.customer_delete = Some(CustomerDeletion::Close);
    c.customer_metadata = Some(METADATA_LIMITS);
    c.customer_email_required = true;
    c.customer_writes_atomic = false;
    c.cancel_now = true;
    c.cancel_at_period_end = true;
    c.change_plan_now = true;
    c.change_plan_at_period_end = false;
    c.change_plan_vendor_default = false;
    c.subscription_start_past = false;
    c.subscription_start_future = false;
    c.subscription_billing_anchor = false;
    c.usage_batch_max = 1;
    c.usage_dedup_by_event_id = false;
    c.usage_backdated = false;
    c.usage_current_period = true;
    c.usage_range = false;
    c.usage_per_subscription = false;
    c.usage_read_lag = USAGE_READ_LAG;
    c.usage_amounts = true;
    c
}

/// What the adapter remembers about a subscription key: its BillaBear id, its customer (the
/// subscription JSON has none) and the metric its price meters.
#[derive(Debug, Clone)]
pub(crate) struct SubRef {
    pub id: String,
    pub customer: Option<CustomerKey>,
    pub metric: Option<wire::Metric>,
}

/// A record as read, typed and raw.
#[derive(Debug, Clone)]
pub(crate) struct Record<T> {
    pub wire: T,
    pub raw: Value,
}

/// The plans of `GET /subscription/plans`.
#[derive(Debug, Default)]
pub(crate) struct PlanCatalog {
    plans: Vec<wire::Plan>,
}

impl PlanCatalog {
    fn plan(&self, code: &PlanCode) -> Option<&wire::Plan> {
        self.plans.iter().find(|p| p.code_name == code.as_str())
    }

    fn metric(&self, code: &MetricCode) -> Option<&wire::Metric> {
        self.plans
            .iter()
            .flat_map(|p| &p.prices)
            .filter_map(|p| p.metric.as_ref())
            .find(|m| m.code == code.as_str())
    }
}

/// The backend itself: every trait, no error context (added by [`BillaBearBackend`]).
pub(crate) struct BillaBear {
    http: HttpClient,
    tolerance: Duration,
    default_currency: Option<billing_core::Currency>,
    default_interval: Option<billing_core::BillingInterval>,
    capabilities: Capabilities,
    customers: KeyCache<CustomerKey, String>,
    subscriptions: KeyCache<SubscriptionKey, SubRef>,
    plans: RwLock<Option<Arc<PlanCatalog>>>,
    /// A create is a lookup by reference then a POST: one at a time per key.
    pub(crate) customer_locks: KeyedLocks<CustomerKey>,
}

impl fmt::Debug for BillaBear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BillaBearBackend")
            .field("http", &self.http)
            .field("tolerance", &self.tolerance)
            .field("cached_customers", &self.customers.len())
            .field("cached_subscriptions", &self.subscriptions.len())
            .finish_non_exhaustive()
    }
}

/// A BillaBear backend (see the crate docs for what it does and what it costs). Its errors carry
/// the backend name `billabear` and the operation.
#[derive(Debug)]
pub struct BillaBearBackend {
    inner: WithErrorContext<BillaBear>,
}

billing_core::raw::delegate_backend!(BillaBearBackend => inner);

impl BillaBearBackend {
    /// Builds the backend. No request is sent.
    ///
    /// # Errors
    /// A `Config` error naming the bad setting (`billabear.base_url`, `http.*`, ...).
    pub fn new(config: &BillaBearConfig, http: &HttpConfig) -> Result<Self> {
        Ok(Self {
            inner: WithErrorContext::new(BillaBear::new(config, http)?),
        })
    }
}

impl BillaBear {
    fn new(config: &BillaBearConfig, http: &HttpConfig) -> Result<Self> {
        config.validate()?;
        let endpoint = Endpoint::parse(
            "billabear.base_url",
            &config.base_url,
            http.allow_insecure_http,
        )?;
        let credentials = Credentials::none()
            .with_header(HeaderName::from_static("x-api-key"), config.api_key.clone());
        let client = HttpClient::new(NAME, endpoint, credentials, http.clone(), BillaBearErrors)?;
        Ok(Self {
            http: client,
            tolerance: config.tolerance(),
            default_currency: config.default_currency,
            default_interval: config.default_interval,
            capabilities: capabilities(),
            customers: KeyCache::default(),
            subscriptions: KeyCache::default(),
            plans: RwLock::new(None),
            customer_locks: KeyedLocks::default(),
        })
    }

    // ---- HTTP helpers -------------------------------------------------------------------

    fn request(&self, op: Operation, method: Method, segments: &[&str]) -> Result<ApiRequest> {
        Ok(ApiRequest::new(
            op,
            method,
            self.http.endpoint().url(segments)?,
        ))
    }

    /// GET, expecting JSON.
    pub(crate) async fn get_json(
        &self,
        op: Operation,
        segments: &[&str],
        query: Vec<(&'static str, String)>,
    ) -> Result<Value> {
        let mut req = self.request(op, Method::GET, segments)?;
        for (k, v) in query {
            req = req.query(k, v);
        }
        self.http.send_ok(req).await?.json::<Value>()
    }

    /// GET, decoding the body straight into `T` (a list's items stay raw JSON without being
    /// parsed into a `Value` and rebuilt).
    pub(crate) async fn get_as<T: DeserializeOwned>(
        &self,
        op: Operation,
        segments: &[&str],
        query: Vec<(&'static str, String)>,
        what: &str,
    ) -> Result<T> {
        let mut req = self.request(op, Method::GET, segments)?;
        for (k, v) in query {
            req = req.query(k, v);
        }
        self.http.send_ok(req).await?.json::<T>().map_err(|e| {
            Error::decode(format!("cannot decode a BillaBear {what}: {}", e.message()))
        })
    }

    /// A request with a JSON body. POSTs are never resent after an unknown outcome (BillaBear
    /// has no idempotency key anywhere); PUTs are (a full replace is idempotent).
    pub(crate) async fn send_json<B: Serialize + ?Sized>(
        &self,
        op: Operation,
        method: Method,
        segments: &[&str],
        body: &B,
    ) -> Result<ApiResponse> {
        let req = self.request(op, method, segments)?.json(body)?;
        self.http.send_ok(req).await
    }

    pub(crate) fn concurrency(&self) -> usize {
        self.http.concurrency()
    }

    // ---- customers ----------------------------------------------------------------------

    /// `GET /customer/{id}`.
    pub(crate) async fn fetch_customer(
        &self,
        op: Operation,
        id: &str,
    ) -> Result<Record<wire::Customer>> {
        let raw = self.get_json(op, &["customer", id], Vec::new()).await?;
        Ok(Record {
            wire: decode_value(&raw, "BillaBear customer")?,
            raw,
        })
    }

    /// Finds the customer whose `reference` is exactly `key`: the server's filter is a
    /// substring `LIKE` (where `%` and `_` are wildcards), so every page of matches is read and
    /// only the exact one kept.
    ///
    /// # Errors
    /// `Conflict` if several customers carry the key (created outside this library).
    pub(crate) async fn find_customer(
        &self,
        op: Operation,
        key: &CustomerKey,
    ) -> Result<Option<Record<wire::Customer>>> {
        let mut found: Vec<Record<wire::Customer>> = Vec::new();
        let mut query = Some(PageQuery::first(pager::MAX_PAGE));
        let mut seen = HashSet::new();
        while let Some(q) = query.take() {
            let mut params = q.params("limit");
            params.push(("reference", key.as_str().to_owned()));
            let list: wire::List<Value> = self.get_as(op, &["customer"], params, "list").await?;
            for raw in &list.data {
                if raw.get("reference").and_then(Value::as_str) == Some(key.as_str()) {
                    found.push(Record {
                        wire: decode_value(raw, "BillaBear customer")?,
                        raw: raw.clone(),
                    });
                }
            }
            query = pager::next_query(&list, pager::MAX_PAGE)?;
            if let Some(k) = query.as_ref().and_then(|q| q.last_key.clone())
                && !seen.insert(k)
            {
                return Err(Error::unexpected("BillaBear returned the same page twice"));
            }
        }
        if found.len() > 1 {
            return Err(Error::conflict(format!(
                "{} BillaBear customers have the reference `{key}`",
                found.len()
            )));
        }
        let record = found.pop();
        if let Some(r) = &record {
            self.customers.insert(key.clone(), r.wire.id.clone());
        }
        Ok(record)
    }

    /// The customer with `key`, read fresh: by cached id (one request), else by lookup.
    ///
    /// # Errors
    /// `NotFound` if no customer has the key.
    pub(crate) async fn customer_record(
        &self,
        op: Operation,
        key: &CustomerKey,
    ) -> Result<Record<wire::Customer>> {
        if let Some(id) = self.customers.get(key) {
            match self.fetch_customer(op, &id).await {
                Ok(r) if r.wire.reference.as_deref() == Some(key.as_str()) => return Ok(r),
                Ok(_) => self.customers.remove(key),
                Err(e) if e.is_not_found() => self.customers.remove(key),
                Err(e) => return Err(e),
            }
        }
        self.find_customer(op, key)
            .await?
            .ok_or_else(|| Error::not_found(format!("no customer `{key}`")))
    }

    /// The BillaBear id of the customer with `key`: from the cache (no request: BillaBear never
    /// deletes a customer), else by lookup.
    ///
    /// # Errors
    /// `NotFound` if no customer has the key.
    pub(crate) async fn customer_id(&self, op: Operation, key: &CustomerKey) -> Result<String> {
        if let Some(id) = self.customers.get(key) {
            return Ok(id);
        }
        self.find_customer(op, key)
            .await?
            .map(|r| r.wire.id)
            .ok_or_else(|| Error::not_found(format!("no customer `{key}`")))
    }

    // ---- subscriptions ------------------------------------------------------------------

    /// Caches what a subscription JSON says about its key; returns the entry.
    pub(crate) fn remember(
        &self,
        w: &wire::Subscription,
        customer: Option<&CustomerKey>,
    ) -> Option<(SubscriptionKey, SubRef)> {
        let (key, meta_customer) = convert::subscription_keys(&w.metadata);
        let key = key?;
        let entry = SubRef {
            id: w.id.clone(),
            customer: customer.cloned().or(meta_customer),
            metric: convert::metered_metric(w).cloned(),
        };
        self.subscriptions.insert(key.clone(), entry.clone());
        Some((key, entry))
    }

    /// `GET /subscription/{id}`.
    pub(crate) async fn fetch_subscription(
        &self,
        op: Operation,
        id: &str,
    ) -> Result<Record<wire::Subscription>> {
        let raw = self.get_json(op, &["subscription", id], Vec::new()).await?;
        Ok(Record {
            wire: decode_value(&raw, "BillaBear subscription")?,
            raw,
        })
    }

    /// Walks `GET /subscription` (100 a page) until a subscription with `key` in its metadata
    /// shows up, caching every key seen on the way. BillaBear cannot filter by metadata, so a
    /// miss reads every subscription of the instance.
    pub(crate) async fn scan_subscriptions(
        &self,
        op: Operation,
        key: &SubscriptionKey,
    ) -> Result<Option<(Record<wire::Subscription>, SubRef)>> {
        let mut query = Some(PageQuery::first(pager::MAX_PAGE));
        let mut seen = HashSet::new();
        while let Some(q) = query.take() {
            let list: wire::List<Value> = self
                .get_as(op, &["subscription"], q.params("per_page"), "list")
                .await?;
            for raw in &list.data {
                let Ok(w) = serde_json::from_value::<wire::Subscription>(raw.clone()) else {
                    continue; // not one of ours if it does not even decode
                };
                if let Some((k, entry)) = self.remember(&w, None)
                    && &k == key
                {
                    return Ok(Some((
                        Record {
                            wire: w,
                            raw: raw.clone(),
                        },
                        entry,
                    )));
                }
            }
            query = pager::next_query(&list, pager::MAX_PAGE)?;
            if let Some(k) = query.as_ref().and_then(|q| q.last_key.clone())
                && !seen.insert(k)
            {
                return Err(Error::unexpected("BillaBear returned the same page twice"));
            }
        }
        Ok(None)
    }

    /// The id and customer of the subscription with `key`, from the cache or a scan.
    ///
    /// # Errors
    /// `NotFound` if no subscription has the key.
    pub(crate) async fn sub_ref(&self, op: Operation, key: &SubscriptionKey) -> Result<SubRef> {
        if let Some(r) = self.subscriptions.get(key) {
            return Ok(r);
        }
        self.scan_subscriptions(op, key)
            .await?
            .map(|(_, r)| r)
            .ok_or_else(|| Error::not_found(format!("no subscription `{key}`")))
    }

    /// The subscription with `key`, read fresh: by cached id (one request), else by a scan.
    ///
    /// # Errors
    /// `NotFound` if no subscription has the key.
    pub(crate) async fn subscription_record(
        &self,
        op: Operation,
        key: &SubscriptionKey,
    ) -> Result<(Record<wire::Subscription>, SubRef)> {
        if let Some(entry) = self.subscriptions.get(key) {
            match self.fetch_subscription(op, &entry.id).await {
                Ok(r) if convert::subscription_keys(&r.wire.metadata).0.as_ref() == Some(key) => {
                    let entry = self
                        .remember(&r.wire, entry.customer.as_ref())
                        .map_or(entry, |(_, e)| e);
                    return Ok((r, entry));
                }
                Ok(_) => self.subscriptions.remove(key),
                Err(e) if e.is_not_found() => self.subscriptions.remove(key),
                Err(e) => return Err(e),
            }
        }
        self.scan_subscriptions(op, key)
            .await?
            .ok_or_else(|| Error::not_found(format!("no subscription `{key}`")))
    }

    /// A domain subscription from a record and its cache entry.
    pub(crate) fn to_subscription(
        &self,
        record: Record<wire::Subscription>,
        entry: &SubRef,
        key: &SubscriptionKey,
    ) -> Result<Subscription> {
        let customer = Self::customer_of(entry, key)?;
        convert::subscription(&record.wire, record.raw, customer, Utc::now())
    }

    /// The customer key of a subscription entry.
    pub(crate) fn customer_of(entry: &SubRef, key: &SubscriptionKey) -> Result<CustomerKey> {
        entry.customer.clone().ok_or_else(|| {
            Error::decode(format!(
                "BillaBear subscription `{key}` has no `{}` metadata",
                convert::META_CUSTOMER
            ))
        })
    }

    // ---- catalog ------------------------------------------------------------------------

    /// The plan catalog, cached after the first read (`refresh` reads it again).
    pub(crate) async fn catalog(&self, op: Operation, refresh: bool) -> Result<Arc<PlanCatalog>> {
        if !refresh
            && let Some(c) = self
                .plans
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone()
        {
            return Ok(c);
        }
        let mut plans = Vec::new();
        let mut query = Some(PageQuery::first(pager::MAX_PAGE));
        let mut seen = HashSet::new();
        while let Some(q) = query.take() {
            let list: wire::List<wire::Plan> = self
                .get_as(
                    op,
                    &["subscription", "plans"],
                    q.params("limit"),
                    "plan list",
                )
                .await?;
            query = pager::next_query(&list, pager::MAX_PAGE)?;
            plans.extend(list.data);
            if let Some(k) = query.as_ref().and_then(|q| q.last_key.clone())
                && !seen.insert(k)
            {
                return Err(Error::unexpected("BillaBear returned the same page twice"));
            }
        }
        let catalog = Arc::new(PlanCatalog { plans });
        *self
            .plans
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(catalog.clone());
        Ok(catalog)
    }

    /// A plan by code, reading the catalog again once if the cached one lacks it.
    ///
    /// # Errors
    /// `NotFound` if no plan has the code.
    pub(crate) async fn find_plan(&self, op: Operation, code: &PlanCode) -> Result<wire::Plan> {
        if let Some(p) = self.catalog(op, false).await?.plan(code) {
            return Ok(p.clone());
        }
        self.catalog(op, true)
            .await?
            .plan(code)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("no plan `{code}`")))
    }

    /// A metric some plan's price meters, by code, reading the catalog again once if the
    /// cached one lacks it. BillaBear has no metric listing in its API, so a metric no price
    /// uses is unknown here (and could never be billed anyway).
    pub(crate) async fn find_metric(
        &self,
        op: Operation,
        code: &MetricCode,
    ) -> Result<Option<wire::Metric>> {
        if let Some(m) = self.catalog(op, false).await?.metric(code) {
            return Ok(Some(m.clone()));
        }
        Ok(self.catalog(op, true).await?.metric(code).cloned())
    }
}

#[async_trait::async_trait]
impl BillingBackend for BillaBear {
    fn info(&self) -> BackendInfo {
        BackendInfo::new(NAME, Some(self.http.endpoint().as_str().to_owned()))
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }
    /// `GET /customer?limit=1`: routed before BillaBear's API-key authenticator runs, as in
    /// Symfony, so a wrong base URL is told apart from a wrong key.
    async fn check(&self) -> Result<()> {
        let request = self
            .request(Operation::Check, Method::GET, &["customer"])?
            .query("limit", "1");
        self.http.check(request).await
    }
}
