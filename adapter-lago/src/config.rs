//! The `[lago]` configuration section.

use billing_core::{Error, Result};
use billing_http::{Endpoint, ExposeSecret, HttpConfig, SecretString};
use serde::{Deserialize, Serialize};

/// Lago Cloud, US region.
pub const CLOUD_US: &str = "https://api.getlago.com/api/v1";
/// Lago Cloud, EU region.
pub const CLOUD_EU: &str = "https://api.eu.getlago.com/api/v1";

/// How to reach Lago.
///
/// ```toml
/// [lago]
/// base_url = "https://api.getlago.com/api/v1"   # or https://api.eu.getlago.com/api/v1,
///                                               # or a self-hosted "<origin>/api/v1"
/// api_key = "..."
/// ```
///
/// The API key is a [`SecretString`]: `Debug` shows `[REDACTED]`, and serialising the
/// configuration leaves it out (the secret policy of every vendor section).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct LagoConfig {
    /// The API base, ending in `/api/v1`.
    pub base_url: String,
    /// The organization's API key, sent as `Authorization: Bearer <key>`.
    #[serde(skip_serializing)]
    pub api_key: SecretString,
}

impl LagoConfig {
    /// A configuration for `base_url` ([`CLOUD_US`], [`CLOUD_EU`], or a self-hosted
    /// `<origin>/api/v1`) with `api_key`.
    pub fn new(base_url: impl Into<String>, api_key: SecretString) -> Self {
        Self {
            base_url: base_url.into(),
            api_key,
        }
    }

    /// Checks the settings and returns the endpoint.
    ///
    /// # Errors
    /// A `Config` error naming `lago.base_url` (not a usable URL, a path not ending in `/api/v1`
    /// (every Lago route lives there), `http://` to a host that is not loopback unless
    /// `http.allow_insecure_http`) or `lago.api_key` (empty, or not sendable in a header).
    pub fn validate(&self, http: &HttpConfig) -> Result<Endpoint> {
        if self.base_url.trim().is_empty() {
            return Err(Error::config("lago.base_url", "is empty"));
        }
        Endpoint::require_suffix("lago.base_url", &self.base_url, "/api/v1", CLOUD_US)?;
        let endpoint = Endpoint::parse(
            "lago.base_url",
            self.base_url.trim(),
            http.allow_insecure_http,
        )?;
        let key = self.api_key.expose_secret();
        if key.trim().is_empty() {
            return Err(Error::config("lago.api_key", "is empty"));
        }
        if key.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Error::config(
                "lago.api_key",
                "contains whitespace or control characters",
            ));
        }
        Ok(endpoint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::ErrorKind;

    fn key(k: &str) -> SecretString {
        SecretString::from(k)
    }

    fn from_toml(s: &str) -> std::result::Result<LagoConfig, toml::de::Error> {
        toml::from_str(s)
    }

    #[test]
    fn parses_and_redacts() {
        let c =
            from_toml("base_url = \"https://api.getlago.com/api/v1\"\napi_key = \"sekrit-123\"")
                .unwrap();
        assert_eq!(c.base_url, CLOUD_US);
        assert_eq!(c.api_key.expose_secret(), "sekrit-123");
        let debug = format!("{c:?}");
        assert!(!debug.contains("sekrit-123"), "{debug}");
        assert!(debug.contains("api.getlago.com"));
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains("sekrit-123"), "{json}");
        assert!(c.validate(&HttpConfig::default()).is_ok());
    }

    #[test]
    fn unknown_and_missing_fields_are_refused() {
        assert!(from_toml("base_url = \"x\"\napi_key = \"k\"\napi_kye = \"k\"").is_err());
        assert!(from_toml("base_url = \"x\"").is_err());
        assert!(from_toml("api_key = \"k\"").is_err());
    }

    #[test]
    fn validation_names_the_setting() {
        let http = HttpConfig::default();
        let cases = [
            (LagoConfig::new("", key("k")), "lago.base_url"),
            (LagoConfig::new("not a url", key("k")), "lago.base_url"),
            (
                LagoConfig::new("http://127.0.0.1:3000", key("k")),
                "lago.base_url",
            ),
            (
                LagoConfig::new("https://api.getlago.com/api", key("k")),
                "lago.base_url",
            ),
            (
                LagoConfig::new("http://lago.example.com/api/v1", key("k")),
                "lago.base_url",
            ),
            (LagoConfig::new(CLOUD_EU, key("  ")), "lago.api_key"),
            (
                LagoConfig::new(CLOUD_EU, key("se cret-key")),
                "lago.api_key",
            ),
        ];
        for (config, setting) in cases {
            let e = config.validate(&http).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(e.message().contains(setting), "{e}");
            assert!(!e.to_string().contains("se cret-key"));
        }
        assert!(
            LagoConfig::new("http://127.0.0.1:3000/api/v1", key("k"))
                .validate(&http)
                .is_ok()
        );
    }
}
