//! [`KillBillBackend`]: the trait implementations (in `backend/`), their shared requests and the
//! key-to-id caches.

mod customers;
mod subscriptions;
mod usage;

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use billing_core::chrono::{NaiveTime, Utc};
use billing_core::layer::WithErrorContext;
use billing_core::{
    BackendInfo, BillingBackend, Capabilities, CustomerDeletion, CustomerKey, Error, ErrorKind,
    Operation, Result, Subscription, SubscriptionKey,
};
use billing_http::{
    ApiRequest, ApiResponse, Credentials, Endpoint, HeaderName, HeaderValue, HttpClient,
    HttpConfig, KeyCache, Method, SecretString,
};
use serde::de::DeserializeOwned;
use tokio::sync::Mutex;
use url::Url;

use crate::config::{KillBillConfig, audit_headers};
use crate::convert;
use crate::error::KillBillErrors;
use crate::wire;

/// The backend's name in errors, traces and [`BackendInfo`].
pub const NAME: &str = "killbill";

/// A catalog that does not know a name is fetched again, at most this often.
const CATALOG_REFRESH: Duration = Duration::from_secs(60);

/// What this adapter knows about an account from its id.
#[derive(Debug, Clone)]
struct AccountRef {
    /// The account's external key.
    key: CustomerKey,
    /// The time of day of its `referenceTime`, when read from the server.
    tod: Option<NaiveTime>,
}

/// The tenant catalog's unit and plan names.
#[derive(Debug)]
struct CatalogNames {
    units: BTreeSet<String>,
    fetched: Instant,
}

/// The backend itself: every trait, no error context (added by [`KillBillBackend`]).
pub(crate) struct KillBill {
    http: HttpClient,
    audit: Vec<(HeaderName, HeaderValue)>,
    capabilities: Capabilities,
    account_ids: KeyCache<CustomerKey, String>,
    accounts: KeyCache<String, AccountRef>,
    subscription_ids: KeyCache<SubscriptionKey, String>,
    catalog: Mutex<Option<CatalogNames>>,
}

impl fmt::Debug for KillBill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KillBillBackend")
            .field("http", &self.http)
            .finish_non_exhaustive()
    }
}

/// What Kill Bill supports, as the conformance suite checks it (see the crate docs).
pub fn capabilities() -> Capabilities {
    let mut c = Capabilities::full();
    c.customer_update = true;
    c.customer_delete = Some(CustomerDeletion::Close);
    c.customer_metadata = None;
    c.customer_email_required = false;
    c.customer_writes_atomic = true;
    c.cancel_now = true;
    c.cancel_at_period_end = true;
    c.change_plan_now = true;
    c.change_plan_at_period_end = true;
    c.change_plan_vendor_default = true;
    c.subscription_start_past = true;
    c.subscription_start_future = true;
    c.subscription_billing_anchor = true;
    c.usage_batch_max = 1;
    c.usage_dedup_by_event_id = true;
    c.usage_backdated = true;
    c.usage_current_period = true;
    c.usage_range = true;
    c.usage_per_subscription = true;
    c.usage_read_lag = Duration::ZERO;
    c.usage_amounts = false;
    c
}

/// A [`BillingBackend`] over Kill Bill's REST API (0.24.x). See the crate docs for how each
/// operation maps to Kill Bill and what it costs. Its errors carry the backend name `killbill`
/// and the operation.
#[derive(Debug)]
pub struct KillBillBackend {
    inner: WithErrorContext<KillBill>,
}

billing_core::raw::delegate_backend!(KillBillBackend => inner);

impl KillBillBackend {
    /// Builds the backend. Nothing is sent until the first call.
    ///
    /// # Errors
    /// A `Config` error naming the setting (`killbill.base_url`, `killbill.created_by`, ...).
    pub fn new(config: &KillBillConfig, http: &HttpConfig) -> Result<Self> {
        Ok(Self {
            inner: WithErrorContext::new(KillBill::new(config, http)?),
        })
    }
}

