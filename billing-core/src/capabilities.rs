//! What a backend can do, as data the caller and the conformance suite can read.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What `delete_customer` does on this backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerDeletion {
    /// The customer is removed: `get_customer` then gives `NotFound` and the key can be reused.
    Remove,
    /// The customer is closed: `get_customer` still returns it with status `Closed`, and the key
    /// stays taken.
    Close,
}

/// Limits on customer metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetadataLimits {
    /// Most entries per customer.
    pub max_entries: usize,
    /// Longest key, in characters.
    pub max_key_chars: usize,
    /// Longest value, in characters.
    pub max_value_chars: usize,
}

impl MetadataLimits {
    /// Limits large enough to be no limit in practice.
    pub const GENEROUS: MetadataLimits = MetadataLimits {
        max_entries: 50,
        max_key_chars: 128,
        max_value_chars: 1024,
    };

    /// Checks a metadata map against the limits.
    ///
    /// # Errors
    /// `InvalidInput` naming the first entry over a limit.
    pub fn check(&self, metadata: &BTreeMap<String, String>) -> Result<()> {
        if metadata.len() > self.max_entries {
            return Err(Error::invalid_input(format!(
                "{} metadata entries; at most {} are allowed",
                metadata.len(),
                self.max_entries
            )));
        }
        for (k, v) in metadata {
            if k.chars().count() > self.max_key_chars {
                return Err(Error::invalid_input(format!(
                    "metadata key {k:?} is longer than {} characters",
                    self.max_key_chars
                )));
            }
            if v.chars().count() > self.max_value_chars {
                return Err(Error::invalid_input(format!(
                    "metadata value of {k:?} is longer than {} characters",
                    self.max_value_chars
                )));
            }
        }
        Ok(())
    }
}

/// What a backend supports. A `true` flag means the operation behaves as the trait documents; a
/// `false` flag means the call returns `Unsupported` before any request is sent.
///
/// Start from [`Capabilities::full`] and switch off what the backend lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Capabilities {
    /// `update_customer` is supported.
    pub customer_update: bool,
    /// What `delete_customer` does; `None` if unsupported.
    pub customer_delete: Option<CustomerDeletion>,
    /// Metadata limits; `None` if the backend cannot store customer metadata (then non-empty
    /// metadata is `Unsupported`).
    pub customer_metadata: Option<MetadataLimits>,
    /// `create_customer` needs an email address (otherwise `InvalidInput`).
    pub customer_email_required: bool,
    /// `create_customer` and `update_customer` are each one atomic step at the vendor. When
    /// false, the vendor has no create-only or update-only call and each is a read followed by a
    /// write: calls through one backend are serialized per key, so they never race each other,
    /// but against another process writing the same key at the same moment two creates can both
    /// succeed (the later write's fields win), and an update racing a delete can re-create the
    /// customer (the update then fails with `Conflict`).
    pub customer_writes_atomic: bool,
    /// `cancel_subscription(.., CancelAt::Now)`.
    pub cancel_now: bool,
    /// `cancel_subscription(.., CancelAt::PeriodEnd)`.
    pub cancel_at_period_end: bool,
    /// `change_plan(.., ChangeAt::Now)`.
    pub change_plan_now: bool,
    /// `change_plan(.., ChangeAt::PeriodEnd)`.
    pub change_plan_at_period_end: bool,
    /// `change_plan(.., ChangeAt::VendorDefault)`.
    pub change_plan_vendor_default: bool,
    /// `NewSubscription::starts_at` in the past: the subscription is active since then and keeps
    /// that `started_at`.
    pub subscription_start_past: bool,
    /// `NewSubscription::starts_at` in the future: the subscription is `Pending` until then.
    pub subscription_start_future: bool,
    /// `NewSubscription::billing_anchor`: nothing before the anchor is billed and a billing
    /// period begins there. A backend that cannot guarantee it for every plan says false.
    pub subscription_billing_anchor: bool,
    /// Events sent per request by `record_usage` (1 when the vendor has no batch call).
    pub usage_batch_max: usize,
    /// The backend recognises a repeated event id and does not count it again
    /// (`EventOutcome::Duplicate`). When false, the adapter still never resends an event that was
    /// acknowledged, but a caller's own resend is `Accepted` and may be counted again (BillaBear
    /// collapses equal ids only among events between two of its counter updates).
    pub usage_dedup_by_event_id: bool,
    /// Event timestamps are honoured. When false, usage is attributed to the time the vendor
    /// receives it, and events too far from now are rejected with `Unsupported`.
    pub usage_backdated: bool,
    /// `usage` with `UsagePeriod::Current`.
    pub usage_current_period: bool,
    /// `usage` with `UsagePeriod::Range`.
    pub usage_range: bool,
    /// Usage summaries count only the queried subscription's events. When false, the vendor
    /// counts usage per customer and metric: `usage` answers while no other running
    /// subscription of the customer meters a metric the query covers, and is a `Conflict`
    /// otherwise (decided from the data, so after the request that reads it where the data is
    /// the vendor's), never a figure that mixes two subscriptions.
    pub usage_per_subscription: bool,
    /// How long recorded usage may take to show up in `usage`; zero for read-your-writes.
    pub usage_read_lag: Duration,
    /// Usage lines carry the vendor's price of the usage ([`crate::UsageLine::amount`]) for
    /// each metric the subscription's plan charges. When false, the vendor reports quantities
    /// only (Kill Bill's usage API has no amounts): every line's `amount` is `None`, and an
    /// application prices usage from its own catalog or reads the vendor's invoices.
    pub usage_amounts: bool,
}

impl Capabilities {
    /// Everything supported, as the in-memory backend does.
    pub fn full() -> Self {
        Self {
            customer_update: true,
            customer_delete: Some(CustomerDeletion::Remove),
            customer_metadata: Some(MetadataLimits::GENEROUS),
            customer_email_required: false,
            customer_writes_atomic: true,
            cancel_now: true,
            cancel_at_period_end: true,
            change_plan_now: true,
            change_plan_at_period_end: true,
            change_plan_vendor_default: true,
            subscription_start_past: true,
            subscription_start_future: true,
            subscription_billing_anchor: true,
            usage_batch_max: 1000,
            usage_dedup_by_event_id: true,
            usage_backdated: true,
            usage_current_period: true,
            usage_range: true,
            usage_per_subscription: true,
            usage_read_lag: Duration::ZERO,
            usage_amounts: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_limits() {
        let limits = MetadataLimits {
            max_entries: 2,
            max_key_chars: 3,
            max_value_chars: 4,
        };
        let mut m = BTreeMap::new();
        m.insert("abc".to_owned(), "1234".to_owned());
        assert!(limits.check(&m).is_ok());
        m.insert("abcd".to_owned(), "1".to_owned());
        assert!(limits.check(&m).is_err());
        m.clear();
        m.insert("a".to_owned(), "12345".to_owned());
        assert!(limits.check(&m).is_err());
        m.clear();
        for k in ["a", "b", "c"] {
            m.insert(k.to_owned(), String::new());
        }
        assert!(limits.check(&m).is_err());
    }
}
