//! The `[billabear]` configuration section.

use std::time::Duration;

use billing_core::{BillingInterval, Currency, Error, Result};
use billing_http::SecretString;
use serde::{Deserialize, Serialize};

/// The default [`BillaBearConfig::event_time_tolerance_secs`]: five minutes.
pub const DEFAULT_EVENT_TIME_TOLERANCE_SECS: u64 = 300;

/// The longest tolerance accepted: one day. A larger one would let events land in another
/// billing period without anyone noticing.
pub const MAX_EVENT_TIME_TOLERANCE_SECS: u64 = 86_400;

/// How to reach a BillaBear instance, and the choices BillaBear leaves to the client.
///
/// ```toml
/// [billabear]
/// base_url = "https://acme.billabear.cloud/api/v1"
/// api_key = "..."
/// event_time_tolerance_secs = 300   # optional
/// default_currency = "USD"          # optional
/// default_interval = "monthly"      # optional: weekly, monthly or yearly
/// ```
///
/// The API key is a [`SecretString`]: `Debug` shows `[REDACTED]`, and serialising the
/// configuration leaves it out (the secret policy of every vendor section).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct BillaBearConfig {
    /// The API base, ending in `/api/v1` (cloud: `https://<tenant>.billabear.cloud/api/v1`).
    pub base_url: String,
    /// The API key, sent as `X-API-Key`. Keys are created in BillaBear's admin app.
    #[serde(skip_serializing)]
    pub api_key: SecretString,
    /// BillaBear stamps each event with the time it receives it and ignores client
    /// timestamps. An event whose timestamp is further than this many seconds from now is
    /// rejected (`Unsupported`) instead of being recorded at the wrong time.
    #[serde(default = "default_tolerance")]
    pub event_time_tolerance_secs: u64,
    /// The currency that selects a plan's price when `NewSubscription::currency` is unset.
    /// Without either, a plan whose prices all share one currency uses it.
    #[serde(default)]
    pub default_currency: Option<Currency>,
    /// The billing interval that selects a plan's price when `NewSubscription::interval` is
    /// unset (`weekly`, `monthly` or `yearly`). Without either, a plan whose prices all share
    /// one schedule uses it.
    #[serde(default)]
    pub default_interval: Option<BillingInterval>,
}

fn default_tolerance() -> u64 {
    DEFAULT_EVENT_TIME_TOLERANCE_SECS
}

impl BillaBearConfig {
    /// A configuration with the default tolerance and no default currency or interval.
    pub fn new(base_url: impl Into<String>, api_key: SecretString) -> Self {
        Self {
            base_url: base_url.into(),
            api_key,
            event_time_tolerance_secs: DEFAULT_EVENT_TIME_TOLERANCE_SECS,
            default_currency: None,
            default_interval: None,
        }
    }

    /// Sets the event time tolerance.
    pub fn event_time_tolerance(mut self, tolerance: Duration) -> Self {
        self.event_time_tolerance_secs = tolerance.as_secs();
        self
    }

    /// Sets the default currency.
    pub fn default_currency(mut self, currency: Currency) -> Self {
        self.default_currency = Some(currency);
        self
    }

    /// Sets the default billing interval.
    pub fn default_interval(mut self, interval: BillingInterval) -> Self {
        self.default_interval = Some(interval);
        self
    }

    /// [`BillaBearConfig::event_time_tolerance_secs`] as a duration.
    pub fn tolerance(&self) -> Duration {
        Duration::from_secs(self.event_time_tolerance_secs)
    }

