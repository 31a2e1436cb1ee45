//! # billing-http
//!
//! The HTTP plumbing every vendor adapter shares, so none of them writes it twice:
//!
//! - [`HttpClient`]: one `reqwest` client per backend (connection reuse, rustls), credentials
//!   injected on every request and never printed, a concurrency limit, per-attempt timeouts, and
//!   retries with exponential backoff and jitter that honour `Retry-After` and
//!   `X-RateLimit-Reset` (capped) within a total time budget. A request that is not idempotent is
//!   retried only when it surely never reached the server. Every retry is visible in `tracing`.
//! - [`Endpoint`]: a checked base URL (`http://` only to loopback unless allowed) and request URLs
//!   whose every path segment is percent-encoded, so a key can never reach another endpoint
//!   ([`Endpoint::url_escaping_dots`] also encodes `.`, for Rails-style routes).
//! - [`VendorErrors`]: each adapter's lenient error-body parser, plus the shared
//!   status-to-[`ErrorKind`](billing_core::ErrorKind) mapping and the rules decided once for
//!   every vendor: a 404 that is not the vendor's own not-found answer is a `Config` error
//!   naming the base URL ([`wrong_base_url`]), and a 401 names the credential settings.
//!   [`HttpClient::check`] is the start-up check built on them.
//! - [`HttpConfig`]: the `[http]` configuration section.
//! - [`ordered_fanout`] for bounded concurrent work, [`KeyCache`] for key-to-id lookups,
//!   [`KeyedLocks`] to serialize read-then-write operations per key,
//!   [`outcome_unknown`] to tell whether a failed write may still have been applied, and
//!   [`failed_event`] to turn a usage request's failure into `Unknown` or `Rejected`.
#![deny(missing_docs)]

mod auth;
mod cache;
mod client;
mod config;
mod dots;
mod endpoint;
mod errors;
mod fanout;
mod locks;
mod outcome;
mod parser_contract;
mod request;
mod response;
mod retry;
mod schedule;

pub use auth::Credentials;
pub use cache::{DEFAULT_CAPACITY, KeyCache, LISTED_CAPACITY};
pub use client::HttpClient;
pub use config::HttpConfig;
pub use dots::encode_segment_strict;
pub use endpoint::{Endpoint, is_loopback};
pub use errors::{
    MAX_VENDOR_MESSAGE_CHARS, VendorErrors, error_from_response, kind_for_status, retryable_status,
    shorten, wrong_base_url,
};
pub use fanout::ordered_fanout;
pub use locks::{KeyGuard, KeyedLocks};
pub use outcome::{failed_event, outcome_unknown};
pub use parser_contract::check_vendor_errors;
pub use request::ApiRequest;
pub use response::{ApiResponse, MAX_BODY_BYTES, decode_value};
pub use retry::{Idempotency, server_delay};

pub use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
/// The HTTP client crate, for [`HttpConfig::with_client`].
pub use reqwest;
pub use secrecy::{ExposeSecret, SecretString};
