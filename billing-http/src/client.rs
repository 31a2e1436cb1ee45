//! The HTTP client of one backend: credentials, bounded concurrency, timeouts, and retries
//! within a time budget.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use billing_core::{Error, ErrorKind, Operation, Result};
use bytes::{Bytes, BytesMut};
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::auth::{Credentials, Prepared};
use crate::config::HttpConfig;
use crate::endpoint::Endpoint;
use crate::errors::{VendorErrors, error_from_response, wrong_base_url};
use crate::request::ApiRequest;
use crate::response::{ApiResponse, MAX_BODY_BYTES};
use crate::retry::{Idempotency, server_delay};
use crate::schedule::{Ended, Next, Schedule};

/// One backend's HTTP client. Cheap to clone; clones share connections and the concurrency
/// limit.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

struct Inner {
    backend: &'static str,
    endpoint: Endpoint,
    client: reqwest::Client,
    credentials: Credentials,
    auth_headers: Prepared,
    config: HttpConfig,
    limiter: Semaphore,
    errors: Box<dyn VendorErrors>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("backend", &self.inner.backend)
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("credentials", &self.inner.credentials)
            .field("config", &self.inner.config)
            .finish()
    }
}

/// How one attempt ended.
#[derive(Clone)]
enum Attempt {
    Response(ApiResponse),
    /// No usable response; the flag says whether the request surely never reached the server.
    Transport(Error, bool),
    /// An answer that another attempt would only repeat (a body over the size limit).
    Final(Error),
}

impl Attempt {
    /// Whether the request may have reached the server and been applied: no usable answer
    /// after it may have been sent, or a gateway's 502/504.
    fn may_have_been_applied(&self) -> bool {
        match self {
            Attempt::Response(r) => matches!(r.status.as_u16(), 502 | 504),
            Attempt::Transport(_, never_sent) => !never_sent,
            Attempt::Final(_) => false,
        }
    }

    /// What a call whose retries ran out on `last` reports: `last`, unless it says the
    /// request was not applied while an earlier attempt may have been.
    fn last(last: Attempt, maybe_applied: Option<Attempt>) -> Attempt {
        match maybe_applied {
            Some(earlier) if !last.may_have_been_applied() => earlier,
            _ => last,
        }
    }
}

impl HttpClient {
    /// Builds the client. Every request asks for JSON (`Accept: application/json`, which also
    /// makes Symfony and Kill Bill render errors as JSON rather than HTML); secrets go in
    /// `credentials`, never in a request's headers.
    ///
    /// # Errors
    /// A `Config` error for invalid settings or credentials.
    pub fn new(
        backend: &'static str,
        endpoint: Endpoint,
        credentials: Credentials,
        config: HttpConfig,
        errors: impl VendorErrors,
    ) -> Result<Self> {
        config.validate()?;
        credentials.validate()?;
        let auth_headers = credentials.headers()?;
        let client = config.build_client()?;
        Ok(Self {
            inner: Arc::new(Inner {
                backend,
                limiter: Semaphore::new(config.concurrency),
                endpoint,
                client,
                credentials,
                auth_headers,
                config,
                errors: Box::new(errors),
            }),
        })
    }