    /// Checks the settings that can be checked without a request.
    ///
    /// # Errors
    /// A `Config` error naming the setting (`billabear.base_url`, ...).
    pub fn validate(&self) -> Result<()> {
        billing_http::Endpoint::require_suffix(
            "billabear.base_url",
            &self.base_url,
            "/api/v1",
            "https://acme.billabear.cloud/api/v1",
        )?;
        if billing_http::ExposeSecret::expose_secret(&self.api_key)
            .trim()
            .is_empty()
        {
            return Err(Error::config("billabear.api_key", "must not be empty"));
        }
        if self.event_time_tolerance_secs == 0
            || self.event_time_tolerance_secs > MAX_EVENT_TIME_TOLERANCE_SECS
        {
            return Err(Error::config(
                "billabear.event_time_tolerance_secs",
                format!("must be between 1 and {MAX_EVENT_TIME_TOLERANCE_SECS}"),
            ));
        }
        if let Some(interval) = self.default_interval
            && crate::convert::schedule_of(interval).is_none()
        {
            return Err(Error::config(
                "billabear.default_interval",
                "BillaBear prices are weekly, monthly or yearly",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing_core::ErrorKind;

    const SECRET: &str = "bb-live-0123456789-very-secret";

    fn parse(toml_text: &str) -> std::result::Result<BillaBearConfig, toml::de::Error> {
        toml::from_str(toml_text)
    }

    #[test]
    fn defaults_and_optional_settings() {
        let c = parse(&format!(
            "base_url = \"https://acme.billabear.cloud/api/v1\"\napi_key = \"{SECRET}\"\n"
        ))
        .unwrap();
        assert_eq!(
            c.event_time_tolerance_secs,
            DEFAULT_EVENT_TIME_TOLERANCE_SECS
        );
        assert!(c.default_currency.is_none() && c.default_interval.is_none());
        assert!(c.validate().is_ok());
        let c = parse(&format!(
            "base_url = \"http://127.0.0.1:1/api/v1/\"\napi_key = \"{SECRET}\"\n\
             event_time_tolerance_secs = 60\ndefault_currency = \"EUR\"\ndefault_interval = \"yearly\"\n"
        ))
        .unwrap();
        assert_eq!(c.tolerance(), Duration::from_secs(60));
        assert_eq!(c.default_currency, Some(Currency::EUR));
        assert_eq!(c.default_interval, Some(BillingInterval::Yearly));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn unknown_and_missing_settings_are_refused() {
        assert!(
            parse("base_url = \"https://h/api/v1\"\napi_key = \"k\"\napi_secret = \"x\"").is_err()
        );
        assert!(parse("base_url = \"https://h/api/v1\"").is_err());
        assert!(parse("api_key = \"k\"").is_err());
        assert!(
            parse("base_url = \"https://h/api/v1\"\napi_key = \"k\"\ndefault_currency = \"usd\"")
                .is_err()
        );
    }

    #[test]
    fn validation_names_the_setting() {
        let ok = BillaBearConfig::new("https://h/api/v1", SecretString::from("k"));
        let cases = [
            (
                BillaBearConfig::new("https://h/api", SecretString::from("k")),
                "billabear.base_url",
            ),
            (
                BillaBearConfig::new("https://h/api/v1", SecretString::from(" ")),
                "billabear.api_key",
            ),
            (
                ok.clone().event_time_tolerance(Duration::ZERO),
                "billabear.event_time_tolerance_secs",
            ),
            (
                ok.clone()
                    .event_time_tolerance(Duration::from_secs(MAX_EVENT_TIME_TOLERANCE_SECS + 1)),
                "billabear.event_time_tolerance_secs",
            ),
            (
                ok.clone().default_interval(BillingInterval::Quarterly),
                "billabear.default_interval",
            ),
        ];
        for (config, setting) in cases {
            let e = config.validate().unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(e.message().contains(setting), "{e}");
        }
        assert!(ok.validate().is_ok());
    }

    #[test]
    fn debug_and_serialize_never_show_the_key() {
        let c = BillaBearConfig::new("https://h/api/v1", SecretString::from(SECRET));
        let debug = format!("{c:?}");
        assert!(!debug.contains(SECRET), "{debug}");
        let json = serde_json::to_string(&c).unwrap();
        assert!(!json.contains(SECRET), "{json}");
        assert!(!json.contains("api_key"), "{json}");
    }
}
