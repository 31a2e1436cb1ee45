//! The retry policy against a mock server (wiremock; a raw socket where a connection must be
//! dropped without an answer): which failures are retried, how long the
//! client waits (read from its tracing output, never from a clock), the time budget, and that a
//! request that is not idempotent is never resent: not after an answer, not after a timeout, not
//! after a connection lost without an answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::cell::RefCell;
use std::io::Write;
use std::sync::{Arc, Mutex, Once};

use billing_core::{ErrorKind, Operation, VendorDetail};
use billing_http::StatusCode;
use billing_http::{
    ApiRequest, Credentials, Endpoint, HttpClient, HttpConfig, Idempotency, Method,
};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The server a test talks to, and how many requests it received.
struct Server {
    base: String,
    hits: Hits,
}

enum Hits {
    /// A mock server (wiremock) records what it receives.
    Mock(MockServer),
    /// A raw socket server counts for itself.
    Counted(Arc<Mutex<u32>>),
}

impl Server {
    async fn hits(&self) -> u32 {
        match &self.hits {
            Hits::Mock(m) => u32::try_from(m.received_requests().await.unwrap().len()).unwrap(),
            Hits::Counted(n) => *n.lock().unwrap(),
        }
    }

    fn mock(mock: MockServer) -> Self {
        Self {
            base: mock.uri(),
            hits: Hits::Mock(mock),
        }
    }
}