    /// The backend's name.
    pub fn backend(&self) -> &'static str {
        self.inner.backend
    }

    /// The base URL.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// The settings.
    pub fn config(&self) -> &HttpConfig {
        &self.inner.config
    }

    /// Most requests in flight at once; fan-out work should not queue more than this.
    pub fn concurrency(&self) -> usize {
        self.inner.config.concurrency
    }

    /// The error for a non-success response, parsed with the vendor's error format (see
    /// [`error_from_response`]).
    pub fn error(&self, operation: Operation, response: &ApiResponse) -> Error {
        error_from_response(
            self.inner.backend,
            operation,
            response,
            self.inner.errors.as_ref(),
            self.inner.endpoint.setting(),
        )
    }

    /// Checks, with `request` (a cheap authenticated read of a route that always exists), that
    /// the base URL reaches the vendor's API and that the credentials are accepted: the
    /// start-up check of every adapter.
    ///
    /// # Errors
    /// - `Config` naming the base URL setting when the route answers 404, whatever the body
    ///   (the URL reaches no API route).
    /// - `Unauthenticated` naming the credential settings to check, on a 401.
    /// - `Unavailable` or `Timeout` naming the base URL setting when the server could not be
    ///   reached (after the `[http]` retries).
    /// - The vendor's error for any other answer.
    pub async fn check(&self, request: ApiRequest) -> Result<()> {
        let request = request.route_always_exists();
        match self.send_ok(request).await {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.kind(), ErrorKind::Unavailable | ErrorKind::Timeout) => {
                let message = format!(
                    "{}; check `{}` ({}) and that the server is up",
                    e.message(),
                    self.inner.endpoint.setting(),
                    self.inner.endpoint.as_str()
                );
                Err(e.clone().with_message(message).with_source(e))
            }
            Err(e) => Err(e),
        }
    }

    /// Sends the request and returns a success response, or the vendor's error for any other.
    ///
    /// # Errors
    /// As [`HttpClient::send`], plus the mapped error of a non-success response.
    pub fn send_ok(
        &self,
        request: ApiRequest,
    ) -> impl Future<Output = Result<ApiResponse>> + Send + '_ {
        let op = request.operation;
        // The request goes into `send`'s box at once: this future stays a few words.
        let sent = self.send(request);
        async move {
            let response = sent.await?;
            if response.is_success() {
                Ok(response)
            } else {
                Err(self.error(op, &response))
            }
        }
    }

    /// Sends the request, retrying what is safe to retry, and returns the final response
    /// whatever its status.
    ///
    /// Retries happen on connection failures, timeouts and retryable statuses (429, 502, 503,
    /// 504, unstructured 500), with exponential backoff and jitter or the server's own
    /// `Retry-After` / `X-RateLimit-Reset` (capped), while the time budget lasts. A request that
    /// is not idempotent is retried only if it surely never reached the server. Every retry is
    /// logged at WARN level under the `billing_http` target. When the retries run out on an
    /// answer saying the request was not applied (a 503, a 429) after an earlier attempt may
    /// have been (its answer was lost, or a gateway's 502/504), the earlier attempt's outcome
    /// is returned, so that [`crate::outcome_unknown`] holds for it.
    ///
    /// # Errors
    /// `Unavailable` or `Timeout` (temporary) when no response was obtained; `Decode` for a body
    /// over [`MAX_BODY_BYTES`].
    pub fn send(
        &self,
        request: ApiRequest,
    ) -> impl Future<Output = Result<ApiResponse>> + Send + '_ {
        let span = tracing::debug_span!(
            "billing_http",
            backend = self.inner.backend,
            operation = %request.operation,
            method = %request.method,
            path = request.url.path(),
        );
        // Boxed at once: the attempt's state (reqwest's future, the request kept for retries,
        // the backoff) is a few KB, and every future awaiting this one would otherwise embed it
        // and move it at each nesting level, for every request.
        Box::pin(self.send_with_retries(request).instrument(span))
    }

    async fn send_with_retries(&self, request: ApiRequest) -> Result<ApiResponse> {
        let schedule = Schedule {
            limiter: &self.inner.limiter,
            config: &self.inner.config,
            backend: self.inner.backend,
            operation: request.operation,
        };
        // The last retried attempt of a write that may have been applied (no answer, or a
        // gateway's 502/504), and whether the call gave up on an attempt it would have retried:
        // then, if that last answer says "not applied", the earlier one is reported instead, so
        // an applied write is never reported as refused. A read keeps its last answer (a 429
        // and its Retry-After), since reading twice changes nothing.
        let mut earlier: Option<Attempt> = None;
        let mut gave_up = false;
        let writes = !request.method.is_safe();
        let ended = schedule
            .run(
                |timeout| self.attempt(&request, timeout),
                |outcome| {
                    let next = self.next(&request, outcome);
                    let retry = matches!(next, Next::Retry { .. });
                    if retry && writes && outcome.may_have_been_applied() {
                        earlier = Some(outcome.clone());
                    }
                    gave_up = retry;
                    next
                },
            )
            .await;
        match ended {
            Ended::Attempted(outcome) if gave_up => {
                self.finish(&request, Attempt::last(outcome, earlier))
            }
            Ended::Attempted(outcome) => self.finish(&request, outcome),
            Ended::Queued => Err(self.queued_too_long(&request)),
            Ended::Closed => Err(Error::unexpected("HTTP client is shut down")),
        }
    }

    /// Whether an attempt's outcome may be retried: connection failures, timeouts and
    /// retryable statuses, for requests that are safe to resend (or surely never reached the
    /// server).
    fn next(&self, request: &ApiRequest, outcome: &Attempt) -> Next {
        match outcome {
            Attempt::Response(r) if r.status.is_success() => Next::Stop,
            Attempt::Response(r) => {
                let detail = self.inner.errors.detail(r.status, &r.body);
                let retryable = request.idempotency == Idempotency::Idempotent
                    && self.inner.errors.retryable(r.status, &detail);
                if !retryable {
                    return Next::Stop;
                }
                Next::Retry {
                    reason: format!("status {}", r.status.as_u16()),
                    server_wait: server_delay(&r.headers, std::time::SystemTime::now()),
                }
            }
            Attempt::Final(_) => Next::Stop,
            Attempt::Transport(e, never_sent) => {
                if *never_sent || request.idempotency == Idempotency::Idempotent {
                    Next::Retry {
                        reason: e.message().to_owned(),
                        server_wait: None,
                    }
                } else {
                    Next::Stop
                }
            }
        }
    }

    /// The error of a call whose budget ran out before a slot was free: nothing was sent, so
    /// it is temporary whatever the request.
    fn queued_too_long(&self, request: &ApiRequest) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "{} {}: no request slot became free within http.total_budget_ms ({} ms); {} \
                 requests were in flight",
                request.method,
                request.url.path(),
                self.inner.config.total_budget_ms,
                self.inner.config.concurrency
            ),
        )
        .with_temporary(true)
        .with_backend(self.inner.backend)
        .with_operation(request.operation)
        .with_source(crate::outcome::NeverSent)
    }

    /// The call's result: the response, unless it is a 404 that shows the URL reaches no API
    /// route (any 404 to a route that always exists, or one whose body is not the vendor's
    /// not-found answer), which is the `Config` error naming the base URL whatever the adapter
    /// would make of a 404.
    fn finish(&self, request: &ApiRequest, outcome: Attempt) -> Result<ApiResponse> {
        match outcome {
            Attempt::Response(r) if r.status == http::StatusCode::NOT_FOUND => {
                let errors = self.inner.errors.as_ref();
                let mut detail = errors.detail(r.status, &r.body);
                detail.status = Some(r.status.as_u16());
                if request.route_always_exists || !errors.is_not_found_body(&r.body, &detail) {
                    let path = request.url.path();
                    return Err(wrong_base_url(
                        self.inner.endpoint.setting(),
                        errors,
                        Some((&request.method, path)),
                        detail,
                    )
                    .with_backend(self.inner.backend)
                    .with_operation(request.operation));
                }
                Ok(r)
            }
            Attempt::Response(r) => Ok(r),
            Attempt::Transport(e, _) | Attempt::Final(e) => Err(e),
        }
    }

    async fn attempt(&self, request: &ApiRequest, timeout: Duration) -> Attempt {
        let mut builder = self
            .inner
            .client
            .request(request.method.clone(), request.url.clone())
            .timeout(timeout);
        if !request.headers.contains_key(http::header::ACCEPT) {
            builder = builder.header(
                http::header::ACCEPT,
                http::HeaderValue::from_static("application/json"),
            );
        }
        // Header by header: cloning the whole map would allocate it twice.
        for (name, value) in &request.headers {
            builder = builder.header(name.clone(), value.clone());
        }
        if !request.query.is_empty() {
            builder = builder.query(&request.query);
        }
        if let Some((content_type, body)) = &request.body {
            builder = builder
                .header(http::header::CONTENT_TYPE, content_type.clone())
                .body(body.clone());
        }
        builder = self.inner.auth_headers.apply(builder);
        let mut response = match builder.send().await {
            Ok(r) => r,
            Err(e) => return self.transport_error(request, e),
        };
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        match read_body(response).await {
            Ok(body) => Attempt::Response(ApiResponse {
                status,
                headers,
                body,
            }),
            Err(BodyError::TooLarge) => Attempt::Final(
                Error::decode(format!(
                    "response body is larger than {MAX_BODY_BYTES} bytes"
                ))
                .with_backend(self.inner.backend)
                .with_operation(request.operation)
                .with_vendor(billing_core::VendorDetail::status(status.as_u16())),
            ),
            Err(BodyError::Transport(e)) => self.transport_error(request, e),
        }
    }

    fn transport_error(&self, request: &ApiRequest, e: reqwest::Error) -> Attempt {
        let never_sent = e.is_connect();
        let kind = if e.is_timeout() {
            ErrorKind::Timeout
        } else {
            ErrorKind::Unavailable
        };
        let what = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "could not connect"
        } else {
            "connection failed"
        };
        // reqwest's message names the URL (never credentials: they travel in headers).
        let error = Error::new(
            kind,
            format!("{} {}: {what}", request.method, request.url.path()),
        )
        .with_backend(self.inner.backend)
        .with_operation(request.operation)
        .with_source(e.without_url());
        Attempt::Transport(error, never_sent)
    }
}

enum BodyError {
    TooLarge,
    Transport(reqwest::Error),
}

async fn read_body(mut response: reqwest::Response) -> Result<Bytes, BodyError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(BodyError::TooLarge);
    }
    let mut buf = BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if buf.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}