impl KillBill {
    fn new(config: &KillBillConfig, http: &HttpConfig) -> Result<Self> {
        config.validate()?;
        let base = config.base_url.trim();
        if base.trim_end_matches('/').ends_with("/1.0/kb") {
            return Err(Error::config(
                "killbill.base_url",
                "must be the server root, without /1.0/kb (the adapter adds it)",
            ));
        }
        let endpoint = Endpoint::parse("killbill.base_url", base, http.allow_insecure_http)?;
        let credentials = Credentials::basic(config.username.clone(), config.password.clone())
            .with_header(
                HeaderName::from_static("x-killbill-apikey"),
                SecretString::from(config.api_key.clone()),
            )
            .with_header(
                HeaderName::from_static("x-killbill-apisecret"),
                config.api_secret.clone(),
            );
        let audit = audit_headers(config)?
            .into_iter()
            .map(|(name, value)| (HeaderName::from_static(name), value))
            .collect();
        let http = HttpClient::new(NAME, endpoint, credentials, http.clone(), KillBillErrors)?;
        Ok(Self {
            http,
            audit,
            capabilities: capabilities(),
            account_ids: KeyCache::default(),
            accounts: KeyCache::default(),
            subscription_ids: KeyCache::default(),
            catalog: Mutex::new(None),
        })
    }

