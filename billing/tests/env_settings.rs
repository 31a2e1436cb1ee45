//! Settings from the environment and the errors about them, as an application meets them on its
//! first day: a setting named once, an application's own `BILLING_*` variables left alone, a
//! provider typo printed plainly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

use billing::{BillingConfig, ErrorKind, Provider};
use figment::Jail;

/// A configuration error's message, checked to be one.
fn config_message(result: billing::Result<BillingConfig>) -> String {
    let e = result.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    e.message().to_owned()
}

/// Backticks quote names; a quote inside a quote (``a `b` c``) reads as noise.
fn assert_plainly_quoted(message: &str) {
    assert!(!message.contains("``"), "{message}");
    assert_eq!(message.matches('`').count() % 2, 0, "{message}");
}

#[test]
fn a_provider_typo_names_the_setting_and_the_choices_without_nested_quotes() {
    Jail::expect_with(|jail| {
        jail.set_env("BILLING_PROVIDER", "lagoo");
        let message = config_message(BillingConfig::from_env());
        assert!(message.starts_with("`provider`"), "{message}");
        assert!(
            message.contains("lagoo") && message.contains("killbill"),
            "{message}"
        );
        assert_plainly_quoted(&message);
        Ok(())
    });
    let message = config_message(BillingConfig::from_toml_str("provider = \"stripe\""));
    assert_plainly_quoted(&message);
    let message = config_message(BillingConfig::from_toml_str(
        "provider = \"memory\"\n[http]\ntimeuot_ms = 5",
    ));
    assert!(message.starts_with("`http.timeuot_ms`"), "{message}");
    assert_plainly_quoted(&message);
}

#[test]
fn an_application_s_own_billing_variables_never_break_start_up() {
    Jail::expect_with(|jail| {
        jail.set_env("BILLING_PROVIDER", "memory");
        jail.set_env("BILLING_LAGO_WEBHOOK_SECRET", "whsec-app-owned");
        jail.set_env(
            "BILLING_KILLBILL_NOTIFICATION_URL",
            "http://app.internal/kb",
        );
        jail.set_env("BILLING_BILLABEAR_WEBHOOK_SECRET", "x");
        jail.set_env("BILLING_HTTP_LOG_BODIES", "true");
        jail.set_env("BILLING_OUTBOX_ALERT_EMAIL", "ops@example.com");
        jail.set_env("BILLING_CUTOVER_NOTE", "x");
        jail.set_env("BILLING_MYAPP_FEATURE", "on");
        jail.set_env("BILLING_HTTP_TIMEOUT_MS", "2500");
        let config = BillingConfig::from_env().unwrap();
        assert_eq!(config.provider, Provider::Memory);
        assert_eq!(
            config.http.timeout_ms, 2500,
            "known settings are still read"
        );
        jail.create_file("billing.toml", "provider = \"memory\"\n")?;
        assert!(BillingConfig::load("billing.toml").is_ok());
        Ok(())
    });
    // The file is the library's: an unknown key there is still an error naming it.
    let message = config_message(BillingConfig::from_toml_str(
        "provider = \"memory\"\n[http]\nlog_bodies = true",
    ));
    assert!(message.contains("http.log_bodies"), "{message}");
}

#[cfg(feature = "lago")]
#[test]
fn a_missing_lago_setting_is_named_once_with_its_variable() {
    Jail::expect_with(|jail| {
        jail.set_env("BILLING_PROVIDER", "lago");
        jail.set_env("BILLING_LAGO_BASE_URL", "http://127.0.0.1:3000/api/v1");
        jail.set_env("BILLING_LAGO_WEBHOOK_SECRET", "app-owned");
        let message = config_message(BillingConfig::from_env());
        assert!(message.starts_with("`lago.api_key`:"), "{message}");
        assert!(!message.contains("api_key.api_key"), "{message}");
        assert!(message.contains("BILLING_LAGO_API_KEY"), "{message}");
        // A variable of the section that names no setting is the likely typo: named too.
        jail.set_env("BILLING_LAGO_API_KYE", "k");
        let message = config_message(BillingConfig::from_env());
        assert!(message.contains("BILLING_LAGO_API_KYE"), "{message}");
        jail.set_env("BILLING_LAGO_API_KEY", "k");
        assert!(BillingConfig::from_env().is_ok());
        Ok(())
    });
    let message = config_message(BillingConfig::from_toml_str(
        "provider = \"lago\"\n[lago]\nbase_url = \"https://api.getlago.com/api/v1\"\n",
    ));
    assert!(message.starts_with("`lago.api_key`:"), "{message}");
    assert!(!message.contains("api_key.api_key"), "{message}");
}

#[cfg(feature = "killbill")]
#[test]
fn a_missing_kill_bill_setting_is_named_once() {
    Jail::expect_with(|jail| {
        jail.set_env("BILLING_PROVIDER", "killbill");
        jail.set_env("BILLING_KILLBILL_BASE_URL", "http://127.0.0.1:8080");
        let message = config_message(BillingConfig::from_env());
        assert!(message.starts_with("`killbill.username`:"), "{message}");
        assert!(!message.contains("username.username"), "{message}");
        Ok(())
    });
}

#[cfg(feature = "billabear")]
#[test]
fn a_missing_billabear_setting_is_named_once() {
    Jail::expect_with(|jail| {
        jail.set_env("BILLING_PROVIDER", "billabear");
        jail.set_env("BILLING_BILLABEAR_API_KEY", "k");
        let message = config_message(BillingConfig::from_env());
        assert!(message.starts_with("`billabear.base_url`:"), "{message}");
        assert!(!message.contains("base_url.base_url"), "{message}");
        Ok(())
    });
}
