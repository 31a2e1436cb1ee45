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

    /// The request as one JSON object, the form of the admin API's request log:
    /// `{"seq", "method", "path", "query", "headers": {name: value}, "body", "json"}`. `path`
    /// and `query` are as sent (still percent-encoded); `body` is the body as text (invalid
    /// UTF-8 replaced), `json` the body parsed as JSON or `null`. A header sent more than once
    /// has its values joined with `, `. Credentials are included: this is a test double.
    pub fn to_json(&self, seq: usize) -> serde_json::Value {
        let mut headers = serde_json::Map::new();
        for name in self.headers.keys() {
            let values: Vec<String> = self
                .headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            headers.insert(name.as_str().to_owned(), values.join(", ").into());
        }
        serde_json::json!({
            "seq": seq,
            "method": self.method.as_str(),
            "path": self.raw_path,
            "query": self.raw_query,
            "headers": headers,
            "body": String::from_utf8_lossy(&self.body),
            "json": self.json(),
        })
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

    /// The requests kept, oldest first, each with its sequence number (1 for the first request
    /// the simulator ever received, counting since the last [`RequestLog::clear`]).
    pub fn numbered(&self) -> Vec<(usize, RecordedRequest)> {
        let e = self.lock();
        let first = e.total - e.kept.len() + 1;
        e.kept
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, r)| (first + i, r))
            .collect()
    }

    /// The kept requests numbered above `since`, as JSON lines (one
    /// [`RecordedRequest::to_json`] object per line, each line ending in `\n`).
    pub fn json_lines(&self, since: usize) -> String {
        let mut out = String::new();
        for (seq, r) in self.numbered() {
            if seq > since {
                out.push_str(&r.to_json(seq).to_string());
                out.push('\n');
            }
        }
        out
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
        let lines: Vec<serde_json::Value> = log
            .json_lines(4)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["seq"], 5);
        assert_eq!(lines[0]["path"], "/4");
        assert_eq!(lines[0]["json"], serde_json::Value::Null);
        log.clear();
        assert!(log.is_empty() && log.snapshot().is_empty());
    }
}
