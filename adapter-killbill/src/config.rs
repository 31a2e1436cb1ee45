//! `KillBillConfig`: the `[killbill]` section of the billing configuration.

use billing_core::{Error, Result};
use billing_http::HeaderValue;
use billing_http::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// The `created_by` used when the configuration names none.
pub const DEFAULT_CREATED_BY: &str = "billing-rs";

/// Longest `X-Killbill-CreatedBy` Kill Bill stores (`created_by varchar(50)`).
const MAX_CREATED_BY_CHARS: usize = 50;
/// Longest `X-Killbill-Reason` / `X-Killbill-Comment` Kill Bill stores (audit log columns).
const MAX_AUDIT_CHARS: usize = 255;

/// How to reach a Kill Bill server (0.24.x) and one of its tenants.
///
/// ```toml
/// [killbill]
/// base_url = "http://127.0.0.1:8080"   # the server root, without /1.0/kb
/// username = "admin"
/// password = "password"
/// api_key = "bob"
/// api_secret = "lazar"
/// created_by = "billing-rs"            # optional, X-Killbill-CreatedBy on every write
/// reason = "sync"                      # optional, X-Killbill-Reason
/// comment = "from the billing library" # optional, X-Killbill-Comment
/// ```
///
/// Every setting can come from the environment: `BILLING_KILLBILL_BASE_URL`,
/// `BILLING_KILLBILL_API_SECRET`, ... The password and the API secret are [`SecretString`]s:
/// `Debug` shows `[REDACTED]`, and serialising the configuration leaves them out (the secret
/// policy of every vendor section). The tenant's API key names the tenant, as a user name names
/// a user; it is not a secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KillBillConfig {
    /// The server root, such as `https://billing.example.com` (the adapter adds `/1.0/kb`).
    pub base_url: String,
    /// Basic-auth user.
    pub username: String,
    /// Basic-auth password.
    #[serde(skip_serializing)]
    pub password: SecretString,
    /// The tenant's API key (`X-Killbill-ApiKey`).
    pub api_key: String,
    /// The tenant's API secret (`X-Killbill-ApiSecret`).
    #[serde(skip_serializing)]
    pub api_secret: SecretString,
    /// Who the audit log names as the author of every write (`X-Killbill-CreatedBy`).
    #[serde(default = "default_created_by")]
    pub created_by: String,
    /// Optional `X-Killbill-Reason` sent with every write.
    #[serde(default)]
    pub reason: Option<String>,
    /// Optional `X-Killbill-Comment` sent with every write.
    #[serde(default)]
    pub comment: Option<String>,
}

fn default_created_by() -> String {
    DEFAULT_CREATED_BY.to_owned()
}

impl KillBillConfig {
    /// A configuration with the default `created_by` and no reason or comment.
    pub fn new(
        base_url: impl Into<String>,
        username: impl Into<String>,
        password: SecretString,
        api_key: impl Into<String>,
        api_secret: SecretString,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            username: username.into(),
            password,
            api_key: api_key.into(),
            api_secret,
            created_by: default_created_by(),
            reason: None,
            comment: None,
        }
    }

    /// Sets `created_by`.
    pub fn created_by(mut self, created_by: impl Into<String>) -> Self {
        self.created_by = created_by.into();
        self
    }

    /// Sets the audit reason.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Sets the audit comment.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Checks every setting except `base_url` (checked when the backend is built).
    ///
    /// # Errors
    /// A `Config` error naming the setting, never quoting a secret.
    pub fn validate(&self) -> Result<()> {
        if self.username.is_empty() || self.username.contains(':') {
            return Err(Error::config(
                "killbill.username",
                "must be non-empty and must not contain `:`",
            ));
        }
        let secrets = [
            ("killbill.password", &self.password),
            ("killbill.api_secret", &self.api_secret),
        ];
        for (setting, secret) in secrets {
            if secret.expose_secret().is_empty() {
                return Err(Error::config(setting, "must not be empty"));
            }
            if HeaderValue::from_str(secret.expose_secret()).is_err() {
                return Err(Error::config(
                    setting,
                    "contains characters that cannot be sent in an HTTP header",
                ));
            }
        }
        header_value("killbill.api_key", &self.api_key, usize::MAX)?;
        header_value(
            "killbill.created_by",
            &self.created_by,
            MAX_CREATED_BY_CHARS,
        )?;
        if let Some(reason) = &self.reason {
            header_value("killbill.reason", reason, MAX_AUDIT_CHARS)?;
        }
        if let Some(comment) = &self.comment {
            header_value("killbill.comment", comment, MAX_AUDIT_CHARS)?;
        }
        Ok(())
    }
}

