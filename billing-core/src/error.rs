//! The one error type every backend returns.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// A `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, independent of the vendor.
///
/// Match on the kind, never on message text: messages are for humans and differ by vendor. It is
/// `Copy` and carries no data: what a kind may come with (such as how long a rate-limited caller
/// should wait, [`Error::retry_after`]) lives on the [`Error`].
///
/// ```
/// # use billing_core::{Error, ErrorKind};
/// let e = Error::not_found("no customer `acme`");
/// assert_eq!(e.kind(), ErrorKind::NotFound);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The addressed object does not exist.
    NotFound,
    /// An object with this key already exists.
    AlreadyExists,
    /// The object is in a state that does not allow the operation (e.g. changing the plan of a
    /// canceled subscription).
    Conflict,
    /// The input was rejected. Raised before any request when the library can tell.
    InvalidInput,
    /// The credentials are missing or wrong.
    Unauthenticated,
    /// The credentials are valid but not allowed to do this.
    PermissionDenied,
    /// The vendor requires a payment method, or a charge failed.
    PaymentRequired,
    /// The vendor throttled the request; [`Error::retry_after`] says how long it asked the
    /// caller to wait, when it said.
    RateLimited,
    /// The vendor could not be reached or answered with a temporary server error.
    Unavailable,
    /// The request timed out. A write may or may not have been applied.
    Timeout,
    /// The backend cannot honour this operation or option. Raised before any request.
    Unsupported,
    /// The configuration is missing a setting or has an invalid one.
    Config,
    /// The vendor's response could not be decoded.
    Decode,
    /// Anything else: an answer the library did not expect.
    Unexpected,
}

impl ErrorKind {
    /// Whether errors of this kind are temporary by default (retrying later may succeed).
    pub fn is_temporary_by_default(self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Timeout
        )
    }

    fn label(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::Conflict => "conflict",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::PaymentRequired => "payment required",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Config => "configuration error",
            ErrorKind::Decode => "decode error",
            ErrorKind::Unexpected => "unexpected",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// The vendor's own description of an error, parsed leniently from its response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VendorDetail {
    /// The HTTP status.
    pub status: Option<u16>,
    /// The vendor's error code (Lago `code`, Kill Bill numeric `code`, ...), as text.
    pub code: Option<String>,
    /// The vendor's message, shortened.
    pub message: Option<String>,
}

impl VendorDetail {
    /// A detail with only the HTTP status.
    pub fn status(status: u16) -> Self {
        Self {
            status: Some(status),
            ..Self::default()
        }
    }

    /// Sets the vendor code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// Sets the vendor message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }
}

/// Names of the operations of the contract, carried by errors and traces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// [`crate::CustomerStore::create_customer`]
    CreateCustomer,
    /// [`crate::CustomerStore::get_customer`]
    GetCustomer,
    /// [`crate::CustomerStore::update_customer`]
    UpdateCustomer,
    /// [`crate::CustomerStore::delete_customer`]
    DeleteCustomer,
    /// [`crate::CustomerStore::list_customers`]
    ListCustomers,
    /// [`crate::SubscriptionStore::create_subscription`]
    CreateSubscription,
    /// [`crate::SubscriptionStore::get_subscription`]
    GetSubscription,
    /// [`crate::SubscriptionStore::list_subscriptions`]
    ListSubscriptions,
    /// [`crate::SubscriptionStore::cancel_subscription`]
    CancelSubscription,
    /// [`crate::SubscriptionStore::change_plan`]
    ChangePlan,
    /// [`crate::UsageRecorder::record_usage`]
    RecordUsage,
    /// [`crate::UsageReader::usage`]
    Usage,
    /// Building a backend from configuration.
    Connect,
    /// [`crate::BillingBackend::check`]: the start-up check of the configuration.
    Check,
}

