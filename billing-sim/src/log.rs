//! The record of every request a simulator received, raw path included, so tests can assert on
//! exactly what an adapter sent.

use std::collections::VecDeque;
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

/// The default number of requests a log keeps (the count of all requests is always exact).
pub const DEFAULT_LOG_CAPACITY: usize = 20_000;

#[derive(Debug, Default)]
struct Entries {
    kept: VecDeque<RecordedRequest>,
    total: usize,
}

/// A shared request log: an exact count of every request, and the most recent ones in full
/// (bounded, so a simulator serving millions of requests keeps constant memory).
#[derive(Debug, Clone)]
pub struct RequestLog {
    entries: Arc<Mutex<Entries>>,
    capacity: usize,
}

impl Default for RequestLog {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_LOG_CAPACITY)
    }
}

impl RequestLog {
    /// A log that keeps the last `capacity` requests in full.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Arc::default(),
            capacity,
        }
    }

    pub(crate) fn push(&self, request: RecordedRequest) {
        let capacity = self.capacity;
        let mut e = self.lock();
        e.total += 1;
        if capacity == 0 {
            return;
        }
        if e.kept.len() == capacity {
            e.kept.pop_front();
        }
        e.kept.push_back(request);
    }

    /// A copy of the requests kept (the most recent, at most the capacity), oldest first.
    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        self.lock().kept.iter().cloned().collect()
    }

    /// How many requests were received in all (not only those kept).
    pub fn len(&self) -> usize {
        self.lock().total
    }

    /// Whether no request was received.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every request so far and resets the count.
    pub fn clear(&self) {
        *self.lock() = Entries::default();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(n: u8) -> RecordedRequest {
        RecordedRequest {
            method: Method::GET,
            raw_path: format!("/{n}"),
            raw_query: None,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    #[test]
    fn keeps_the_most_recent_and_counts_all() {
        let log = RequestLog::with_capacity(2);
        for n in 0..5 {
            log.push(request(n));
        }
        assert_eq!(log.len(), 5);
        let kept: Vec<String> = log.snapshot().into_iter().map(|r| r.raw_path).collect();
        assert_eq!(kept, vec!["/3", "/4"]);
        log.clear();
        assert!(log.is_empty() && log.snapshot().is_empty());
    }
}