/// Checks a non-secret setting sent as a header.
fn header_value(setting: &str, value: &str, max_chars: usize) -> Result<HeaderValue> {
    if value.trim().is_empty() {
        return Err(Error::config(setting, "must not be empty"));
    }
    if value.chars().count() > max_chars {
        return Err(Error::config(
            setting,
            format!("is longer than the {max_chars} characters Kill Bill stores"),
        ));
    }
    let printable = value.chars().all(|c| c == ' ' || c.is_ascii_graphic());
    HeaderValue::from_str(value)
        .ok()
        .filter(|_| printable)
        .ok_or_else(|| {
            Error::config(
                setting,
                "must be printable ASCII (it is sent as an HTTP header)",
            )
        })
}

/// The audit headers of every write, checked.
pub(crate) fn audit_headers(config: &KillBillConfig) -> Result<Vec<(&'static str, HeaderValue)>> {
    let mut headers = vec![(
        "x-killbill-createdby",
        header_value(
            "killbill.created_by",
            &config.created_by,
            MAX_CREATED_BY_CHARS,
        )?,
    )];
    if let Some(reason) = &config.reason {
        headers.push((
            "x-killbill-reason",
            header_value("killbill.reason", reason, MAX_AUDIT_CHARS)?,
        ));
    }
    if let Some(comment) = &config.comment {
        headers.push((
            "x-killbill-comment",
            header_value("killbill.comment", comment, MAX_AUDIT_CHARS)?,
        ));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::ErrorKind;

    fn parse(toml_text: &str) -> std::result::Result<KillBillConfig, toml::de::Error> {
        toml::from_str(toml_text)
    }

    const FULL: &str = r#"
        base_url = "http://127.0.0.1:8080"
        username = "admin"
        password = "pa55-word"
        api_key = "bob"
        api_secret = "lazar-secret"
    "#;

    #[test]
    fn defaults_and_round_trip() {
        let c = parse(FULL).unwrap();
        assert_eq!(c.created_by, DEFAULT_CREATED_BY);
        assert!(c.reason.is_none() && c.comment.is_none());
        assert_eq!(c.password.expose_secret(), "pa55-word");
        c.validate().unwrap();
        let serialised = toml::to_string(&c).unwrap();
        assert!(!serialised.contains("pa55-word") && !serialised.contains("lazar-secret"));
        assert!(serialised.contains("bob"));
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = parse(FULL).unwrap().reason("sync").comment("nightly");
        let debug = format!("{c:?}");
        assert!(!debug.contains("pa55-word"), "{debug}");
        assert!(!debug.contains("lazar-secret"), "{debug}");
        assert!(debug.contains("admin") && debug.contains("sync") && debug.contains("REDACTED"));
    }

    #[test]
    fn unknown_and_missing_fields_are_refused() {
        assert!(parse(&format!("{FULL}\napi_secert = \"x\"")).is_err());
        assert!(parse("base_url = \"http://127.0.0.1:8080\"").is_err());
    }

    #[test]
    fn validation_names_the_setting_and_never_the_secret() {
        let base = parse(FULL).unwrap();
        let cases = [
            (base.clone().created_by(""), "killbill.created_by"),
            (
                base.clone().created_by("x".repeat(51)),
                "killbill.created_by",
            ),
            (base.clone().created_by("caf\u{e9}"), "killbill.created_by"),
            (base.clone().reason("line\nbreak"), "killbill.reason"),
            (base.clone().comment("y".repeat(256)), "killbill.comment"),
        ];
        for (config, setting) in cases {
            let e = config.validate().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(e.message().contains(setting), "{e}");
        }
        let mut bad_secret = base.clone();
        bad_secret.api_secret = SecretString::from("sec\nret");
        let e = bad_secret.validate().unwrap_err();
        assert!(e.message().contains("killbill.api_secret") && !e.message().contains("sec\nret"));
        let mut bad_user = base;
        bad_user.username = "a:b".into();
        assert!(bad_user.validate().is_err());
    }

    #[test]
    fn audit_headers_follow_the_config() {
        let c = parse(FULL).unwrap();
        let names: Vec<&str> = audit_headers(&c).unwrap().iter().map(|h| h.0).collect();
        assert_eq!(names, ["x-killbill-createdby"]);
        let c = c.reason("r").comment("c");
        let headers = audit_headers(&c).unwrap();
        assert_eq!(headers.len(), 3);
        assert_eq!(headers[0].1, "billing-rs");
    }
}
