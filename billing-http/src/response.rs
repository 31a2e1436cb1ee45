//! A response read in full (up to a size limit), with lenient decoding helpers.

use billing_core::{Error, Result};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The largest response body read; a larger one is a `Decode` error, never an allocation bomb.
pub const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

/// A complete response.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body (possibly empty).
    pub body: Bytes,
}

impl ApiResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }

    /// A header as text, if present and valid.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Decodes the body as JSON.
    ///
    /// # Errors
    /// `Decode` naming the target type if the body is empty or does not match it.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::decode(format!(
                "expected a JSON {} but the {} response body is empty",
                short_type_name::<T>(),
                self.status.as_u16()
            )));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::decode(format!(
                "cannot decode {} from the {} response: {e}",
                short_type_name::<T>(),
                self.status.as_u16()
            ))
            .with_source(e)
        })
    }

    /// Decodes the body as JSON into `T` and keeps the JSON itself too (the records' `raw`
    /// field), parsing once: `T` is decoded from a borrow of the value.
    ///
    /// # Errors
    /// `Decode` as [`ApiResponse::json`], or naming `T` when the JSON does not match it.
    pub fn json_keeping_raw<T: DeserializeOwned>(&self) -> Result<(T, Value)> {
        let raw: Value = self.json()?;
        let typed = decode_value(&raw, short_type_name::<T>())?;
        Ok((typed, raw))
    }
}

/// Decodes a record of type `T` from a borrow of its raw JSON (which the caller usually keeps as
/// the record's `raw`), so the value is never deep-copied.
///
/// # Errors
/// `Decode` naming `what` and serde's reason.
pub fn decode_value<T: DeserializeOwned>(value: &Value, what: &str) -> Result<T> {
    T::deserialize(value)
        .map_err(|e| Error::decode(format!("cannot decode the {what}: {e}")).with_source(e))
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(body: &'static str) -> ApiResponse {
        ApiResponse {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Bytes::from_static(body.as_bytes()),
        }
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Thing {
        id: String,
    }

    #[test]
    fn decode_errors_are_typed() {
        use billing_core::ErrorKind;
        for body in ["", "  ", "{\"id\":", "<html>", "{\"id\":5}", "[]"] {
            assert_eq!(
                resp(body).json::<Thing>().unwrap_err().kind(),
                ErrorKind::Decode,
                "{body:?}"
            );
        }
        assert!(resp("{\"id\":\"x\"}").json::<Thing>().is_ok());
    }
}
