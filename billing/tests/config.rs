//! Configuration: TOML, environment, errors that name the setting, and redaction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

use billing::{BillingConfig, ErrorKind, Provider};
use figment::Jail;

fn config_error(toml: &str) -> String {
    let e = BillingConfig::from_toml_str(toml).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    e.message().to_owned()
}

#[test]
fn memory_from_toml() {
    let c =
        BillingConfig::from_toml_str("provider = \"memory\"\n[http]\ntimeout_ms = 1500\n").unwrap();
    assert_eq!(c.provider, Provider::Memory);
    assert_eq!(c.http.timeout_ms, 1500);
    assert!(billing::connect(&c).is_ok());
}

#[test]
fn errors_name_the_setting() {
    assert!(config_error("").contains("provider"));
    assert!(config_error("provider = \"stripe\"").contains("provider"));
    assert!(config_error("provider = \"memory\"\n[htpp]\nx = 1").contains("htpp"));
    assert!(
        config_error("provider = \"memory\"\n[http]\ntimeout_ms = \"soon\"").contains("timeout_ms")
    );
    assert!(config_error("provider = \"memory\"\n[http]\ntimeout_ms = 0").contains("timeout_ms"));
    assert!(config_error("provider = \"memory\"\n[http]\ntimeuot_ms = 5").contains("timeuot_ms"));
}

#[test]
fn a_vendor_without_its_adapter_or_its_settings_is_a_config_error() {
    for provider in [Provider::Lago, Provider::Killbill, Provider::Billabear] {
        let toml = format!("provider = \"{}\"", provider.as_str());
        let config = BillingConfig::from_toml_str(&toml).unwrap();
        let e = billing::connect(&config).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        // Not compiled in: names `provider`. Compiled in: names the missing `<vendor>.` setting.
        let expected = if billing::is_compiled_in(provider) {
            format!("{}.", provider.as_str())
        } else {
            "provider".to_owned()
        };
        assert!(e.message().contains(&expected), "{e}");
    }
}

#[test]
fn environment_overrides_the_file_and_ignores_other_variables() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "billing.toml",
            "provider = \"lago\"\n[http]\ntimeout_ms = 1000\n",
        )?;
        jail.set_env("BILLING_PROVIDER", "memory");
        jail.set_env("BILLING_HTTP_TIMEOUT_MS", "2500");
        jail.set_env("BILLING_TEST_KILLBILL_URL", "http://127.0.0.1:1");
        let c = BillingConfig::load("billing.toml").unwrap();
        assert_eq!(c.provider, Provider::Memory);
        assert_eq!(c.http.timeout_ms, 2500);
        let env_only = BillingConfig::from_env().unwrap();
        assert_eq!(env_only.provider, Provider::Memory);
        Ok(())
    });
}

#[test]
fn a_missing_file_is_named() {
    let e = BillingConfig::load("/nonexistent/billing.toml").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(e.message().contains("/nonexistent/billing.toml"));
}

#[test]
fn a_lago_section_is_accepted_with_or_without_the_feature_and_never_printed() {
    let c = BillingConfig::from_toml_str(
        "provider = \"memory\"\n[lago]\nbase_url = \"https://api.getlago.com/api/v1\"\napi_key = \"do-not-print-me\"\n",
    )
    .unwrap();
    assert_eq!(c.provider, Provider::Memory);
    assert!(!format!("{c:?}").contains("do-not-print-me"));
    assert!(billing::connect(&c).is_ok());
}

#[test]
fn a_billabear_section_is_accepted_in_every_build() {
    let c = BillingConfig::from_toml_str(
        "provider = \"memory\"\n[billabear]\nbase_url = \"https://x.billabear.cloud/api/v1\"\napi_key = \"secret-in-file\"\n",
    )
    .unwrap();
    assert_eq!(c.provider, Provider::Memory);
    assert!(billing::connect(&c).is_ok());
    assert!(!format!("{c:?}").contains("secret-in-file"));
}