impl Operation {
    /// The operation's name as written in the trait.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::CreateCustomer => "create_customer",
            Operation::GetCustomer => "get_customer",
            Operation::UpdateCustomer => "update_customer",
            Operation::DeleteCustomer => "delete_customer",
            Operation::ListCustomers => "list_customers",
            Operation::CreateSubscription => "create_subscription",
            Operation::GetSubscription => "get_subscription",
            Operation::ListSubscriptions => "list_subscriptions",
            Operation::CancelSubscription => "cancel_subscription",
            Operation::ChangePlan => "change_plan",
            Operation::RecordUsage => "record_usage",
            Operation::Usage => "usage",
            Operation::Connect => "connect",
            Operation::Check => "check",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of every fallible operation in the library.
///
/// It carries a [`kind`](Error::kind) to match on, whether it is [temporary](Error::is_temporary)
/// (safe to retry), the backend and operation it came from, and the vendor's own
/// [detail](Error::vendor). It never contains credentials.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    temporary: bool,
    message: Cow<'static, str>,
    retry_after: Option<Duration>,
    backend: Option<&'static str>,
    operation: Option<Operation>,
    vendor: Option<Box<VendorDetail>>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// A new error of `kind`; temporary if the kind is temporary by default.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            temporary: kind.is_temporary_by_default(),
            kind,
            message: message.into(),
            retry_after: None,
            backend: None,
            operation: None,
            vendor: None,
            source: None,
        }
    }

    /// An `InvalidInput` error.
    pub fn invalid_input(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// A `NotFound` error.
    pub fn not_found(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// An `AlreadyExists` error.
    pub fn already_exists(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::AlreadyExists, message)
    }

    /// A `Conflict` error.
    pub fn conflict(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }

    /// An `Unsupported` error, with the reason (the backend and operation are added where the
    /// call leaves the backend).
    pub fn unsupported(reason: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unsupported, reason)
    }

    /// A `Config` error naming the setting.
    pub fn config(setting: &str, problem: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Config, format!("`{setting}`: {problem}"))
    }

    /// A `Decode` error.
    pub fn decode(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Decode, message)
    }

    /// An `Unexpected` error.
    pub fn unexpected(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unexpected, message)
    }

    /// Sets the backend name (`"lago"`, `"memory"`, ...), unless one is already set.
    pub fn with_backend(mut self, backend: &'static str) -> Self {
        self.backend.get_or_insert(backend);
        self
    }

    /// Sets the operation, unless one is already set.
    pub fn with_operation(mut self, operation: Operation) -> Self {
        self.operation.get_or_insert(operation);
        self
    }

    /// Attaches the vendor's detail.
    pub fn with_vendor(mut self, detail: VendorDetail) -> Self {
        self.vendor = Some(Box::new(detail));
        self
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Sets how long the vendor asked the caller to wait before trying again (a rate limit's
    /// `Retry-After`).
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// Overrides whether the error is temporary.
    pub fn with_temporary(mut self, temporary: bool) -> Self {
        self.temporary = temporary;
        self
    }

    /// Replaces the message, keeping everything else (kind, vendor detail, backend, operation,
    /// source): for a layer or adapter that can say more precisely what went wrong.
    pub fn with_message(mut self, message: impl Into<Cow<'static, str>>) -> Self {
        self.message = message.into();
        self
    }

    /// Replaces the kind, keeping everything else.
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.temporary = kind.is_temporary_by_default();
        self.kind = kind;
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// How long the vendor asked the caller to wait before trying again, when it said (a
    /// `RateLimited` error's `Retry-After` or `X-RateLimit-Reset`). `None` when the vendor gave no
    /// time; a temporary error may still be retried after a backoff of the caller's choosing.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// Whether retrying the same call later may succeed.
    ///
    /// # What was already retried
    /// An error from an HTTP backend comes after the library's own retries. Whatever is safe to
    /// send again (reads, idempotent writes, and every usage request on a vendor that
    /// deduplicates event ids) was already retried on connection failures, timeouts, 429,
    /// 502, 503, 504 and unstructured 500s: up to `[http] max_retries` times (4 by default,
    /// so 5 attempts), waiting `retry_base_delay_ms` (100 ms) doubling with jitter, or the
    /// vendor's `Retry-After` / `X-RateLimit-Reset`, each wait capped at `max_retry_delay_ms`
    /// (20 s), the whole call within `total_budget_ms` (60 s). With the defaults, a 429
    /// storm without `Retry-After` reaches the caller after 1.5 to 3 s of backoff; one that
    /// asks for a second each time, after 4 to 4.6 s. A write that is not safe to resend was
    /// sent once (only a refused connection is retried).
    ///
    /// So a temporary error means the vendor kept failing for that long: retry it later, on
    /// a scale of seconds to minutes ([`Error::retry_after`] when the vendor said), not at
    /// once in a loop. Each retry of the caller's (or of `billing::outbox`'s) is a whole call
    /// with these retries inside it: a loop of 5 attempts over a default `[http]` is up to 25
    /// requests. Lower `max_retries` where the caller retries itself.
    pub fn is_temporary(&self) -> bool {
        self.temporary
    }

    /// The human-readable message (never contains credentials).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The backend the error came from.
    pub fn backend(&self) -> Option<&'static str> {
        self.backend
    }

    /// The operation the error came from.
    pub fn operation(&self) -> Option<Operation> {
        self.operation
    }

    /// The vendor's own description of the error.
    pub fn vendor(&self) -> Option<&VendorDetail> {
        self.vendor.as_deref()
    }

    /// Whether this is a `NotFound` error.
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }
}

