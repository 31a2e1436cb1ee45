//! The `[killbill]` section: TOML, environment variables, errors naming `killbill.<setting>`,
//! and secrets kept out of `Debug` and errors.
#![cfg(feature = "killbill")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

use billing::{BillingConfig, ErrorKind, Provider};
use figment::Jail;

const SECTION: &str = r#"
provider = "killbill"

[killbill]
base_url = "http://127.0.0.1:8080"
username = "admin"
password = "pa55-w0rd-xyz"
api_key = "bob"
api_secret = "lazar-s3cret-xyz"
"#;

fn connect_error(toml: &str) -> billing::Error {
    let config = BillingConfig::from_toml_str(toml);
    let e = match config {
        Ok(c) => billing::connect(&c).map(|_| ()).unwrap_err(),
        Err(e) => e,
    };
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    e
}

#[test]
fn connects_from_toml_and_debug_hides_the_secrets() {
    let config = BillingConfig::from_toml_str(SECTION).unwrap();
    assert_eq!(config.provider, Provider::Killbill);
    let section = config.killbill.as_ref().unwrap();
    assert_eq!(section.created_by, "billing-rs");
    let debug = format!("{config:?}");
    assert!(debug.contains("bob") && debug.contains("admin"), "{debug}");
    assert!(!debug.contains("pa55-w0rd-xyz"), "{debug}");
    assert!(!debug.contains("lazar-s3cret-xyz"), "{debug}");
    let backend = billing::connect(&config).unwrap();
    assert_eq!(backend.info().name, "killbill");
    assert!(!format!("{backend:?}").contains("lazar-s3cret-xyz"));
    assert!(billing::is_compiled_in(Provider::Killbill));
}

#[test]
fn missing_or_bad_settings_are_named() {
    let e = connect_error("provider = \"killbill\"");
    assert!(e.message().contains("killbill.base_url"), "{e}");
    let without_secret = SECTION.replace("api_secret = \"lazar-s3cret-xyz\"\n", "");
    let e = connect_error(&without_secret);
    assert!(e.message().contains("killbill.api_secret"), "{e}");
    let e = connect_error(&SECTION.replace(":8080\"", ":8080/1.0/kb\""));
    assert!(e.message().contains("killbill.base_url"), "{e}");
    let e = connect_error(&SECTION.replace("127.0.0.1", "billing.example.com"));
    assert!(e.message().contains("killbill.base_url"), "{e}");
    let e = connect_error(&format!("{SECTION}created_by = \"\"\n"));
    assert!(e.message().contains("killbill.created_by"), "{e}");
    let e = connect_error(&format!("{SECTION}api_secert = \"x\"\n"));
    assert!(e.message().contains("killbill"), "{e}");
    // A secret of the wrong type is reported without its value.
    let e = connect_error(&SECTION.replace("\"lazar-s3cret-xyz\"", "123456789"));
    assert!(e.message().contains("killbill.api_secret"), "{e}");
    assert!(!e.message().contains("123456789"), "{e}");
}

#[test]
fn environment_variables_fill_the_section() {
    Jail::expect_with(|jail| {
        jail.set_env("BILLING_PROVIDER", "killbill");
        jail.set_env("BILLING_KILLBILL_BASE_URL", "http://127.0.0.1:8080");
        jail.set_env("BILLING_KILLBILL_USERNAME", "admin");
        jail.set_env("BILLING_KILLBILL_PASSWORD", "pa55-w0rd-xyz");
        jail.set_env("BILLING_KILLBILL_API_KEY", "bob");
        jail.set_env("BILLING_KILLBILL_API_SECRET", "lazar-s3cret-xyz");
        jail.set_env("BILLING_KILLBILL_CREATED_BY", "nightly-sync");
        jail.set_env("BILLING_KILLBILL_REASON", "migration");
        jail.set_env("BILLING_TEST_KILLBILL_URL", "http://127.0.0.1:1");
        let config = BillingConfig::from_env().unwrap();
        let section = config.killbill.as_ref().unwrap();
        assert_eq!(section.base_url, "http://127.0.0.1:8080");
        assert_eq!(section.created_by, "nightly-sync");
        assert_eq!(section.reason.as_deref(), Some("migration"));
        assert!(section.comment.is_none());
        let debug = format!("{config:?}");
        assert!(!debug.contains("pa55-w0rd-xyz") && !debug.contains("lazar-s3cret-xyz"));
        assert!(billing::connect(&config).is_ok());

        jail.create_file("billing.toml", "provider = \"memory\"\n")?;
        let merged = BillingConfig::load("billing.toml").unwrap();
        assert_eq!(merged.provider, Provider::Killbill, "the environment wins");
        Ok(())
    });
}

#[test]
fn a_partial_environment_names_the_missing_setting() {
    Jail::expect_with(|jail| {
        jail.set_env("BILLING_PROVIDER", "killbill");
        jail.set_env("BILLING_KILLBILL_BASE_URL", "http://127.0.0.1:8080");
        let e = BillingConfig::from_env().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.message().contains("killbill.username"), "{e}");
        Ok(())
    });
}
