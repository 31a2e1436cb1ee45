//! The `[billabear]` section: TOML, environment variables, errors that name the setting, and
//! redaction.
#![cfg(feature = "billabear")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

use billing::{BillingConfig, ErrorKind, Provider};
use figment::Jail;

const KEY: &str = "bb-test-key-4f1d9c0e7a2b";

fn connect_error(toml: &str) -> String {
    let e = match BillingConfig::from_toml_str(toml) {
        Ok(config) => billing::connect(&config).map(|_| ()).unwrap_err(),
        Err(e) => e,
    };
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    e.message().to_owned()
}

#[test]
fn a_complete_section_connects() {
    let config = BillingConfig::from_toml_str(&format!(
        "provider = \"billabear\"\n[billabear]\nbase_url = \"http://127.0.0.1:9/api/v1\"\n\
         api_key = \"{KEY}\"\nevent_time_tolerance_secs = 120\ndefault_currency = \"USD\"\n\
         default_interval = \"monthly\"\n"
    ))
    .unwrap();
    assert!(billing::is_compiled_in(Provider::Billabear));
    let section = config.billabear.as_ref().unwrap();
    assert_eq!(section.event_time_tolerance_secs, 120);
    let backend = billing::connect(&config).unwrap();
    assert_eq!(backend.info().name, "billabear");
    assert!(!backend.capabilities().usage_backdated);
}

#[test]
fn missing_and_bad_settings_are_named() {
    assert!(connect_error("provider = \"billabear\"").contains("billabear.base_url"));
    assert!(
        connect_error(
            "provider = \"billabear\"\n[billabear]\nbase_url = \"https://x.billabear.cloud/api/v1\"\n"
        )
        .contains("billabear.api_key")
    );
    assert!(
        connect_error(&format!(
            "provider = \"billabear\"\n[billabear]\napi_key = \"{KEY}\"\n"
        ))
        .contains("billabear.base_url")
    );
    let bad_url = connect_error(&format!(
        "provider = \"billabear\"\n[billabear]\nbase_url = \"https://x.billabear.cloud/api\"\napi_key = \"{KEY}\"\n"
    ));
    assert!(bad_url.contains("billabear.base_url"), "{bad_url}");
    let insecure = connect_error(&format!(
        "provider = \"billabear\"\n[billabear]\nbase_url = \"http://billing.example.com/api/v1\"\napi_key = \"{KEY}\"\n"
    ));
    assert!(insecure.contains("billabear.base_url"), "{insecure}");
    let unknown = connect_error(&format!(
        "provider = \"billabear\"\n[billabear]\nbase_url = \"https://x/api/v1\"\napi_key = \"{KEY}\"\napi_secret = \"x\"\n"
    ));
    assert!(unknown.contains("api_secret"), "{unknown}");
    let quarterly = connect_error(&format!(
        "provider = \"billabear\"\n[billabear]\nbase_url = \"https://x/api/v1\"\napi_key = \"{KEY}\"\ndefault_interval = \"quarterly\"\n"
    ));
    assert!(
        quarterly.contains("billabear.default_interval"),
        "{quarterly}"
    );
    for message in [bad_url, insecure, unknown, quarterly] {
        assert!(!message.contains(KEY), "{message}");
    }
}

#[test]
fn environment_variables_configure_billabear() {
    Jail::expect_with(|jail| {
        jail.set_env("BILLING_PROVIDER", "billabear");
        jail.set_env("BILLING_BILLABEAR_BASE_URL", "http://127.0.0.1:9/api/v1");
        jail.set_env("BILLING_BILLABEAR_API_KEY", KEY);
        jail.set_env("BILLING_BILLABEAR_EVENT_TIME_TOLERANCE_SECS", "60");
        let config = BillingConfig::from_env().unwrap();
        assert_eq!(config.provider, Provider::Billabear);
        let section = config.billabear.as_ref().unwrap();
        assert_eq!(section.base_url, "http://127.0.0.1:9/api/v1");
        assert_eq!(section.event_time_tolerance_secs, 60);
        assert!(billing::connect(&config).is_ok());
        Ok(())
    });
    Jail::expect_with(|jail| {
        jail.create_file(
            "billing.toml",
            "provider = \"billabear\"\n[billabear]\nbase_url = \"https://x/api/v1\"\napi_key = \"from-file\"\n",
        )?;
        jail.set_env("BILLING_BILLABEAR_BASE_URL", "http://127.0.0.1:9/api/v1");
        let config = BillingConfig::load("billing.toml").unwrap();
        assert_eq!(
            config.billabear.as_ref().unwrap().base_url,
            "http://127.0.0.1:9/api/v1",
            "the environment wins over the file"
        );
        Ok(())
    });
}

#[test]
fn debug_of_the_config_and_backend_never_shows_the_key() {
    let config = BillingConfig::from_toml_str(&format!(
        "provider = \"billabear\"\n[billabear]\nbase_url = \"http://127.0.0.1:9/api/v1\"\napi_key = \"{KEY}\"\n"
    ))
    .unwrap();
    let debug = format!("{config:?}");
    assert!(
        debug.contains("billabear") && !debug.contains(KEY),
        "{debug}"
    );
    let backend = billing::connect(&config).unwrap();
    let debug = format!("{backend:?}");
    assert!(!debug.contains(KEY), "{debug}");
}
