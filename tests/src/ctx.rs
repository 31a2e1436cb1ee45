//! The context every scenario runs in: the backend, a random run prefix for every key, and
//! helpers that keep scenarios short.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use billing::catalog::sample;
use billing::rust_decimal::Decimal;
use billing::{
    BillingBackend, Capabilities, Currency, Customer, CustomerKey, Error, ErrorKind, EventId,
    MetricCode, NewCustomer, NewSubscription, PlanCode, Result, Subscription, SubscriptionKey,
    UsageEvent, UsageQuery, UsageSummary,
};

/// Counts the requests a backend has sent so far (a simulator's request log), so scenarios can
/// check that a refusal happened before any request.
pub type RequestCounter = Arc<dyn Fn() -> usize + Send + Sync>;

/// One scenario's world.
pub struct Ctx {
    backend: Arc<dyn BillingBackend>,
    prefix: String,
    requests: Option<RequestCounter>,
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("backend", &self.backend.info())
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Ctx {
    /// A context over `backend` with a fresh random prefix.
    pub fn new(backend: Arc<dyn BillingBackend>) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        Self {
            backend,
            prefix: format!("cf{}", &id[..10]),
            requests: None,
        }
    }

    /// Lets scenarios count the requests the backend sends.
    pub fn with_request_counter(mut self, counter: RequestCounter) -> Self {
        self.requests = Some(counter);
        self
    }

    /// The backend under test.
    pub fn backend(&self) -> &dyn BillingBackend {
        self.backend.as_ref()
    }

    /// Its capabilities.
    pub fn caps(&self) -> &Capabilities {
        self.backend.capabilities()
    }

    /// The run prefix every key starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `<prefix>-<name>`.
    pub fn key(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// A customer key under the run prefix.
    pub fn customer_key(&self, name: &str) -> CustomerKey {
        CustomerKey::new(self.key(name)).expect("valid test key")
    }

    /// A subscription key under the run prefix.
    pub fn subscription_key(&self, name: &str) -> SubscriptionKey {
        SubscriptionKey::new(self.key(name)).expect("valid test key")
    }

    /// An event id under the run prefix.
    pub fn event_id(&self, name: &str) -> EventId {
        EventId::new(self.key(name)).expect("valid test key")
    }

    /// The starter plan of the sample catalog.
    pub fn starter(&self) -> PlanCode {
        PlanCode::new(sample::STARTER).expect("sample plan code")
    }

    /// The pro plan of the sample catalog.
    pub fn pro(&self) -> PlanCode {
        PlanCode::new(sample::PRO).expect("sample plan code")
    }

    /// The `api_calls` metric.
    pub fn api_calls(&self) -> MetricCode {
        MetricCode::new(sample::API_CALLS).expect("sample metric code")
    }

    /// The `storage_gb` metric.
    pub fn storage_gb(&self) -> MetricCode {
        MetricCode::new(sample::STORAGE_GB).expect("sample metric code")
    }

    /// A complete new customer (name, email, USD) under the run prefix.
    pub fn new_customer(&self, name: &str) -> NewCustomer {
        NewCustomer::new(self.customer_key(name))
            .name(format!("Customer {name}"))
            .email(format!("{}@example.com", email_safe(&self.key(name))))
            .currency(Currency::USD)
    }

    /// Creates [`Ctx::new_customer`].
    pub async fn create_customer(&self, name: &str) -> Customer {
        self.backend
            .create_customer(&self.new_customer(name))
            .await
            .unwrap_or_else(|e| panic!("create customer {name}: {e}"))
    }

    /// Creates a customer `name` and subscribes it to `plan` under subscription `name-sub`.
    pub async fn subscribed(&self, name: &str, plan: PlanCode) -> Subscription {
        self.create_customer(name).await;
        self.subscribe(name, &format!("{name}-sub"), plan).await
    }

    /// Subscribes the existing customer `customer` to `plan` under `sub`.
    pub async fn subscribe(&self, customer: &str, sub: &str, plan: PlanCode) -> Subscription {
        let new = NewSubscription::new(
            self.subscription_key(sub),
            self.customer_key(customer),
            plan,
        )
        .currency(Currency::USD)
        .interval(billing::BillingInterval::Monthly);
        self.backend
            .create_subscription(&new)
            .await
            .unwrap_or_else(|e| panic!("create subscription {sub}: {e}"))
    }

    /// A usage event under the run prefix.
    pub fn event(
        &self,
        id: &str,
        sub: &SubscriptionKey,
        metric: MetricCode,
        quantity: &str,
    ) -> UsageEvent {
        UsageEvent::new(
            self.event_id(id),
            sub.clone(),
            metric,
            quantity.parse::<Decimal>().expect("decimal literal"),
        )
    }

    /// Requests sent so far, when the backend can count them.
    pub fn requests_sent(&self) -> Option<usize> {
        self.requests.as_ref().map(|f| f())
    }

    /// Runs `call`, expects an error of `kind`, and checks no request was sent (where countable).
    pub async fn refused_before_sending<T: fmt::Debug>(
        &self,
        kind: ErrorKind,
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Error {
        let before = self.requests_sent();
        let err = match call.await {
            Ok(v) => panic!("expected {kind:?}, got Ok({v:?})"),
            Err(e) => e,
        };
        assert_eq!(err.kind(), kind, "{err}");
        assert_eq!(
            self.requests_sent(),
            before,
            "{kind:?} must be decided before any request is sent"
        );
        err
    }

    /// Reads usage, waiting up to the backend's declared `usage_read_lag` for `done` to hold.
    pub async fn usage_until(
        &self,
        query: &UsageQuery,
        done: impl Fn(&UsageSummary) -> bool,
    ) -> UsageSummary {
        let lag = self.caps().usage_read_lag;
        let deadline = tokio::time::Instant::now() + lag * 3 + Duration::from_secs(2);
        loop {
            let summary = self
                .backend
                .usage(query)
                .await
                .unwrap_or_else(|e| panic!("usage: {e}"));
            if done(&summary) || lag.is_zero() || tokio::time::Instant::now() >= deadline {
                return summary;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

fn email_safe(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                'x'
            }
        })
        .collect()
}

/// Parses a decimal literal.
pub fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal literal")
}

/// Asserts that a result is an error of `kind`.
#[track_caller]
pub fn assert_kind<T: fmt::Debug>(result: Result<T>, kind: ErrorKind) -> Error {
    match result {
        Ok(v) => panic!("expected {kind:?}, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{e}");
            e
        }
    }
}
