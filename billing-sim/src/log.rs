//! The record of every request a simulator received, raw path included, so tests can assert on
//! exactly what an adapter sent.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{HeaderMap, Method};

/// One request as received, before any fault was applied.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: Method,
    /// The path exactly as sent, still percent-encoded.
    pub raw_path: String,
    /// The query string exactly as sent, if any.
    pub raw_query: Option<String>,
    /// All request headers (credentials included: this is a test double).
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

impl RecordedRequest {
    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// A shared, append-only request log.
#[derive(Debug, Clone, Default)]
pub struct RequestLog {
    entries: Arc<Mutex<Vec<RecordedRequest>>>,
}

impl RequestLog {
    pub(crate) fn push(&self, request: RecordedRequest) {
        self.lock().push(request);
    }

    /// A copy of every request so far, oldest first.
    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        self.lock().clone()
    }

    /// How many requests were received.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no request was received.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Forgets every request so far.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RecordedRequest>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
