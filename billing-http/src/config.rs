//! HTTP settings shared by every adapter: timeouts, retries, concurrency, transport policy.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// HTTP settings, the `[http]` section of the billing configuration.
///
/// Durations are in milliseconds so they can come from environment variables as plain numbers.
/// In code, start from [`HttpConfig::default`] and use the `with_*` setters:
///
/// ```
/// # use std::time::Duration;
/// # use billing_http::HttpConfig;
/// let http = HttpConfig::default()
///     .with_timeout(Duration::from_secs(5))
///     .with_total_budget(Duration::from_secs(30))
///     .with_concurrency(8);
/// assert!(http.validate().is_ok());
/// ```
///
/// # What the client retries, and for how long
/// Every call (one trait method's request) is retried here, before its error reaches the
/// application, when it is safe to send again (reads, idempotent writes, usage on vendors that
/// deduplicate event ids; otherwise only a connection that was refused) and failed on a
/// connection error, a timeout, 429, 502, 503, 504 or an unstructured 500: at most
/// [`max_retries`](HttpConfig::max_retries) more times (4), waiting
/// [`retry_base_delay_ms`](HttpConfig::retry_base_delay_ms) (100 ms) doubling, plus up to as
/// much again of jitter, or
/// the vendor's `Retry-After` / `X-RateLimit-Reset`, each wait at most
/// [`max_retry_delay_ms`](HttpConfig::max_retry_delay_ms) (20 s), and all of it within
/// [`total_budget_ms`](HttpConfig::total_budget_ms) (60 s). With these defaults, a vendor
/// answering 429 without `Retry-After` is tried 5 times over 1.5 to 3 s before the caller
/// sees `RateLimited` (4 to 4.6 s when it asks for a second each time).
///
/// An application's own retries, and `billing::outbox`'s, come on top of these: each of their
/// attempts is a whole call. Keep their attempts few and their delays long (seconds to
/// minutes), or lower `max_retries` (to 0: no retries here at all) when the caller retries.
///
/// The transport can be set as object_store's client options set it: a proxy
/// ([`HttpConfig::proxy_url`]), extra root certificates, a user agent, or a whole
/// `reqwest::Client` of the caller's ([`HttpConfig::with_client`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HttpConfig {
    /// Time allowed for one attempt, connection included.
    pub timeout_ms: u64,
    /// Time allowed to establish a connection.
    pub connect_timeout_ms: u64,
    /// Retries after the first attempt, for requests that are safe to retry (see "What the
    /// client retries"): an error reaches the caller after up to this many more attempts.
    pub max_retries: u32,
    /// First backoff delay; it doubles on each retry, with jitter.
    pub retry_base_delay_ms: u64,
    /// Longest single wait, including a server's `Retry-After` or `X-RateLimit-Reset`.
    pub max_retry_delay_ms: u64,
    /// Total time budget for one call, all attempts and waits included: the longest a call
    /// can take before its error reaches the caller.
    pub total_budget_ms: u64,
    /// Most requests in flight at once per backend.
    pub concurrency: usize,
    /// Allow `http://` to a host that is not loopback (credentials would travel in clear).
    pub allow_insecure_http: bool,
    /// A proxy for every request: `http://`, `https://` or `socks5://`, with credentials in the
    /// URL if the proxy needs them (so it is kept secret: never printed, never serialised).
    /// Unset: no proxy (the environment's proxy variables are not read).
    #[serde(skip_serializing)]
    pub proxy_url: Option<SecretString>,
    /// PEM files of root certificates to trust besides the built-in ones (a private CA in
    /// front of a self-hosted vendor). Each file may hold several certificates.
    pub root_certificates: Vec<PathBuf>,
    /// The `User-Agent` header; `billing-rs/<version>` when unset.
    pub user_agent: Option<String>,
    /// PEM root certificates given in code ([`HttpConfig::with_root_certificate_pem`]).
    #[serde(skip)]
    pub root_certificates_pem: Vec<Vec<u8>>,
    /// A client of the caller's, used as it is ([`HttpConfig::with_client`]).
    #[serde(skip)]
    pub client: Option<reqwest::Client>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            timeout_ms: 10_000,
            connect_timeout_ms: 5_000,
            max_retries: 4,
            retry_base_delay_ms: 100,
            max_retry_delay_ms: 20_000,
            total_budget_ms: 60_000,
            concurrency: 16,
            allow_insecure_http: false,
            proxy_url: None,
            root_certificates: Vec::new(),
            user_agent: None,
            root_certificates_pem: Vec::new(),
            client: None,
        }
    }
}

impl HttpConfig {
    /// [`HttpConfig::timeout_ms`] as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// [`HttpConfig::connect_timeout_ms`] as a duration.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// [`HttpConfig::retry_base_delay_ms`] as a duration.
    pub fn retry_base_delay(&self) -> Duration {
        Duration::from_millis(self.retry_base_delay_ms)
    }

    /// [`HttpConfig::max_retry_delay_ms`] as a duration.
    pub fn max_retry_delay(&self) -> Duration {
        Duration::from_millis(self.max_retry_delay_ms)
    }

    /// [`HttpConfig::total_budget_ms`] as a duration.
    pub fn total_budget(&self) -> Duration {
        Duration::from_millis(self.total_budget_ms)
    }

