//! Credentials injected into every request, never printed.

use std::fmt;

use http::HeaderName;
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

    pub(crate) fn apply(&self, mut request: RequestBuilder) -> RequestBuilder {
        if let Some((user, password)) = &self.basic {
            request = request.basic_auth(user, Some(password.expose_secret()));
        }
        for (name, value) in &self.headers {
            if let Ok(mut v) = http::HeaderValue::from_str(value.expose_secret()) {
                v.set_sensitive(true);
                request = request.header(name, v);
            }
        }
        request
    }

    /// Checks that every secret can be sent as a header value.
    ///
    /// # Errors
    /// A `Config` error naming the header (not the value).
    pub fn validate(&self) -> billing_core::Result<()> {
        for (name, value) in &self.headers {
            if http::HeaderValue::from_str(value.expose_secret()).is_err() {
                return Err(billing_core::Error::config(
                    name.as_str(),
                    "contains characters that cannot be sent in an HTTP header",
                ));
            }
        }
        Ok(())
    }
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
    }
}
