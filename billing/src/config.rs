//! `BillingConfig`: which backend to use and how to reach it, from a TOML file and/or
//! environment variables.

use std::path::Path;

use billing_core::{Error, Result};
use billing_http::HttpConfig;

use crate::env_vars::{self, SECTIONS};
use figment::Figment;
use figment::providers::{Format, Toml};
use serde::{Deserialize, Serialize};

/// The environment variable prefix: `BILLING_PROVIDER`, `BILLING_LAGO_API_KEY`, ...
pub const ENV_PREFIX: &str = "BILLING_";

/// Which backend to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Provider {
    /// The in-memory backend with the sample catalog: no server needed.
    Memory,
    /// Lago (feature `lago`).
    Lago,
    /// Kill Bill (feature `killbill`).
    Killbill,
    /// BillaBear (feature `billabear`).
    Billabear,
    /// Two of the others during a vendor switch (`[cutover]`, see [`crate::cutover`]).
    Cutover,
}

impl Provider {
    /// The name used in configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Memory => "memory",
            Provider::Lago => "lago",
            Provider::Killbill => "killbill",
            Provider::Billabear => "billabear",
            Provider::Cutover => "cutover",
        }
    }
}

/// The whole configuration.
///
/// ```toml
/// provider = "lago"
///
/// [lago]
/// base_url = "https://api.getlago.com/api/v1"
/// api_key = "..."
///
/// [http]
/// timeout_ms = 10000
/// ```
///
/// Each setting can also come from the environment: `BILLING_PROVIDER=lago`,
/// `BILLING_LAGO_BASE_URL=...`, `BILLING_HTTP_TIMEOUT_MS=5000`. The environment wins over the
/// file. `Debug` never shows a secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BillingConfig {
    /// The backend.
    pub provider: Provider,
    /// HTTP settings for vendor backends.
    #[serde(default)]
    pub http: HttpConfig,
    /// The `[outbox]` section: durable usage recording ([`crate::outbox::OutboxConfig`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outbox: Option<crate::outbox::OutboxConfig>,
    /// The `[lago]` section (feature `lago`): `base_url` and `api_key`.
    #[cfg(feature = "lago")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lago: Option<adapter_lago::LagoConfig>,
    /// A `[lago]` section in a build without the `lago` feature: accepted and ignored.
    #[cfg(not(feature = "lago"))]
    #[serde(default, rename = "lago", skip_serializing)]
    #[allow(dead_code)] // read only to accept the section
    ignored_lago: Option<serde::de::IgnoredAny>,
    /// The `[killbill]` section (feature `killbill`): `base_url`, `username`, `password`,
    /// `api_key`, `api_secret`, and optionally `created_by`, `reason`, `comment`.
    #[cfg(feature = "killbill")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub killbill: Option<adapter_killbill::KillBillConfig>,
    /// A `[killbill]` section in a build without the `killbill` feature: accepted and ignored.
    #[cfg(not(feature = "killbill"))]
    #[serde(default, rename = "killbill", skip_serializing)]
    #[allow(dead_code)] // read only to accept the section
    ignored_killbill: Option<serde::de::IgnoredAny>,
    /// The `[billabear]` section (feature `billabear`).
    #[cfg(feature = "billabear")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billabear: Option<adapter_billabear::BillaBearConfig>,
    /// Without the `billabear` feature, a `[billabear]` section is accepted and ignored, so one
    /// file serves every build (nothing of it is kept, so nothing of it can be printed).
    #[cfg(not(feature = "billabear"))]
    #[serde(default, rename = "billabear", skip_serializing)]
    #[allow(dead_code)]
    ignored_billabear: Option<serde::de::IgnoredAny>,
    /// The `[cutover]` section: `source`, `target` and `plan`, for `provider = "cutover"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutover: Option<crate::cutover::CutoverConfig>,
}

impl BillingConfig {
    /// The in-memory backend, default HTTP settings.
    ///
    /// Every provider has a typed constructor, so a configuration can be built in code as well
    /// as read from TOML or the environment:
    ///
    /// ```
    /// # #[cfg(feature = "lago")] {
    /// use std::time::Duration;
    /// use billing::lago::{CLOUD_EU, LagoConfig};
    /// use billing::{BillingConfig, HttpConfig, SecretString};
    ///
    /// let config = BillingConfig::lago(LagoConfig::new(CLOUD_EU, SecretString::from("key")))
    ///     .with_http(HttpConfig::default().with_timeout(Duration::from_secs(5)));
    /// let backend = billing::connect(&config)?;
    /// # }
    /// # Ok::<(), billing::Error>(())
    /// ```
    pub fn memory() -> Self {
        Self {
            provider: Provider::Memory,
            http: HttpConfig::default(),
            outbox: None,
            #[cfg(feature = "lago")]
            lago: None,
            #[cfg(not(feature = "lago"))]
            ignored_lago: None,
            #[cfg(feature = "killbill")]
            killbill: None,
            #[cfg(not(feature = "killbill"))]
            ignored_killbill: None,
            #[cfg(feature = "billabear")]
            billabear: None,
            #[cfg(not(feature = "billabear"))]
            ignored_billabear: None,
            cutover: None,
        }
    }

    /// Lago, with its section.
    #[cfg(feature = "lago")]
    pub fn lago(section: adapter_lago::LagoConfig) -> Self {
        Self {
            provider: Provider::Lago,
            lago: Some(section),
            ..Self::memory()
        }
    }