    /// Sets [`HttpConfig::timeout_ms`].
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout_ms = millis(timeout);
        self
    }

    /// Sets [`HttpConfig::connect_timeout_ms`].
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout_ms = millis(timeout);
        self
    }

    /// Sets [`HttpConfig::max_retries`].
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets [`HttpConfig::retry_base_delay_ms`].
    pub fn with_retry_base_delay(mut self, delay: Duration) -> Self {
        self.retry_base_delay_ms = millis(delay);
        self
    }

    /// Sets [`HttpConfig::max_retry_delay_ms`].
    pub fn with_max_retry_delay(mut self, delay: Duration) -> Self {
        self.max_retry_delay_ms = millis(delay);
        self
    }

    /// Sets [`HttpConfig::total_budget_ms`].
    pub fn with_total_budget(mut self, budget: Duration) -> Self {
        self.total_budget_ms = millis(budget);
        self
    }

    /// Sets [`HttpConfig::concurrency`].
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// Sets [`HttpConfig::allow_insecure_http`].
    pub fn with_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// Sends every request through this proxy (see [`HttpConfig::proxy_url`]).
    pub fn with_proxy(mut self, url: SecretString) -> Self {
        self.proxy_url = Some(url);
        self
    }

    /// Trusts the root certificates of this PEM file too.
    pub fn with_root_certificate_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.root_certificates.push(path.into());
        self
    }

    /// Trusts these PEM root certificates too.
    pub fn with_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates_pem.push(pem.into());
        self
    }

    /// Sends this `User-Agent`.
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Uses the caller's own client, as it is: its connection pool, TLS, proxy, redirects and
    /// default headers are the caller's. The per-attempt timeout, retries, budget and
    /// concurrency limit still apply (they are per request), but `concurrency` no longer sizes
    /// the connection pool. The proxy, root certificate and user agent settings are then the
    /// client's own business, and setting them here too is a `Config` error; the connect
    /// timeout (which has a default, so a set one cannot be told from it) is the client's as
    /// well and is ignored.
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Builds the `reqwest::Client` these settings describe (or returns the caller's).
    ///
    /// # Errors
    /// A `Config` error naming the setting: an unusable proxy URL, an unreadable or invalid
    /// certificate file, a user agent that is not a header value, or transport settings next to
    /// a client of the caller's.
    pub fn build_client(&self) -> billing_core::Result<reqwest::Client> {
        use billing_core::Error;
        if let Some(client) = &self.client {
            let conflicting = [
                ("http.proxy_url", self.proxy_url.is_some()),
                ("http.root_certificates", !self.root_certificates.is_empty()),
                (
                    "http.root_certificates",
                    !self.root_certificates_pem.is_empty(),
                ),
                ("http.user_agent", self.user_agent.is_some()),
            ];
            if let Some((setting, _)) = conflicting.iter().find(|(_, set)| *set) {
                return Err(Error::config(
                    setting,
                    "set on the caller's own client instead: with http.client, the client's \
                     transport is used as it is",
                ));
            }
            return Ok(client.clone());
        }
        let user_agent = self
            .user_agent
            .clone()
            .unwrap_or_else(|| concat!("billing-rs/", env!("CARGO_PKG_VERSION")).to_owned());
        let mut builder = reqwest::Client::builder()
            .timeout(self.timeout())
            .connect_timeout(self.connect_timeout())
            .pool_max_idle_per_host(self.concurrency)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        let user_agent = http::HeaderValue::from_str(&user_agent)
            .map_err(|_| Error::config("http.user_agent", "is not a valid header value"))?;
        builder = builder.user_agent(user_agent);
        if let Some(url) = &self.proxy_url {
            // reqwest's message would quote the URL, credentials and all: name the setting only.
            let proxy = reqwest::Proxy::all(url.expose_secret())
                .map_err(|_| Error::config("http.proxy_url", "is not a usable proxy URL"))?;
            builder = builder.proxy(proxy);
        }
        let mut certificates = Vec::new();
        for path in &self.root_certificates {
            let pem = std::fs::read(path).map_err(|e| {
                Error::config(
                    "http.root_certificates",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            certificates.extend(pem_certificates(&pem, &path.display().to_string())?);
        }
        for pem in &self.root_certificates_pem {
            certificates.extend(pem_certificates(pem, "a PEM given in code")?);
        }
        for certificate in certificates {
            builder = builder.add_root_certificate(certificate);
        }
        builder
            .build()
            .map_err(|e| Error::config("http", e.without_url()))
    }

    /// Checks the values.
    ///
    /// # Errors
    /// A `Config` error naming the bad setting.
    pub fn validate(&self) -> billing_core::Result<()> {
        use billing_core::Error;
        if self.timeout_ms == 0 {
            return Err(Error::config("http.timeout_ms", "must be above 0"));
        }
        if self.connect_timeout_ms == 0 {
            return Err(Error::config("http.connect_timeout_ms", "must be above 0"));
        }
        if self.concurrency == 0 {
            return Err(Error::config("http.concurrency", "must be at least 1"));
        }
        if self.total_budget_ms < self.timeout_ms {
            return Err(Error::config(
                "http.total_budget_ms",
                "must be at least http.timeout_ms",
            ));
        }
        Ok(())
    }
}

/// The certificates of a PEM bundle; at least one.
fn pem_certificates(pem: &[u8], what: &str) -> billing_core::Result<Vec<reqwest::Certificate>> {
    let bad = || {
        billing_core::Error::config(
            "http.root_certificates",
            format!("{what} holds no PEM certificate"),
        )
    };
    let certificates = reqwest::Certificate::from_pem_bundle(pem).map_err(|_| bad())?;
    if certificates.is_empty() {
        return Err(bad());
    }
    Ok(certificates)
}

/// A duration in whole milliseconds, saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
