//! Credentials injected into every request, never printed.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderName, HeaderValue};
use reqwest::RequestBuilder;
use secrecy::{ExposeSecret, SecretString};

/// How a backend authenticates: HTTP basic auth and/or secret headers.
///
/// `Debug` shows which headers are set, never their values.
#[derive(Clone, Default)]
pub struct Credentials {
    basic: Option<(String, SecretString)>,
    headers: Vec<(HeaderName, SecretString)>,
}

impl Credentials {
    /// No credentials.
    pub fn none() -> Self {
        Self::default()
    }

    /// `Authorization: Bearer <token>` (Lago).
    pub fn bearer(token: SecretString) -> Self {
        let value = SecretString::from(format!("Bearer {}", token.expose_secret()));
        Self::none().with_header(http::header::AUTHORIZATION, value)
    }

    /// HTTP basic auth (Kill Bill).
    pub fn basic(username: impl Into<String>, password: SecretString) -> Self {
        Self {
            basic: Some((username.into(), password)),
            headers: Vec::new(),
        }
    }

    /// Adds a secret header (`X-API-Key`, `X-Killbill-ApiSecret`, ...).
    pub fn with_header(mut self, name: HeaderName, value: SecretString) -> Self {
        self.headers.push((name, value));
        self
    }

    /// The headers these credentials add to every request, built once by
    /// [`HttpClient::new`](crate::HttpClient::new) rather than per request: basic auth as
    /// `Authorization: Basic base64(user:password)`, then the secret headers. Every value is
    /// marked sensitive, so `Debug` and HTTP/2 header compression leave it out.
    ///
    /// # Errors
    /// A `Config` error naming the header whose value cannot be sent.
    pub(crate) fn headers(&self) -> billing_core::Result<Prepared> {
        let mut out = Vec::with_capacity(self.headers.len() + 1);
        if let Some((user, password)) = &self.basic {
            let token = STANDARD.encode(format!("{user}:{}", password.expose_secret()));
            out.push((
                http::header::AUTHORIZATION,
                sensitive("authorization", &format!("Basic {token}"))?,
            ));
        }
        for (name, value) in &self.headers {
            out.push((
                name.clone(),
                sensitive(name.as_str(), value.expose_secret())?,
            ));
        }
        Ok(Prepared(out))
    }

    /// Checks that every secret can be sent as a header value.
    ///
    /// # Errors
    /// A `Config` error naming the header (not the value).
    pub fn validate(&self) -> billing_core::Result<()> {
        self.headers().map(|_| ())
    }
}

/// Credential headers ready to send. `Debug` shows the names only.
#[derive(Clone)]
pub(crate) struct Prepared(Vec<(HeaderName, HeaderValue)>);

impl Prepared {
    /// Adds the headers to a request.
    pub(crate) fn apply(&self, mut request: RequestBuilder) -> RequestBuilder {
        for (name, value) in &self.0 {
            request = request.header(name.clone(), value.clone());
        }
        request
    }
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(n, _)| n.as_str()))
            .finish()
    }
}

fn sensitive(name: &str, value: &str) -> billing_core::Result<HeaderValue> {
    let mut v = HeaderValue::from_str(value).map_err(|_| {
        billing_core::Error::config(
            name,
            "contains characters that cannot be sent in an HTTP header",
        )
    })?;
    v.set_sensitive(true);
    Ok(v)
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Credentials")
            .field("basic_user", &self.basic.as_ref().map(|(u, _)| u))
            .field("secret_headers", &headers)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credentials::basic("admin", SecretString::from("pa55word")).with_header(
            HeaderName::from_static("x-killbill-apisecret"),
            SecretString::from("lazar-secret"),
        );
        let b = Credentials::bearer(SecretString::from("tok-123"));
        let s = format!("{c:?} {b:?}");
        assert!(!s.contains("pa55word") && !s.contains("lazar-secret") && !s.contains("tok-123"));
        assert!(s.contains("admin") && s.contains("x-killbill-apisecret"));
        let prepared = format!("{:?}", c.headers().unwrap());
        assert!(!prepared.contains("pa55word") && !prepared.contains("lazar-secret"));
    }

    /// The same header reqwest's `basic_auth` would send, computed once.
    #[test]
    fn prepared_headers_match_reqwest() {
        let c = Credentials::basic("admin", SecretString::from("pa55word")).with_header(
            HeaderName::from_static("x-killbill-apikey"),
            SecretString::from("bob"),
        );
        let client = reqwest::Client::new();
        let ours = c
            .headers()
            .unwrap()
            .apply(client.get("http://127.0.0.1/"))
            .build()
            .unwrap();
        let theirs = client
            .get("http://127.0.0.1/")
            .basic_auth("admin", Some("pa55word"))
            .header("x-killbill-apikey", "bob")
            .build()
            .unwrap();
        assert_eq!(ours.headers(), theirs.headers());
        assert!(ours.headers().values().all(HeaderValue::is_sensitive));
    }

    #[test]
    fn unsendable_secrets_are_config_errors() {
        let c = Credentials::none().with_header(
            HeaderName::from_static("x-api-key"),
            SecretString::from("bad\nvalue"),
        );
        let e = c.headers().unwrap_err();
        assert_eq!(e.kind(), billing_core::ErrorKind::Config);
        assert!(!e.to_string().contains("bad"));
    }
}
