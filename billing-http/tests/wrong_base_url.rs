//! The rules every adapter gets from the client: a 404 that is not the vendor's own not-found
//! answer is a `Config` error naming the base URL setting (never `NotFound`), a 401 names the
//! credential settings, and the start-up check names the base URL when nothing answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use billing_core::{ErrorKind, Operation, VendorDetail};
use billing_http::{ApiRequest, Credentials, Endpoint, HttpClient, HttpConfig, Method};
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A vendor whose not-found body is `{"missing": true}` and whose key is `test.api_key`.
#[derive(Debug)]
struct TestVendor;

impl billing_http::VendorErrors for TestVendor {
    fn detail(&self, status: billing_http::StatusCode, _: &[u8]) -> VendorDetail {
        VendorDetail::status(status.as_u16())
    }
    fn is_not_found_body(&self, body: &[u8], _: &VendorDetail) -> bool {
        body == br#"{"missing": true}"#
    }
    fn base_url_rule(&self) -> &'static str {
        "the test API's base ends in /api"
    }
    fn credential_settings(&self, _: &VendorDetail) -> &'static [&'static str] {
        &["test.api_key"]
    }
}

/// `/api/missing`: the vendor's 404; `/api/locked`: 401; `/api/ok`: 200; anything else: an
/// HTML 404 as a proxy or another application answers. The server lives as long as the test.
async fn server() -> MockServer {
    let server = MockServer::start().await;
    let answers = [
        (
            "/api/missing",
            ResponseTemplate::new(404).set_body_string(r#"{"missing": true}"#),
        ),
        ("/api/locked", ResponseTemplate::new(401)),
        ("/api/ok", ResponseTemplate::new(200).set_body_string("{}")),
    ];
    for (route, answer) in answers {
        Mock::given(path(route))
            .respond_with(answer)
            .mount(&server)
            .await;
    }
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_string("<html><body><h1>404 Not Found</h1></body></html>"),
        )
        .with_priority(u8::MAX)
        .mount(&server)
        .await;
    server
}

fn client(base: &str) -> HttpClient {
    let config = HttpConfig::default()
        .with_max_retries(1)
        .with_retry_base_delay(std::time::Duration::from_millis(1));
    HttpClient::new(
        "test",
        Endpoint::parse("test.base_url", base, false).unwrap(),
        Credentials::none(),
        config,
        TestVendor,
    )
    .unwrap()
}

fn get(c: &HttpClient, path: &str) -> ApiRequest {
    ApiRequest::new(
        Operation::GetCustomer,
        Method::GET,
        c.endpoint().url([path]).unwrap(),
    )
}

#[tokio::test]
async fn a_404_that_is_not_the_vendor_s_names_the_base_url_and_is_never_not_found() {
    let server = server().await;
    let c = client(&format!("{}/api", server.uri()));
    let e = c.send(get(&c, "nowhere")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.message().contains("test.base_url"), "{e}");
    assert!(e.message().contains("GET /api/nowhere"), "{e}");
    assert_eq!(e.vendor().and_then(|v| v.status), Some(404));
    assert_eq!(e.operation(), Some(Operation::GetCustomer));
    let e = c.send_ok(get(&c, "nowhere")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");

    // The vendor's own not-found answer is left to the adapter: `NotFound`.
    let r = c.send(get(&c, "missing")).await.unwrap();
    assert_eq!(r.status, 404);
    let e = c.send_ok(get(&c, "missing")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    // ... unless the route always exists: then any 404 is a wrong base URL.
    let e = c
        .send(get(&c, "missing").route_always_exists())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    assert!(e.message().contains("test.base_url"), "{e}");
}

#[tokio::test]
async fn a_401_names_the_credential_settings() {
    let server = server().await;
    let c = client(&format!("{}/api", server.uri()));
    let e = c.send_ok(get(&c, "locked")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(e.message().contains("`test.api_key`"), "{e}");
}

#[tokio::test]
async fn the_check_says_which_setting_to_fix() {
    let server = server().await;
    let c = client(&format!("{}/api", server.uri()));
    assert!(c.check(get(&c, "ok")).await.is_ok());
    let e = c.check(get(&c, "missing")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "a listed route that 404s: {e}");
    assert!(e.message().contains("test.base_url"), "{e}");
    let e = c.check(get(&c, "locked")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthenticated, "{e}");
    assert!(e.message().contains("test.api_key"), "{e}");

    // Nothing listening: unavailable, naming the URL setting.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = format!("http://{}/api", closed.local_addr().unwrap());
    drop(closed);
    let c = client(&dead);
    let e = c.check(get(&c, "ok")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.message().contains("test.base_url"), "{e}");
}
