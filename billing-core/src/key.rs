//! Validated keys: the application's own stable identifiers.
//!
//! Every object is addressed by a key the application chooses, never by a vendor id. Adapters
//! translate keys to the vendor's fields (Lago `external_id`, Kill Bill `externalKey`, BillaBear
//! `reference`). A key is validated once, when it is constructed, so an invalid key can never reach
//! a backend.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The longest key accepted, in bytes of UTF-8.
///
/// 128 is the smallest limit among the supported vendors (Kill Bill's usage `trackingId`); every
/// other key field they have accepts at least this much.
pub const MAX_KEY_LEN: usize = 128;

/// Checks the rules shared by every key type.
///
/// A key must be non-empty, at most [`MAX_KEY_LEN`] bytes, free of control characters and free of
/// leading or trailing whitespace (Lago strips it, which would silently change the key), and not
/// `.` or `..` (URL path normalisation would turn them into another endpoint). Anything else,
/// `/`, `?`, `#`, `%` and non-ASCII included, is percent-encoded by the adapters.
pub fn validate_key(kind: &'static str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Err(Error::invalid_input(format!("{kind} must not be empty")));
    }
    if value.len() > MAX_KEY_LEN {
        return Err(Error::invalid_input(format!(
            "{kind} is {} bytes long; the limit is {MAX_KEY_LEN}",
            value.len()
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid_input(format!(
            "{kind} must not contain control characters"
        )));
    }
    if value.trim() != value {
        return Err(Error::invalid_input(format!(
            "{kind} must not start or end with whitespace"
        )));
    }
    if value == "." || value == ".." {
        // URL libraries resolve these as dot-segments, so the request would reach another path.
        return Err(Error::invalid_input(format!(
            "{kind} must not be `.` or `..`"
        )));
    }
    Ok(())
}

macro_rules! key_type {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Validates `value` and wraps it.
            ///
            /// # Errors
            /// `InvalidInput` if the value is empty, longer than [`MAX_KEY_LEN`] bytes, contains
            /// control characters, or starts or ends with whitespace.
            pub fn new(value: impl Into<String>) -> Result<Self> {
                let value = value.into();
                validate_key($label, &value)?;
                Ok(Self(value))
            }

            /// The key as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = Error;
            fn try_from(value: String) -> Result<Self> {
                Self::new(value)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Error;
            fn try_from(value: &str) -> Result<Self> {
                Self::new(value)
            }
        }

        impl std::str::FromStr for $name {
            type Err = Error;
            fn from_str(value: &str) -> Result<Self> {
                Self::new(value)
            }
        }

        impl From<$name> for String {
            fn from(key: $name) -> String {
                key.0
            }
        }
    };
}

key_type!(
    /// The application's key for a customer (Lago `external_id`, Kill Bill account
    /// `externalKey`, BillaBear `reference`).
    CustomerKey,
    "customer key"
);
key_type!(
    /// The application's key for a subscription (Lago `external_id`, Kill Bill subscription
    /// `externalKey`, BillaBear subscription metadata).
    SubscriptionKey,
    "subscription key"
);
key_type!(
    /// The code of a plan in the backend's catalog (Lago plan `code`, Kill Bill plan name,
    /// BillaBear plan `code_name`).
    PlanCode,
    "plan code"
);
key_type!(
    /// The code of a usage metric (Lago billable metric `code`, Kill Bill usage unit name,
    /// BillaBear metric `code`).
    MetricCode,
    "metric code"
);
key_type!(
    /// The idempotency key of one usage event (Lago `transaction_id`, Kill Bill `trackingId`,
    /// BillaBear `event_id`).
    EventId,
    "event id"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn accepts_ordinary_and_unicode_keys() {
        assert_eq!(CustomerKey::new("cust-42").unwrap().as_str(), "cust-42");
        assert!(CustomerKey::new("ünïcødé/../?#%").is_ok());
        assert!(EventId::new("a".repeat(MAX_KEY_LEN)).is_ok());
    }

    #[test]
    fn rejects_bad_keys_with_invalid_input() {
        for bad in [
            String::new(),
            "a".repeat(MAX_KEY_LEN + 1),
            "tab\tkey".into(),
            "nul\0".into(),
            " padded".into(),
            "padded ".into(),
            "line\nbreak".into(),
            ".".into(),
            "..".into(),
        ] {
            let err = SubscriptionKey::new(bad.clone()).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
        // multi-byte characters count in bytes
        assert!(PlanCode::new("é".repeat(65)).is_err());
    }

    #[test]
    fn serde_validates() {
        let ok: MetricCode = serde_json::from_str("\"api_calls\"").unwrap();
        assert_eq!(ok.as_str(), "api_calls");
        assert!(serde_json::from_str::<MetricCode>("\"\"").is_err());
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"api_calls\"");
    }
}