impl From<ErrorKind> for Error {
    /// An error of `kind` with no detail (for tests and fault injection).
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind, "no detail")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.backend, self.operation) {
            (Some(b), Some(o)) => write!(f, "{b} {o}: ")?,
            (Some(b), None) => write!(f, "{b}: ")?,
            (None, Some(o)) => write!(f, "{o}: ")?,
            (None, None) => {}
        }
        write!(f, "{}: {}", self.kind, self.message)?;
        if let Some(v) = &self.vendor {
            let mut parts = Vec::new();
            if let Some(s) = v.status {
                parts.push(format!("status {s}"));
            }
            if let Some(c) = &v.code {
                parts.push(format!("code {c}"));
            }
            if let Some(m) = &v.message {
                parts.push(format!("{m:?}"));
            }
            if !parts.is_empty() {
                write!(f, " (vendor: {})", parts.join(", "))?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("temporary", &self.temporary)
            .field("message", &self.message)
            .field("retry_after", &self.retry_after)
            .field("backend", &self.backend)
            .field("operation", &self.operation)
            .field("vendor", &self.vendor)
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temporary_follows_kind_unless_overridden() {
        assert!(Error::new(ErrorKind::Unavailable, "x").is_temporary());
        assert!(!Error::invalid_input("x").is_temporary());
        assert!(
            !Error::new(ErrorKind::Timeout, "x")
                .with_temporary(false)
                .is_temporary()
        );
    }

    #[test]
    fn display_names_backend_operation_and_vendor() {
        let e = Error::not_found("no customer `c1`")
            .with_backend("lago")
            .with_operation(Operation::GetCustomer)
            .with_vendor(VendorDetail::status(404).with_code("customer_not_found"));
        let s = e.to_string();
        assert!(s.starts_with("lago get_customer: not found"), "{s}");
        assert!(s.contains("customer_not_found"), "{s}");
    }

    #[test]
    fn kinds_are_copy_and_retry_after_is_on_the_error() {
        let e = Error::new(ErrorKind::RateLimited, "slow down")
            .with_retry_after(Duration::from_secs(3));
        let kind = e.kind();
        assert_eq!(kind, ErrorKind::RateLimited);
        assert!(e.is_temporary());
        assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
        assert_eq!(Error::invalid_input("x").retry_after(), None);
    }

    #[test]
    fn first_backend_and_operation_win() {
        let e = Error::conflict("x")
            .with_backend("lago")
            .with_backend("memory")
            .with_operation(Operation::ChangePlan)
            .with_operation(Operation::Usage);
        assert_eq!(e.backend(), Some("lago"));
        assert_eq!(e.operation(), Some(Operation::ChangePlan));
    }
}
