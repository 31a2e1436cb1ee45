//! One API request, built once and sent as many times as the retry policy allows.

use billing_core::{Error, Operation, Result};
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde::Serialize;
use url::Url;

use crate::retry::Idempotency;

/// A request: method, URL, query, pre-serialised body, and whether it may be resent.
///
/// The body is serialised once, so every retry sends exactly the same bytes (for Lago events,
/// the same timestamps).
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<(HeaderValue, Bytes)>,
    pub(crate) idempotency: Idempotency,
    pub(crate) operation: Operation,
    pub(crate) route_always_exists: bool,
}

impl ApiRequest {
    /// A request with no body. GET, HEAD, PUT, DELETE and OPTIONS start as idempotent, the
    /// others (POST, PATCH) as not.
    pub fn new(operation: Operation, method: Method, url: Url) -> Self {
        let idempotency = if method.is_idempotent() {
            Idempotency::Idempotent
        } else {
            Idempotency::NotIdempotent
        };
        Self {
            method,
            url,
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            idempotency,
            operation,
            route_always_exists: false,
        }
    }

    /// Adds a query parameter (encoded when sent). Repeat a name for arrays (`status[]`).
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Sets a JSON body.
    ///
    /// # Errors
    /// `InvalidInput` if the value cannot be serialised.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self> {
        // Most bodies are one object of a few hundred bytes: start there rather than grow from
        // nothing through several reallocations.
        let mut bytes = Vec::with_capacity(256);
        serde_json::to_writer(&mut bytes, body)
            .map_err(|e| Error::invalid_input(format!("cannot serialise request: {e}")))?;
        self.body = Some((
            HeaderValue::from_static("application/json"),
            Bytes::from(bytes),
        ));
        Ok(self)
    }

    /// Sets a raw body with its content type.
    pub fn body(mut self, content_type: HeaderValue, body: Bytes) -> Self {
        self.body = Some((content_type, body));
        self
    }

    /// Adds a header that is not a secret (secrets go in `Credentials`).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// Declares whether the request may be resent after an unknown outcome. Say `Idempotent`
    /// for a POST only when it is idempotent by construction (an upsert, an event id the vendor
    /// deduplicates, a create whose duplicate is detected and mapped to success).
    pub fn idempotency(mut self, idempotency: Idempotency) -> Self {
        self.idempotency = idempotency;
        self
    }

    /// Declares that this route exists whenever the base URL is right (a list of a collection,
    /// a catalog read): a 404 to it, whatever its body, then means the base URL is wrong and
    /// is reported as such (a `Config` error naming it), never as `NotFound`. Lists and the
    /// start-up check ([`crate::HttpClient::check`]) say so.
    pub fn route_always_exists(mut self) -> Self {
        self.route_always_exists = true;
        self
    }

    /// The operation this request serves.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// The URL, without the query.
    pub fn url(&self) -> &Url {
        &self.url
    }
}