    /// Kill Bill, with its section.
    #[cfg(feature = "killbill")]
    pub fn killbill(section: adapter_killbill::KillBillConfig) -> Self {
        Self {
            provider: Provider::Killbill,
            killbill: Some(section),
            ..Self::memory()
        }
    }

    /// BillaBear, with its section.
    #[cfg(feature = "billabear")]
    pub fn billabear(section: adapter_billabear::BillaBearConfig) -> Self {
        Self {
            provider: Provider::Billabear,
            billabear: Some(section),
            ..Self::memory()
        }
    }

    /// Replaces the HTTP settings.
    pub fn with_http(mut self, http: HttpConfig) -> Self {
        self.http = http;
        self
    }

    /// Reads a TOML file, then applies `BILLING_*` environment variables over it.
    ///
    /// # Errors
    /// A `Config` error naming the file or the setting.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(Error::config(
                &path.display().to_string(),
                "configuration file not found",
            ));
        }
        Self::extract(
            Figment::new()
                .merge(Toml::file(path))
                .merge(env_vars::provider()),
            true,
        )
    }

    /// Reads only a TOML file.
    ///
    /// # Errors
    /// A `Config` error naming the file or the setting.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if !path.is_file() {
            return Err(Error::config(
                &path.display().to_string(),
                "configuration file not found",
            ));
        }
        Self::extract(Figment::new().merge(Toml::file(path)), false)
    }

    /// Parses TOML text.
    ///
    /// # Errors
    /// A `Config` error naming the setting.
    pub fn from_toml_str(toml: &str) -> Result<Self> {
        Self::extract(Figment::new().merge(Toml::string(toml)), false)
    }

    /// Reads only `BILLING_*` environment variables.
    ///
    /// Only variables that name a setting are read (`BILLING_LAGO_API_KEY` is `lago.api_key`).
    /// Others under the prefix, such as an application's own `BILLING_LAGO_WEBHOOK_SECRET` or
    /// `BILLING_TEST_*`, are left alone: they never break start-up (unknown keys in a TOML file,
    /// which the library owns, are still errors).
    ///
    /// # Errors
    /// A `Config` error naming the setting (e.g. `provider` when `BILLING_PROVIDER` is unset);
    /// variables of a section that name none of its settings (a typo such as
    /// `BILLING_LAGO_API_KYE`) are named in the message.
    pub fn from_env() -> Result<Self> {
        Self::extract(Figment::new().merge(env_vars::provider()), true)
    }

    /// Extracts from the merged sources (figment stays out of the public API); `with_env` says
    /// whether they include the environment, whose ignored variables then hint at a missing
    /// setting.
    fn extract(figment: Figment, with_env: bool) -> Result<Self> {
        let figment_error = |e| figment_error(e, with_env);
        let keys: std::collections::BTreeMap<String, figment::value::Value> =
            figment.extract().map_err(figment_error)?;
        if let Some(unknown) = keys.keys().find(|k| !SECTIONS.contains(&k.as_str())) {
            return Err(Error::config(
                unknown,
                format!("unknown setting; expected one of {}", SECTIONS.join(", ")),
            ));
        }
        let config: Self = figment.extract().map_err(figment_error)?;
        config.http.validate()?;
        if let Some(outbox) = &config.outbox {
            outbox.validate()?;
        }
        Ok(config)
    }
}

fn figment_error(e: figment::Error, with_env: bool) -> Error {
    use figment::error::Kind;
    // figment's path ends at the section for a missing field: name the setting in full
    // (`lago.api_key`), once.
    let mut path = e.path.clone();
    if let Kind::MissingField(field) = &e.kind {
        path.push(field.to_string());
    }
    let setting = if path.is_empty() {
        "configuration".to_owned()
    } else {
        path.join(".")
    };
    // figment's "invalid type/value" messages quote the value found, which may be a secret:
    // keep only what was expected. Its own lists are quoted item by item inside a quoted
    // whole, so they are written here plainly.
    let problem = match &e.kind {
        Kind::MissingField(_) => missing(&setting, with_env),
        Kind::InvalidType(_, expected) => format!("invalid type: expected {expected}"),
        Kind::InvalidValue(_, expected) => format!("invalid value: expected {expected}"),
        Kind::UnknownVariant(found, expected) => {
            format!(
                "unknown value {found:?}; expected one of {}",
                expected.join(", ")
            )
        }
        Kind::UnknownField(_, expected) => {
            format!("unknown setting; expected one of {}", expected.join(", "))
        }
        other => other.to_string(),
    };
    Error::config(&setting, problem)
}

/// The problem of a missing setting: where it can come from, and, when the environment was
/// read, the variables of its section that were left alone because they name no setting (a
/// typo such as `BILLING_LAGO_API_KYE`).
fn missing(setting: &str, with_env: bool) -> String {
    let mut problem = format!("missing: set it, or {}", env_name(setting));
    let section = setting.split('.').next().unwrap_or(setting);
    let prefix = format!("{}_", env_name(section));
    let typos: Vec<String> = if with_env {
        env_vars::ignored()
            .into_iter()
            .filter(|v| v.to_ascii_uppercase().starts_with(&prefix))
            .collect()
    } else {
        Vec::new()
    };
    if !typos.is_empty() {
        problem.push_str(&format!(
            " ({} set, but not a setting of [{section}])",
            typos.join(", ")
        ));
    }
    problem
}

/// The environment variable of a setting: `lago.api_key` is `BILLING_LAGO_API_KEY`.
pub(crate) fn env_name(setting: &str) -> String {
    format!("{ENV_PREFIX}{}", setting.replace('.', "_")).to_ascii_uppercase()
}