    /// `<base>/1.0/kb/<segments...>`, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Result<Url> {
        self.http
            .endpoint()
            .url(["1.0", "kb"].iter().chain(segments))
    }

    /// A request to `/1.0/kb/<segments...>`.
    fn request(&self, op: Operation, method: Method, segments: &[&str]) -> Result<ApiRequest> {
        Ok(ApiRequest::new(op, method, self.url(segments)?))
    }

    /// A write: the same, with `X-Killbill-CreatedBy` (and the configured reason and comment).
    fn write(&self, op: Operation, method: Method, segments: &[&str]) -> Result<ApiRequest> {
        let mut request = self.request(op, method, segments)?;
        for (name, value) in &self.audit {
            request = request.header(name.clone(), value.clone());
        }
        Ok(request)
    }

    /// Sends a request and decodes a successful JSON answer, keeping the raw value.
    async fn fetch<T: DeserializeOwned>(
        &self,
        request: ApiRequest,
    ) -> Result<(T, serde_json::Value)> {
        let response = self.http.send_ok(request).await?;
        response.json_keeping_raw()
    }

    /// The id in a create's `Location` header, followed only on the configured origin. `None`
    /// when the header is missing or points elsewhere (a proxy rewriting hosts): the caller then
    /// looks the object up by key instead of trusting the header.
    fn created_id(&self, response: &ApiResponse, collection: &str) -> Option<String> {
        let location = response.header("location")?;
        match self
            .http
            .endpoint()
            .follow(location)
            .and_then(|url| convert::id_from_location(&url, collection))
        {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(target: "billing_http", backend = NAME, error = %e, "ignoring the Location header");
                None
            }
        }
    }

    // -- accounts --------------------------------------------------------------------------

    fn remember_account(&self, account: &wire::Account) {
        if let Some((key, id, r)) = account_entry(account) {
            self.account_ids.insert(key, id.clone());
            self.accounts.insert(id, r);
        }
    }

    /// Caches a listed page of accounts in the caches' page-sized part: the page's keys cost
    /// no lookup right after, and a walk over every account holds one page's worth of entries.
    fn remember_listed_accounts<'a>(&self, accounts: impl IntoIterator<Item = &'a wire::Account>) {
        let entries: Vec<_> = accounts.into_iter().filter_map(account_entry).collect();
        self.account_ids
            .insert_listed(entries.iter().map(|(key, id, _)| (key.clone(), id.clone())));
        self.accounts
            .insert_listed(entries.into_iter().map(|(_, id, r)| (id, r)));
    }

    fn forget_account(&self, key: &CustomerKey) {
        if let Some(id) = self.account_ids.get(key) {
            self.accounts.remove(&id);
        }
        self.account_ids.remove(key);
    }

    /// `GET /1.0/kb/accounts?externalKey=`: 404/3003 is `NotFound`.
    async fn account_by_key(
        &self,
        op: Operation,
        key: &CustomerKey,
    ) -> Result<(wire::Account, serde_json::Value)> {
        let request = self
            .request(op, Method::GET, &["accounts"])?
            .query("externalKey", key.as_str());
        let (account, raw) = self.fetch::<wire::Account>(request).await?;
        self.remember_account(&account);
        Ok((account, raw))
    }

    /// `GET /1.0/kb/accounts/{id}`.
    async fn account_by_id(
        &self,
        op: Operation,
        id: &str,
    ) -> Result<(wire::Account, serde_json::Value)> {
        let (account, raw) = self
            .fetch::<wire::Account>(self.request(op, Method::GET, &["accounts", id])?)
            .await?;
        self.remember_account(&account);
        Ok((account, raw))
    }

    /// The account UUID of a customer key: cached, or one lookup by key.
    async fn account_id(&self, op: Operation, key: &CustomerKey) -> Result<String> {
        if let Some(id) = self.account_ids.get(key) {
            return Ok(id);
        }
        let (account, _) = self.account_by_key(op, key).await?;
        account
            .account_id
            .ok_or_else(|| Error::decode("AccountJson without accountId"))
    }

    /// Runs `call` with the customer's account UUID. Kill Bill never deletes accounts, so a
    /// cached id only goes stale when the server's database is replaced; then the server
    /// answers `ObjectDoesNotExist`, and the id is looked up again once.
    async fn with_account_id<T, F, Fut>(
        &self,
        op: Operation,
        key: &CustomerKey,
        call: F,
    ) -> Result<T>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let (id, cached) = match self.account_ids.get(key) {
            Some(id) => (id, true),
            None => (self.account_id(op, key).await?, false),
        };
        match call(id).await {
            Err(e) if cached && is_stale_id(&e) => {
                self.forget_account(key);
                let id = self.account_id(op, key).await?;
                call(id).await
            }
            other => other,
        }
    }

    /// The key (and reference time of day) of an account id: cached, or one read by id.
    async fn account_ref(&self, op: Operation, id: &str) -> Result<AccountRef> {
        if let Some(r) = self.accounts.get(&id.to_owned()) {
            return Ok(r);
        }
        let (account, _) = self.account_by_id(op, id).await?;
        let key = account
            .external_key
            .as_deref()
            .ok_or_else(|| Error::decode(format!("account {id} has no externalKey")))?;
        let key = CustomerKey::new(key).map_err(|e| {
            Error::decode(format!("account {id}: externalKey is not a valid key: {e}"))
        })?;
        Ok(self
            .accounts
            .get(&id.to_owned())
            .unwrap_or(AccountRef { key, tod: None }))
    }

    /// Whether the account is closed (`GET .../block`: its CLOSE_ACCOUNT blocking state; the
    /// AccountJson has no such flag).
    async fn is_closed(&self, op: Operation, id: &str) -> Result<bool> {
        let request = self
            .request(op, Method::GET, &["accounts", id, "block"])?
            .query("blockingStateTypes", "ACCOUNT");
        let (states, _) = self.fetch::<Vec<wire::BlockingState>>(request).await?;
        Ok(convert::is_closed(&states, id))
    }

    // -- subscriptions ---------------------------------------------------------------------

    fn remember_subscription(&self, sub: &wire::Subscription) {
        if let (Some(id), Some(key)) = (&sub.subscription_id, &sub.external_key)
            && let Ok(key) = SubscriptionKey::new(key.as_str())
        {
            self.subscription_ids.insert(key, id.clone());
        }
    }

    /// `GET /1.0/kb/subscriptions?externalKey=`: 404/1083 is `NotFound`.
    async fn subscription_by_key(
        &self,
        op: Operation,
        key: &SubscriptionKey,
    ) -> Result<(wire::Subscription, serde_json::Value)> {
        let request = self
            .request(op, Method::GET, &["subscriptions"])?
            .query("externalKey", key.as_str());
        let (sub, raw) = self.fetch::<wire::Subscription>(request).await?;
        self.remember_subscription(&sub);
        Ok((sub, raw))
    }

    /// `GET /1.0/kb/subscriptions/{id}`.
    async fn subscription_by_id(
        &self,
        op: Operation,
        id: &str,
    ) -> Result<(wire::Subscription, serde_json::Value)> {
        let request = self.request(op, Method::GET, &["subscriptions", id])?;
        let (sub, raw) = self.fetch::<wire::Subscription>(request).await?;
        self.remember_subscription(&sub);
        Ok((sub, raw))
    }

    /// The subscription UUID of a key: cached, or one lookup by key.
    async fn subscription_id(&self, op: Operation, key: &SubscriptionKey) -> Result<String> {
        if let Some(id) = self.subscription_ids.get(key) {
            return Ok(id);
        }
        let (sub, _) = self.subscription_by_key(op, key).await?;
        sub.subscription_id
            .ok_or_else(|| Error::decode("SubscriptionJson without subscriptionId"))
    }

    /// Runs `call` with the subscription's UUID, looking the key up again once if a cached id
    /// went stale (see [`KillBillBackend::with_account_id`]).
    async fn with_subscription_id<T, F, Fut>(
        &self,
        op: Operation,
        key: &SubscriptionKey,
        call: F,
    ) -> Result<T>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let (id, cached) = match self.subscription_ids.get(key) {
            Some(id) => (id, true),
            // Boxed: the lookup's state would otherwise sit in every call's future.
            None => (Box::pin(self.subscription_id(op, key)).await?, false),
        };
        match call(id).await {
            Err(e) if cached && is_stale_id(&e) => {
                self.subscription_ids.remove(key);
                let id = Box::pin(self.subscription_id(op, key)).await?;
                Box::pin(call(id)).await
            }
            other => other,
        }
    }

    /// The domain view of a SubscriptionJson (the customer key comes from the account cache,
    /// or one read of the account).
    async fn to_subscription(
        &self,
        op: Operation,
        sub: &wire::Subscription,
        raw: serde_json::Value,
    ) -> Result<Subscription> {
        let account_id = sub
            .account_id
            .as_deref()
            .ok_or_else(|| Error::decode("SubscriptionJson without accountId"))?;
        let account = self.account_ref(op, account_id).await?;
        convert::subscription(sub, account.key, account.tod, Utc::now(), Some(raw))
    }

    // -- catalog ---------------------------------------------------------------------------

    /// Whether the tenant's catalog has a usage unit of this name. The catalog is fetched once
    /// and kept; a name it lacks makes it fetched again, at most once a minute.
    async fn has_unit(&self, op: Operation, unit: &str) -> Result<bool> {
        let mut catalog = self.catalog.lock().await;
        if let Some(c) = catalog.as_ref() {
            if c.units.contains(unit) {
                return Ok(true);
            }
            if c.fetched.elapsed() < CATALOG_REFRESH {
                return Ok(false);
            }
        }
        let (versions, _) = self
            .fetch::<Vec<wire::Catalog>>(self.request(op, Method::GET, &["catalog"])?)
            .await?;
        let (units, _) = convert::catalog_names(&versions);
        let found = units.contains(unit);
        *catalog = Some(CatalogNames {
            units,
            fetched: Instant::now(),
        });
        Ok(found)
    }
}