/// A mock server giving `answers` (status and headers), one per request in order, then 200.
async fn scripted(answers: Vec<(u16, Vec<(&'static str, String)>)>) -> Server {
    let mock = MockServer::start().await;
    for (i, (status, headers)) in answers.into_iter().enumerate() {
        let mut answer = ResponseTemplate::new(status).set_body_string("{}");
        for (name, value) in headers {
            answer = answer.insert_header(name, value.as_str());
        }
        Mock::given(any())
            .respond_with(answer)
            .up_to_n_times(1)
            .with_priority(u8::try_from(i + 1).unwrap())
            .mount(&mock)
            .await;
    }
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .with_priority(u8::MAX)
        .mount(&mock)
        .await;
    Server::mock(mock)
}

#[derive(Debug)]
struct PlainErrors;
impl billing_http::VendorErrors for PlainErrors {
    fn detail(&self, _: StatusCode, _: &[u8]) -> VendorDetail {
        VendorDetail::default()
    }
    fn is_not_found_body(&self, _: &[u8], _: &VendorDetail) -> bool {
        true
    }
}

fn client(base: &str, config: HttpConfig) -> HttpClient {
    HttpClient::new(
        "test",
        Endpoint::parse("test.base_url", base, false).unwrap(),
        Credentials::none(),
        config,
        PlainErrors,
    )
    .unwrap()
}

fn fast() -> HttpConfig {
    HttpConfig::default()
        .with_retry_base_delay(std::time::Duration::from_millis(1))
        .with_max_retry_delay(std::time::Duration::from_millis(50))
}

/// What one test's client logged. Events go through one global subscriber and land in the
/// buffer of the thread that emitted them (each test's client runs on its test's thread): a
/// thread-local subscriber per test would race with the other tests over tracing's process-wide
/// callsite interest cache, and could miss events.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

thread_local! {
    static SINK: RefCell<Option<Captured>> = const { RefCell::new(None) };
}

/// Writes into the current thread's [`Captured`], if any.
struct Routed;
impl Write for Routed {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        SINK.with(|s| {
            if let Some(c) = s.borrow().as_ref() {
                c.0.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Stops capturing on drop.
struct Capturing;
impl Drop for Capturing {
    fn drop(&mut self) {
        SINK.with(|s| s.borrow_mut().take());
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
    fn install(&self) -> Capturing {
        static GLOBAL: Once = Once::new();
        GLOBAL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(|| Routed)
                .with_ansi(false)
                .with_max_level(tracing::Level::WARN)
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
        });
        SINK.with(|s| *s.borrow_mut() = Some(self.clone()));
        Capturing
    }
}

fn get(c: &HttpClient) -> ApiRequest {
    ApiRequest::new(
        Operation::GetCustomer,
        Method::GET,
        c.endpoint().url(&["thing"]).unwrap(),
    )
}

fn post(c: &HttpClient) -> ApiRequest {
    ApiRequest::new(
        Operation::CreateCustomer,
        Method::POST,
        c.endpoint().url(&["thing"]).unwrap(),
    )
}

#[tokio::test]
async fn transient_statuses_are_retried_and_each_retry_is_traced() {
    let logs = Captured::default();
    let _guard = logs.install();
    let s = scripted(vec![
        (503, vec![]),
        (502, vec![]),
        (500, vec![]),
        (504, vec![]),
    ])
    .await;
    let c = client(&s.base, fast());
    let r = c.send(get(&c)).await.unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(s.hits().await, 5);
    assert_eq!(logs.text().matches("retrying request").count(), 4);
}

#[tokio::test]
async fn retry_after_and_rate_limit_reset_are_honoured_and_capped() {
    let logs = Captured::default();
    let _guard = logs.install();
    let s = scripted(vec![
        (429, vec![("retry-after", "0.2".into())]),
        (429, vec![("x-ratelimit-reset", "0.3".into())]),
        (503, vec![("retry-after", "3600".into())]),
    ])
    .await;
    let config = HttpConfig::default()
        .with_retry_base_delay(std::time::Duration::from_millis(1))
        .with_max_retry_delay(std::time::Duration::from_millis(400));
    let c = client(&s.base, config);
    assert_eq!(c.send(get(&c)).await.unwrap().status, 200);
    let text = logs.text();
    assert!(text.contains("wait_ms=200"), "Retry-After honoured: {text}");
    assert!(
        text.contains("wait_ms=300"),
        "X-RateLimit-Reset honoured: {text}"
    );
    assert!(
        text.contains("wait_ms=400"),
        "an hour is capped at 400 ms: {text}"
    );
}

#[tokio::test]
async fn the_time_budget_stops_retries() {
    let logs = Captured::default();
    let _guard = logs.install();
    let s = scripted(vec![(503, vec![("retry-after", "30".into())]); 5]).await;
    let config = HttpConfig::default()
        .with_max_retry_delay(std::time::Duration::from_millis(60_000))
        .with_total_budget(std::time::Duration::from_millis(10_000))
        .with_timeout(std::time::Duration::from_millis(5_000));
    let c = client(&s.base, config);
    let r = c.send(get(&c)).await.unwrap();
    assert_eq!(r.status, 503, "the last answer is returned");
    assert_eq!(s.hits().await, 1, "a 30 s wait does not fit a 10 s budget");
    assert!(logs.text().contains("time budget"));
    let e = c.error(Operation::GetCustomer, &r);
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.is_temporary());
}

#[tokio::test]
async fn requests_that_are_not_idempotent_are_never_resent_after_an_answer() {
    let s = scripted(vec![(503, vec![]), (503, vec![])]).await;
    let c = client(&s.base, fast());
    let r = c.send(post(&c)).await.unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(s.hits().await, 1);

    let r = c
        .send(post(&c).idempotency(Idempotency::Idempotent))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "declared idempotent: retried");
}

#[tokio::test]
async fn structured_errors_are_not_retried() {
    let s = scripted(vec![(400, vec![]), (404, vec![])]).await;
    let c = client(&s.base, fast());
    let r = c.send(get(&c)).await.unwrap();
    assert_eq!(r.status, 400);
    let e = c.send_ok(get(&c)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.vendor().unwrap().status, Some(404));
    assert_eq!(s.hits().await, 2);
}

#[tokio::test]
async fn refused_connections_are_retried_even_for_writes() {
    let logs = Captured::default();
    let _guard = logs.install();
    // A socket bound but never listening holds the port (no other test can take it) and
    // refuses every connection.
    let holder = tokio::net::TcpSocket::new_v4().unwrap();
    holder.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = holder.local_addr().unwrap().port();
    let config = fast().with_max_retries(2);
    let c = client(&format!("http://127.0.0.1:{port}"), config);
    let e = c.send(post(&c)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.is_temporary());
    assert_eq!(logs.text().matches("retrying request").count(), 2);
}

#[tokio::test]
async fn an_http_date_retry_after_is_honoured_and_capped_end_to_end() {
    let logs = Captured::default();
    let _guard = logs.install();
    let now = std::time::SystemTime::now();
    let soon = httpdate::fmt_http_date(now + std::time::Duration::from_secs(2));
    let next_hour = httpdate::fmt_http_date(now + std::time::Duration::from_secs(3600));
    let s = scripted(vec![
        (429, vec![("retry-after", soon)]),
        (503, vec![("retry-after", next_hour)]),
    ])
    .await;
    let config = HttpConfig::default()
        .with_retry_base_delay(std::time::Duration::from_millis(1))
        .with_max_retry_delay(std::time::Duration::from_millis(2_000));
    let c = client(&s.base, config);
    assert_eq!(c.send(get(&c)).await.unwrap().status, 200);
    let waits: Vec<u64> = logs
        .text()
        .lines()
        .filter(|l| l.contains("retrying request"))
        .filter_map(|l| l.split("wait_ms=").nth(1)?.split(' ').next()?.parse().ok())
        .collect();
    assert_eq!(waits.len(), 2, "{}", logs.text());
    // An HTTP date has whole seconds: "in 2 s" is a wait of 1 to 2 s less the time the answer
    // took (well under half a second), not the 1 ms backoff.
    assert!((500..=2_000).contains(&waits[0]), "{waits:?}");
    assert_eq!(waits[1], 2_000, "a date an hour away is capped");
}

/// A mock server answering 200 after `delay`.
async fn slow(delay: std::time::Duration) -> Server {
    let mock = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("{}")
                .set_delay(delay),
        )
        .mount(&mock)
        .await;
    Server::mock(mock)
}

/// A server that reads each request in full, counts it, and closes the connection without an
/// answer: the write may have been applied, and nobody can tell. (A raw socket: a mock server
/// always answers.)
async fn hanging_up() -> Server {
    hangs_up_then(None).await
}

#[tokio::test]
async fn a_timed_out_write_that_is_not_idempotent_is_not_resent() {
    let logs = Captured::default();
    let _guard = logs.install();
    let s = slow(std::time::Duration::from_millis(400)).await;
    let config = fast().with_timeout(std::time::Duration::from_millis(100));
    let c = client(&s.base, config);
    let e = c.send(post(&c)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert!(e.is_temporary());
    assert!(
        billing_http::outcome_unknown(&e),
        "the write may have been applied"
    );
    assert_eq!(s.hits().await, 1, "sent once");
    assert!(!logs.text().contains("retrying request"), "{}", logs.text());

    let e = c
        .send(post(&c).idempotency(Idempotency::Idempotent))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout);
    assert_eq!(
        s.hits().await,
        1 + 5,
        "an idempotent write is resent: 1 + max_retries attempts"
    );
}

#[tokio::test]
async fn a_lost_answer_to_a_write_that_is_not_idempotent_is_not_resent() {
    let logs = Captured::default();
    let _guard = logs.install();
    let s = hanging_up().await;
    let c = client(&s.base, fast());
    let e = c.send(post(&c)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(billing_http::outcome_unknown(&e));
    assert_eq!(s.hits().await, 1, "sent once");
    assert!(!logs.text().contains("retrying request"), "{}", logs.text());

    let e = c.send(get(&c)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert_eq!(s.hits().await, 1 + 5, "a read is resent");
    assert_eq!(logs.text().matches("retrying request").count(), 4);
}

#[tokio::test]
async fn the_time_budget_ends_a_series_of_retries() {
    let logs = Captured::default();
    let _guard = logs.install();
    let s = scripted(vec![(503, vec![("retry-after", "1".into())]); 10]).await;
    let config = HttpConfig::default()
        .with_max_retries(10)
        .with_retry_base_delay(std::time::Duration::from_millis(1))
        .with_max_retry_delay(std::time::Duration::from_millis(5_000))
        .with_total_budget(std::time::Duration::from_millis(2_500))
        .with_timeout(std::time::Duration::from_millis(2_000));
    let c = client(&s.base, config);
    let r = c.send(get(&c)).await.unwrap();
    assert_eq!(r.status, 503, "the last answer is returned");
    // Attempts at about 0 s, 1 s and 2 s; a third wait of 1 s would end past 2.5 s.
    assert_eq!(s.hits().await, 3);
    let text = logs.text();
    assert_eq!(text.matches("retrying request").count(), 2, "{text}");
    assert_eq!(text.matches("time budget").count(), 1, "{text}");
}

#[tokio::test]
async fn an_oversized_answer_is_not_fetched_again() {
    let mock = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![
            b' ';
            billing_http::MAX_BODY_BYTES
                + 1
        ]))
        .mount(&mock)
        .await;
    let s = Server::mock(mock);
    let c = client(&s.base, fast());
    let e = c.send(get(&c)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Decode);
    assert!(!e.is_temporary(), "the same answer would come again");
    assert_eq!(s.hits().await, 1, "not fetched again");
}

/// A server that counts each request, hangs up on the first one (after reading it), and
/// answers `status` to every later one (hangs up on them too without a status).
async fn hangs_up_then(status: Option<u16>) -> Server {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(Mutex::new(0));
    let h = hits.clone();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let hits = h.clone();
            tokio::spawn(async move {
                let mut buf = vec![0_u8; 4096];
                loop {
                    let mut seen = Vec::new();
                    while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&buf[..n]),
                        }
                    }
                    let n = {
                        let mut hits = hits.lock().unwrap();
                        *hits += 1;
                        *hits
                    };
                    let Some(status) = status.filter(|_| n > 1) else {
                        return;
                    };
                    let answer = format!("HTTP/1.1 {status} Nope\r\ncontent-length: 2\r\n\r\n{{}}");
                    if stream.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Server {
        base,
        hits: Hits::Counted(hits),
    }
}

#[tokio::test]
async fn retries_that_run_out_after_a_lost_answer_report_the_lost_answer() {
    // The first attempt may have been applied; the later ones were refused (503): the call's
    // outcome is unknown, not "refused".
    let s = hangs_up_then(Some(503)).await;
    let c = client(&s.base, fast().with_max_retries(2));
    let e = c
        .send(post(&c).idempotency(Idempotency::Idempotent))
        .await
        .unwrap_err();
    assert_eq!(s.hits().await, 3, "1 + max_retries attempts");
    assert!(billing_http::outcome_unknown(&e), "{e}");

    // Refused every time: the outcome is known, the last answer is returned.
    let s = scripted(vec![(503, vec![]), (503, vec![]), (503, vec![])]).await;
    let c = client(&s.base, fast().with_max_retries(2));
    let r = c
        .send(post(&c).idempotency(Idempotency::Idempotent))
        .await
        .unwrap();
    assert_eq!(r.status.as_u16(), 503);
}

#[tokio::test]
async fn a_read_whose_retries_run_out_reports_its_last_answer() {
    // A GET changes nothing, so the lost first answer does not matter: the caller gets the
    // last answer (a 429 here, with what it says about waiting), not the lost one.
    let s = hangs_up_then(Some(429)).await;
    let c = client(&s.base, fast().with_max_retries(2));
    let r = c.send(get(&c)).await.unwrap();
    assert_eq!(s.hits().await, 3, "1 + max_retries attempts");
    assert_eq!(r.status.as_u16(), 429);
}
