//! The `[lago]` section: TOML, environment variables, errors naming the setting, redaction.
#![cfg(feature = "lago")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

use billing::{BillingConfig, ErrorKind, Provider};
use figment::Jail;

const SECRET: &str = "lago-secret-key-0123";

fn lago_toml(base_url: &str) -> String {
    format!("provider = \"lago\"\n[lago]\nbase_url = \"{base_url}\"\napi_key = \"{SECRET}\"\n")
}

#[test]
fn connects_from_toml_and_redacts_the_key() {
    let c = BillingConfig::from_toml_str(&lago_toml("http://127.0.0.1:3000/api/v1")).unwrap();
    assert_eq!(c.provider, Provider::Lago);
    let debug = format!("{c:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(debug.contains("127.0.0.1:3000"), "{debug}");
    let backend = billing::connect(&c).unwrap();
    assert_eq!(backend.info().name, "lago");
    let debug = format!("{backend:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(billing::is_compiled_in(Provider::Lago));
}

#[test]
fn missing_settings_are_named() {
    let e = billing::connect(&BillingConfig::from_toml_str("provider = \"lago\"").unwrap())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(
        e.message().contains("lago.base_url") && e.message().contains("lago.api_key"),
        "{e}"
    );

    for (toml, setting) in [
        (
            "provider = \"lago\"\n[lago]\nbase_url = \"https://api.getlago.com/api/v1\"",
            "lago.api_key",
        ),
        (
            "provider = \"lago\"\n[lago]\napi_key = \"k\"",
            "lago.base_url",
        ),
        (
            "provider = \"lago\"\n[lago]\nbase_url = \"x\"\napi_key = \"k\"\nregion = \"eu\"",
            "region",
        ),
    ] {
        let e = BillingConfig::from_toml_str(toml).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains(setting), "{setting}: {e}");
    }
    for (base_url, setting) in [
        ("not a url", "lago.base_url"),
        ("http://lago.example.com/api/v1", "lago.base_url"),
    ] {
        let c = BillingConfig::from_toml_str(&lago_toml(base_url)).unwrap();
        let e = billing::connect(&c).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains(setting), "{e}");
        assert!(!e.to_string().contains(SECRET));
    }
}

#[test]
fn environment_variables_fill_the_section() {
    Jail::expect_with(|jail| {
        jail.set_env("BILLING_PROVIDER", "lago");
        jail.set_env("BILLING_LAGO_BASE_URL", "https://api.eu.getlago.com/api/v1");
        jail.set_env("BILLING_LAGO_API_KEY", SECRET);
        let c = BillingConfig::from_env().unwrap();
        assert_eq!(c.provider, Provider::Lago);
        let lago = c.lago.as_ref().unwrap();
        assert_eq!(lago.base_url, adapter_lago_eu());
        assert!(!format!("{c:?}").contains(SECRET));
        assert!(billing::connect(&c).is_ok());
        Ok(())
    });
}

#[test]
fn environment_overrides_the_file() {
    Jail::expect_with(|jail| {
        jail.create_file("billing.toml", &lago_toml("https://api.getlago.com/api/v1"))?;
        jail.set_env("BILLING_LAGO_BASE_URL", "http://localhost:3000/api/v1");
        let c = BillingConfig::load("billing.toml").unwrap();
        assert_eq!(c.lago.unwrap().base_url, "http://localhost:3000/api/v1");
        Ok(())
    });
}

fn adapter_lago_eu() -> &'static str {
    "https://api.eu.getlago.com/api/v1"
}
