//! For backend and layer authors only: the helpers every adapter of this workspace shares, kept
//! out of the application-facing API (as OpenDAL keeps its `raw` module).
//!
//! Applications never need anything here: they build values with the domain types' own
//! constructors and call the traits.

use crate::customer::{Customer, NewCustomer};
use crate::error::{Error, Result};
use crate::key::{CustomerKey, SubscriptionKey};
use crate::page::{Cursor, PageRequest};
use crate::usage::EventOutcome;

pub use crate::customer::{MAX_EMAIL_LEN, MAX_NAME_CHARS, validate_email};
pub use crate::ext::paginate;
pub use crate::key::validate_key;
pub use crate::outcomes::Outcomes;

/// The answer to a batch of `events` events that a backend was sent, with one outcome per event:
/// the outcomes it gave, and for each event it gave none (an answer cut short, a backend that
/// answered fewer) `Unknown` with the error `lost` makes, since that event may have been
/// recorded; outcomes beyond the batch are dropped.
pub fn one_outcome_per_event(
    mut outcomes: Vec<EventOutcome>,
    events: usize,
    lost: impl FnOnce() -> Error,
) -> Vec<EventOutcome> {
    if outcomes.len() < events {
        outcomes.resize(events, EventOutcome::Unknown(lost()));
    }
    outcomes.truncate(events);
    outcomes
}

/// Parses a cursor this backend made as a number (a page or an offset).
///
/// # Errors
/// `InvalidInput` if the cursor is not a number (it was not made by this backend).
pub fn cursor_number(cursor: &Cursor) -> Result<u64> {
    crate::page::cursor_number(cursor)
}

/// Checks a page request's limit and returns it capped at `backend_max` (the vendor's largest
/// page).
///
/// # Errors
/// `InvalidInput` if the limit is 0 or above [`crate::MAX_PAGE_LIMIT`].
pub fn page_limit(request: &PageRequest, backend_max: u32) -> Result<u32> {
    crate::page::page_limit(request, backend_max)
}

/// The `AlreadyExists` error of a subscription key that is taken, naming whose subscription
/// holds it when the vendor lets the backend know (`owner`), so a caller can tell its own
/// subscription from another customer's.
pub fn subscription_exists(key: &SubscriptionKey, owner: Option<&CustomerKey>) -> Error {
    match owner {
        Some(owner) => Error::already_exists(format!(
            "subscription `{key}` already exists: it belongs to customer `{owner}`"
        )),
        None => Error::already_exists(format!("subscription `{key}` already exists")),
    }
}

/// The customer a create returns when the vendor answers with no body: the fields sent, the
/// vendor's id, status `Active`, no raw JSON.
pub fn customer_from_new(new: &NewCustomer, vendor_id: impl Into<String>) -> Customer {
    Customer::from_new(new, vendor_id)
}

#[doc(hidden)]
pub use async_trait::async_trait;

/// Implements every backend trait for a type by passing each call to one of its fields, a
/// [`BillingBackend`](crate::BillingBackend) (how each backend of this workspace puts its
/// implementation behind [`ErrorContext`](crate::layer::ErrorContext) without implementing
/// [`LayeredBackend`](crate::layer::LayeredBackend) publicly, which would make method calls on
/// it ambiguous wherever that trait is in scope).
///
/// ```
/// use billing_core::layer::WithErrorContext;
/// use billing_core::InMemoryBackend;
///
/// #[derive(Debug)]
/// struct MyBackend {
///     inner: WithErrorContext<InMemoryBackend>,
/// }
/// billing_core::raw::delegate_backend!(MyBackend => inner);
/// ```
#[macro_export]
macro_rules! delegate_backend {
    ($ty:ty => $field:ident) => {
        #[$crate::raw::async_trait]
        impl $crate::CustomerStore for $ty {
            async fn create_customer(
                &self,
                new: &$crate::NewCustomer,
            ) -> $crate::Result<$crate::Customer> {
                $crate::CustomerStore::create_customer(&self.$field, new).await
            }
            async fn get_customer(
                &self,
                key: &$crate::CustomerKey,
            ) -> $crate::Result<$crate::Customer> {
                $crate::CustomerStore::get_customer(&self.$field, key).await
            }
            async fn update_customer(
                &self,
                key: &$crate::CustomerKey,
                patch: &$crate::CustomerPatch,
            ) -> $crate::Result<$crate::Customer> {
                $crate::CustomerStore::update_customer(&self.$field, key, patch).await
            }
            async fn delete_customer(&self, key: &$crate::CustomerKey) -> $crate::Result<()> {
                $crate::CustomerStore::delete_customer(&self.$field, key).await
            }
            async fn list_customers(
                &self,
                page: &$crate::PageRequest,
            ) -> $crate::Result<$crate::Page<$crate::Customer>> {
                $crate::CustomerStore::list_customers(&self.$field, page).await
            }
        }

        #[$crate::raw::async_trait]
        impl $crate::SubscriptionStore for $ty {
            async fn create_subscription(
                &self,
                new: &$crate::NewSubscription,
            ) -> $crate::Result<$crate::Subscription> {
                $crate::SubscriptionStore::create_subscription(&self.$field, new).await
            }
            async fn get_subscription(
                &self,
                key: &$crate::SubscriptionKey,
            ) -> $crate::Result<$crate::Subscription> {
                $crate::SubscriptionStore::get_subscription(&self.$field, key).await
            }
            async fn list_subscriptions(
                &self,
                customer: &$crate::CustomerKey,
                page: &$crate::PageRequest,
            ) -> $crate::Result<$crate::Page<$crate::Subscription>> {
                $crate::SubscriptionStore::list_subscriptions(&self.$field, customer, page).await
            }
            async fn cancel_subscription(
                &self,
                key: &$crate::SubscriptionKey,
                at: $crate::CancelAt,
            ) -> $crate::Result<$crate::Subscription> {
                $crate::SubscriptionStore::cancel_subscription(&self.$field, key, at).await
            }
            async fn change_plan(
                &self,
                key: &$crate::SubscriptionKey,
                plan: &$crate::PlanCode,
                at: $crate::ChangeAt,
            ) -> $crate::Result<$crate::Subscription> {
                $crate::SubscriptionStore::change_plan(&self.$field, key, plan, at).await
            }
        }

        #[$crate::raw::async_trait]
        impl $crate::UsageRecorder for $ty {
            async fn record_usage(
                &self,
                events: &[$crate::UsageEvent],
            ) -> ::std::vec::Vec<$crate::EventOutcome> {
                $crate::UsageRecorder::record_usage(&self.$field, events).await
            }
        }

        #[$crate::raw::async_trait]
        impl $crate::UsageReader for $ty {
            async fn usage(
                &self,
                query: &$crate::UsageQuery,
            ) -> $crate::Result<$crate::UsageSummary> {
                $crate::UsageReader::usage(&self.$field, query).await
            }
        }

        #[$crate::raw::async_trait]
        impl $crate::BillingBackend for $ty {
            fn info(&self) -> $crate::BackendInfo {
                $crate::BillingBackend::info(&self.$field)
            }
            fn capabilities(&self) -> &$crate::Capabilities {
                $crate::BillingBackend::capabilities(&self.$field)
            }
            async fn check(&self) -> $crate::Result<()> {
                $crate::BillingBackend::check(&self.$field).await
            }
        }
    };
}

pub use crate::delegate_backend;
