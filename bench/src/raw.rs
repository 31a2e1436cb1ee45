//! The raw-HTTP baseline's client: plain reqwest with the settings `billing-http` uses, sending
//! requests that were fully built (URL, headers, body bytes) before the clock started.

use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, StreamExt};
use http::{HeaderMap, Method};

/// One pre-built request.
#[derive(Debug, Clone)]
pub struct RawRequest {
    /// Method.
    pub method: Method,
    /// Full URL, query included.
    pub url: String,
    /// Every header the adapter sends (content type and credentials included).
    pub headers: HeaderMap,
    /// The body bytes, if any.
    pub body: Option<Bytes>,
}

/// What a batch of raw requests got back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RawOutcome {
    /// Requests answered with a 2xx status.
    pub ok: usize,
    /// Requests answered with another status, or not answered.
    pub failed: usize,
}

/// A reqwest client configured as `billing-http` configures its own (timeouts, pool size, no
/// redirects).
pub fn client(concurrency: usize) -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(concurrency)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// Sends one request and reads its whole body.
pub async fn send(client: &reqwest::Client, request: &RawRequest) -> Option<(u16, Bytes)> {
    let mut builder = client
        .request(request.method.clone(), &request.url)
        .headers(request.headers.clone());
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    let response = builder.send().await.ok()?;
    let status = response.status().as_u16();
    let body = response.bytes().await.ok()?;
    Some((status, body))
}

/// Sends every request with at most `concurrency` in flight, reading each answer in full.
pub async fn send_all(
    client: &reqwest::Client,
    requests: &[RawRequest],
    concurrency: usize,
) -> RawOutcome {
    stream::iter(requests)
        .map(|r| send(client, r))
        .buffer_unordered(concurrency.max(1))
        .fold(RawOutcome::default(), |mut acc, answer| async move {
            match answer {
                Some((status, _)) if (200..300).contains(&status) => acc.ok += 1,
                _ => acc.failed += 1,
            }
            acc
        })
        .await
}