/// What the caches keep of an account: its key, its id, and its reference time of day.
fn account_entry(account: &wire::Account) -> Option<(CustomerKey, String, AccountRef)> {
    let (Some(id), Some(key)) = (&account.account_id, &account.external_key) else {
        return None;
    };
    let key = CustomerKey::new(key.as_str()).ok()?;
    let tod = account
        .reference_time
        .as_deref()
        .and_then(convert::parse_datetime)
        .map(convert::time_of_day);
    Some((key.clone(), id.clone(), AccountRef { key, tod }))
}

/// Whether an error says an id the adapter sent is unknown to the tenant (a cached id that went
/// stale), rather than that a keyed object is missing.
fn is_stale_id(e: &Error) -> bool {
    e.kind() == ErrorKind::NotFound
        && e.vendor().and_then(|v| v.code.as_deref()) == Some("ObjectDoesNotExist")
}

#[async_trait::async_trait]
impl BillingBackend for KillBill {
    fn info(&self) -> BackendInfo {
        BackendInfo::new(NAME, Some(self.http.endpoint().as_str().to_owned()))
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// `GET /1.0/kb/accounts/pagination?offset=0&limit=1`: behind Shiro's basic auth and the
    /// tenant filter, in that order, so a 401 says which of the two refused.
    async fn check(&self) -> Result<()> {
        let request = self
            .request(Operation::Check, Method::GET, &["accounts", "pagination"])?
            .query("offset", "0")
            .query("limit", "1");
        self.http.check(request).await
    }
}
