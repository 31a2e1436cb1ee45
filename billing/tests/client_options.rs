//! Configuration in code and the transport options: typed constructors, a proxy, extra root
//! certificates, a user agent, and a `reqwest::Client` of the caller's, checked against a mock
//! server that records what it receives.
#![cfg(feature = "lago")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use billing::lago::LagoConfig;
use billing::prelude::*;
use billing::{BillingConfig, CustomerKey, ErrorKind, HttpConfig, SecretString};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A server answering Lago's customer lookup with no customer.
async fn lago_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/customers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "customers": [],
            "meta": {"current_page": 1, "next_page": null, "prev_page": null,
                     "total_pages": 0, "total_count": 0}
        })))
        .mount(&server)
        .await;
    server
}

fn lago(base_url: String, http: HttpConfig) -> BillingConfig {
    BillingConfig::lago(LagoConfig::new(base_url, SecretString::from("key"))).with_http(http)
}

async fn lookup(config: &BillingConfig) -> ErrorKind {
    let backend = billing::connect(config).unwrap();
    let e = backend
        .get_customer(&CustomerKey::new("acme").unwrap())
        .await
        .unwrap_err();
    e.kind()
}

#[tokio::test]
async fn a_typed_configuration_connects_with_its_user_agent() {
    let server = lago_server().await;
    let http = HttpConfig::default().with_user_agent("acme-billing/2.1");
    let config = lago(format!("{}/api/v1", server.uri()), http);
    assert_eq!(lookup(&config).await, ErrorKind::NotFound);
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].headers["user-agent"], "acme-billing/2.1");
    assert_eq!(received[0].headers["accept"], "application/json");
}

#[tokio::test]
async fn requests_go_through_the_proxy() {
    let proxy = lago_server().await;
    // The vendor's host does not resolve: only the proxy can have answered.
    let http = HttpConfig::default()
        .with_insecure_http(true)
        .with_proxy(SecretString::from(proxy.uri()));
    let config = lago("http://lago.invalid/api/v1".to_owned(), http);
    assert_eq!(lookup(&config).await, ErrorKind::NotFound);
    let received = proxy.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].headers["host"], "lago.invalid");
}

#[tokio::test]
async fn the_callers_own_client_is_used_as_it_is() {
    let server = lago_server().await;
    let mut headers = billing::reqwest::header::HeaderMap::new();
    headers.insert("x-tenant", "blue".parse().unwrap());
    let client = billing::reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    let http = HttpConfig::default().with_client(client);
    let config = lago(format!("{}/api/v1", server.uri()), http);
    assert_eq!(lookup(&config).await, ErrorKind::NotFound);
    let received = server.received_requests().await.unwrap();
    assert_eq!(received[0].headers["x-tenant"], "blue");
    assert_eq!(received[0].headers["authorization"], "Bearer key");
}

#[test]
fn bad_transport_settings_are_config_errors_naming_the_setting() {
    let base = "https://api.getlago.com/api/v1".to_owned();
    let client = billing::reqwest::Client::new();
    let cases = [
        (
            HttpConfig::default().with_proxy(SecretString::from("not a url at all")),
            "http.proxy_url",
        ),
        (
            HttpConfig::default().with_root_certificate_pem(b"no certificate here".to_vec()),
            "http.root_certificates",
        ),
        (
            HttpConfig::default().with_root_certificate_file("/nonexistent/ca.pem"),
            "http.root_certificates",
        ),
        (
            HttpConfig::default().with_user_agent("bad\nagent"),
            "http.user_agent",
        ),
        (
            HttpConfig::default()
                .with_client(client)
                .with_proxy(SecretString::from("http://proxy:3128")),
            "http.proxy_url",
        ),
    ];
    for (http, setting) in cases {
        let e = billing::connect(&lago(base.clone(), http)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        assert!(e.message().contains(setting), "{e}");
    }
}

#[test]
fn a_proxy_url_with_credentials_is_never_printed() {
    let http = HttpConfig::default().with_proxy(SecretString::from("http://u:pr0xy-pw@proxy:3128"));
    let config = lago("https://api.getlago.com/api/v1".to_owned(), http);
    assert!(!format!("{config:?}").contains("pr0xy-pw"));
    let e = billing::connect(&lago(
        "https://api.getlago.com/api/v1".to_owned(),
        HttpConfig::default().with_proxy(SecretString::from("::pr0xy-pw::")),
    ))
    .unwrap_err();
    assert!(!format!("{e} {e:?}").contains("pr0xy-pw"), "{e:?}");
}

#[test]
fn a_pem_root_certificate_is_accepted() {
    // A self-signed CA (not trusted for anything here; only parsed).
    let pem = include_bytes!("data/test-ca.pem").to_vec();
    let http = HttpConfig::default().with_root_certificate_pem(pem);
    assert!(billing::connect(&lago("https://api.getlago.com/api/v1".to_owned(), http)).is_ok());
}
