//! The official `lago-client` crate as a third column for Lago: it has no batch call, so it
//! sends one `POST /events` per event. Same events, same concurrency, same simulator.

use std::time::Duration;

use billing::UsageEvent;
use futures::stream::{self, StreamExt};
use lago_client::{Config, Credentials, LagoClient, Region, RetryConfig, RetryMode};
use lago_types::requests::event::{CreateEventInput, CreateEventRequest};

/// A client for the Lago API at `api_url` (`.../api/v1`), retries off.
pub fn client(api_url: &str, api_key: &str) -> LagoClient {
    let config = Config::builder()
        .credentials(Credentials::new(api_key.to_owned()))
        .region(Region::Custom(api_url.to_owned()))
        .timeout(Duration::from_secs(10))
        .retry_config(RetryConfig::builder().mode(RetryMode::Off).build())
        .build();
    LagoClient::new(config)
}

/// The request for one event, built before the clock starts (as the baseline's are).
pub fn request(event: &UsageEvent) -> CreateEventRequest {
    let input = CreateEventInput::for_subscription(
        event.id.as_str().to_owned(),
        event.subscription.as_str().to_owned(),
        event.metric.as_str().to_owned(),
    )
    .with_properties(serde_json::json!({ "quantity": event.quantity.normalize().to_string() }))
    .with_timestamp(event.timestamp.timestamp());
    CreateEventRequest::new(input)
}

/// Sends every request with at most `concurrency` in flight; returns how many failed.
pub async fn send_all(
    client: &LagoClient,
    requests: Vec<CreateEventRequest>,
    concurrency: usize,
) -> usize {
    stream::iter(requests)
        .map(|r| client.create_event(r))
        .buffer_unordered(concurrency.max(1))
        .fold(0, |failed, result| async move {
            failed + usize::from(result.is_err())
        })
        .await
}
