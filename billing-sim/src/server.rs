//! Serving a simulator's router on 127.0.0.1 with the request log and fault injection in front.
//!
//! Connections are served with hyper directly rather than `axum::serve`, so that a "dropped
//! connection" fault really closes the socket without an answer, before or after the router ran.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower::ServiceExt;

use std::sync::Arc;

use crate::admin::{ADMIN_PREFIX, Admin, Control, SimInfo};
use crate::faults::{Fault, FaultConfig, Faults, RateLimitHeaders};
use crate::log::{RecordedRequest, RequestLog};

/// Options for starting a simulator.
#[derive(Debug, Clone, Default)]
pub struct SimOptions {
    /// Faults to inject from the start.
    pub faults: FaultConfig,
    /// Seed of the fault generator, so a run can be repeated.
    pub seed: u64,
    /// Port to listen on; 0 for an ephemeral one.
    pub port: u16,
    /// How many requests the log keeps in full; `None` for [`crate::log::DEFAULT_LOG_CAPACITY`].
    /// The count of all requests is exact either way.
    pub log_capacity: Option<usize>,
}

/// A running HTTP server on 127.0.0.1. Stops when dropped.
#[derive(Debug)]
pub struct SimServer {
    addr: SocketAddr,
    log: RequestLog,
    faults: Faults,
    admin: Option<Arc<Admin>>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by fault injection")
    }
}

impl std::error::Error for Dropped {}

impl SimServer {
    /// Serves `router` on 127.0.0.1 (ephemeral port unless `options.port` is set).
    ///
    /// # Errors
    /// If the port cannot be bound.
    pub async fn start(
        router: Router,
        options: SimOptions,
        rate_limit_headers: RateLimitHeaders,
    ) -> std::io::Result<Self> {
        Self::serve(router, options, rate_limit_headers, None).await
    }

    /// [`SimServer::start`] with the admin API ([`crate::admin`]) under `/__sim`, driving
    /// `control`.
    ///
    /// # Errors
    /// If the port cannot be bound.
    pub async fn start_with_control(
        router: Router,
        options: SimOptions,
        rate_limit_headers: RateLimitHeaders,
        control: Arc<dyn Control>,
    ) -> std::io::Result<Self> {
        Self::serve(router, options, rate_limit_headers, Some(control)).await
    }

    async fn serve(
        router: Router,
        options: SimOptions,
        rate_limit_headers: RateLimitHeaders,
        control: Option<Arc<dyn Control>>,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", options.port)).await?;
        let addr = listener.local_addr()?;
        let log = options
            .log_capacity
            .map_or_else(RequestLog::default, RequestLog::with_capacity);
        let faults = Faults::new(options.faults.clone(), options.seed, rate_limit_headers);
        let admin = control.map(|control| {
            Arc::new(Admin {
                control,
                log: log.clone(),
                faults: faults.clone(),
                initial_faults: options.faults,
                base_url: format!("http://{addr}"),
            })
        });
        let task = tokio::spawn(accept_loop(
            listener,
            router,
            log.clone(),
            faults.clone(),
            admin.clone(),
        ));
        Ok(Self {
            addr,
            log,
            faults,
            admin,
            task,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request received so far.
    pub fn log(&self) -> &RequestLog {
        &self.log
    }

    /// The live fault settings.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Puts everything back as it was at start-up: the vendor's state, catalog and clock, the
    /// fault settings and counts, and the request log (what `POST /__sim/reset` does). Only the
    /// request log and faults for a server started without controls.
    pub fn reset(&self) {
        match &self.admin {
            Some(admin) => admin.reset(),
            None => self.log.clear(),
        }
    }

    /// The simulator's description (`GET /__sim`), for a server started with controls.
    pub fn info(&self) -> Option<SimInfo> {
        self.admin.as_ref().map(|a| a.info())
    }

    /// Waits until the server stops (it runs until the process ends or this value is dropped).
    pub async fn wait(mut self) {
        let _ = (&mut self.task).await;
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    log: RequestLog,
    faults: Faults,
    admin: Option<Arc<Admin>>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let router = router.clone();
        let log = log.clone();
        let faults = faults.clone();
        let admin = admin.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                handle(
                    req,
                    router.clone(),
                    log.clone(),
                    faults.clone(),
                    admin.clone(),
                )
            });
            // Errors here are connection errors (including our own injected drops): nothing to do.
            let _ = Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    router: Router,
    log: RequestLog,
    faults: Faults,
    admin: Option<Arc<Admin>>,
) -> Result<Response<Body>, Dropped> {
    let (parts, body) = req.into_parts();
    let body: Bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Err(Dropped),
    };
    if let Some(admin) = admin {
        let path = parts.uri.path();
        if let Some(rest) = path
            .strip_prefix(ADMIN_PREFIX)
            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
        {
            return Ok(admin.handle(&parts.method, rest, parts.uri.query(), &body));
        }
    }
    log.push(RecordedRequest {
        method: parts.method.clone(),
        raw_path: parts.uri.path().to_owned(),
        raw_query: parts.uri.query().map(str::to_owned),
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    let fault = faults.draw(parts.uri.path());
    match fault {
        Fault::Status(code) => return Ok(status_response(code)),
        Fault::RateLimited => {
            let mut resp = status_response(429);
            resp.headers_mut().extend(faults.rate_limit_headers());
            return Ok(resp);
        }
        Fault::DropBefore => return Err(Dropped),
        Fault::None | Fault::DropAfter | Fault::SlowAfter => {}
    }
    let request = Request::from_parts(parts, Body::from(body));
    let response = match router.oneshot(request).await {
        Ok(r) => r,
        Err(infallible) => match infallible {},
    };
    match fault {
        Fault::DropAfter => Err(Dropped),
        Fault::SlowAfter => {
            tokio::time::sleep(faults.latency()).await;
            Ok(response)
        }
        _ => Ok(response),
    }
}

fn status_response(code: u16) -> Response<Body> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = Response::new(Body::from(format!(
        "<html><body><h1>{code} injected fault</h1></body></html>"
    )));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html"),
    );
    resp
}
