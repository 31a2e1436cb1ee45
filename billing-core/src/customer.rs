//! Customers.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::key::CustomerKey;
use crate::money::Currency;

/// Free-form string metadata attached to a customer. Ordered, so output is stable.
pub type Metadata = BTreeMap<String, String>;

/// The longest customer name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 255;
/// The longest email address accepted, in bytes (RFC 5321).
pub const MAX_EMAIL_LEN: usize = 254;

/// A customer to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NewCustomer {
    /// The application's key for the customer.
    pub key: CustomerKey,
    /// Display name.
    pub name: Option<String>,
    /// Billing email address. Some backends require one (see `Capabilities::customer_email_required`).
    pub email: Option<String>,
    /// Default billing currency.
    pub currency: Option<Currency>,
    /// Metadata, within the backend's `Capabilities::customer_metadata` limits.
    pub metadata: Metadata,
}

impl NewCustomer {
    /// A customer with only a key.
    pub fn new(key: CustomerKey) -> Self {
        Self {
            key,
            name: None,
            email: None,
            currency: None,
            metadata: Metadata::new(),
        }
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the email address.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets the currency.
    pub fn currency(mut self, currency: Currency) -> Self {
        self.currency = Some(currency);
        self
    }

    /// Adds one metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Checks the fields every backend requires to be well formed.
    ///
    /// # Errors
    /// `InvalidInput` naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        validate_fields(
            self.name.as_deref(),
            self.email.as_deref(),
            Some(&self.metadata),
        )
    }
}

/// A partial update: only the fields that are `Some` change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CustomerPatch {
    /// New name.
    pub name: Option<String>,
    /// New email address.
    pub email: Option<String>,
    /// New currency. Some vendors refuse to change a currency once set (`InvalidInput`).
    pub currency: Option<Currency>,
    /// New metadata: replaces the whole map.
    pub metadata: Option<Metadata>,
}

impl CustomerPatch {
    /// An empty patch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the email address.
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// Sets the currency.
    pub fn currency(mut self, currency: Currency) -> Self {
        self.currency = Some(currency);
        self
    }

    /// Replaces the metadata map.
    pub fn metadata(mut self, metadata: Metadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.email.is_none()
            && self.currency.is_none()
            && self.metadata.is_none()
    }

    /// Checks the fields that are set.
    ///
    /// # Errors
    /// `InvalidInput` naming the first bad field.
    pub fn validate(&self) -> Result<()> {
        validate_fields(
            self.name.as_deref(),
            self.email.as_deref(),
            self.metadata.as_ref(),
        )
    }

    /// Applies the patch to a customer's fields (for backends that merge client-side).
    pub fn apply_to(&self, customer: &mut Customer) {
        if let Some(name) = &self.name {
            customer.name = Some(name.clone());
        }
        if let Some(email) = &self.email {
            customer.email = Some(email.clone());
        }
        if let Some(currency) = self.currency {
            customer.currency = Some(currency);
        }
        if let Some(metadata) = &self.metadata {
            customer.metadata = metadata.clone();
        }
    }
}

/// Whether a customer can still be billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CustomerStatus {
    /// Usable.
    Active,
    /// Closed or disabled by `delete_customer` on a backend that keeps the record.
    Closed,
}

/// A customer as the backend stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Customer {
    /// The application's key.
    pub key: CustomerKey,
    /// The vendor's own id (Lago `lago_id`, Kill Bill `accountId`, BillaBear `id`).
    pub vendor_id: String,
    /// Display name.
    pub name: Option<String>,
    /// Billing email address.
    pub email: Option<String>,
    /// Default billing currency.
    pub currency: Option<Currency>,
    /// Metadata.
    pub metadata: Metadata,
    /// Active or closed.
    pub status: CustomerStatus,
    /// When the vendor created it, if it says.
    pub created_at: Option<DateTime<Utc>>,
    /// The vendor's raw JSON, for fields this library does not model.
    pub raw: Option<serde_json::Value>,
}

impl Customer {
    /// A customer built from a [`NewCustomer`] and the vendor's id, active, with no raw JSON
    /// (exported as [`crate::raw::customer_from_new`]).
    pub(crate) fn from_new(new: &NewCustomer, vendor_id: impl Into<String>) -> Self {
        Self {
            key: new.key.clone(),
            vendor_id: vendor_id.into(),
            name: new.name.clone(),
            email: new.email.clone(),
            currency: new.currency,
            metadata: new.metadata.clone(),
            status: CustomerStatus::Active,
            created_at: None,
            raw: None,
        }
    }
}

fn validate_fields(
    name: Option<&str>,
    email: Option<&str>,
    metadata: Option<&Metadata>,
) -> Result<()> {
    if let Some(name) = name {
        validate_name(name)?;
    }
    if let Some(email) = email {
        validate_email(email)?;
    }
    if let Some(metadata) = metadata {
        for key in metadata.keys() {
            if key.is_empty() || key.chars().any(char::is_control) || key.trim() != key {
                return Err(Error::invalid_input(format!(
                    "metadata key {key:?} must be non-empty, trimmed and free of control characters"
                )));
            }
        }
        if metadata.values().any(|v| v.chars().any(char::is_control)) {
            return Err(Error::invalid_input(
                "metadata values must not contain control characters",
            ));
        }
    }
    Ok(())
}

fn validate_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid_input("customer name must not be blank"));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::invalid_input(format!(
            "customer name is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid_input(
            "customer name must not contain control characters",
        ));
    }
    Ok(())
}

/// Checks that `email` looks like `local@domain.tld`: one `@`, no spaces or control characters,
/// a dot in the domain, and at most [`MAX_EMAIL_LEN`] bytes. Deliverability is not checked.
///
/// # Errors
/// `InvalidInput` if it does not.
pub fn validate_email(email: &str) -> Result<()> {
    let bad = || Error::invalid_input(format!("{email:?} is not an email address"));
    if email.len() > MAX_EMAIL_LEN || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    let domain_ok = domain.contains('.')
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.');
    if local.is_empty() || !domain_ok {
        return Err(bad());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CustomerKey {
        CustomerKey::new("c1").unwrap()
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", "first.last+tag@example.org"] {
            assert!(validate_email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a", "a@", "@b.co", "a@b", "a b@c.de", "a@@b.co", "a@.b", "a@b.",
        ] {
            assert!(validate_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn new_customer_validation() {
        assert!(
            NewCustomer::new(key())
                .name("Ada")
                .email("ada@example.com")
                .validate()
                .is_ok()
        );
        assert!(NewCustomer::new(key()).name("  ").validate().is_err());
        assert!(NewCustomer::new(key()).email("nope").validate().is_err());
        assert!(
            NewCustomer::new(key())
                .metadata("", "v")
                .validate()
                .is_err()
        );
        assert!(
            NewCustomer::new(key())
                .name("x".repeat(MAX_NAME_CHARS + 1))
                .validate()
                .is_err()
        );
    }

    #[test]
    fn patch_applies_only_set_fields() {
        let new = NewCustomer::new(key()).name("Ada").email("ada@example.com");
        let mut c = Customer::from_new(&new, "v1");
        CustomerPatch::new()
            .email("new@example.com")
            .apply_to(&mut c);
        assert_eq!(c.name.as_deref(), Some("Ada"));
        assert_eq!(c.email.as_deref(), Some("new@example.com"));
        assert!(CustomerPatch::new().is_empty());
    }
}
