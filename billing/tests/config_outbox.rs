//! The `[outbox]` section: from TOML and `BILLING_OUTBOX_*`, errors that name the setting, and
//! a PostgreSQL password never shown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::result_large_err)]

use billing::outbox::{OutboxConfig, StoreLocation};
use billing::{BillingConfig, ErrorKind};
use figment::Jail;

fn config_error(toml: &str) -> billing::Error {
    let e = BillingConfig::from_toml_str(toml).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");
    e
}

#[test]
fn from_toml_with_defaults() {
    let c = BillingConfig::from_toml_str(
        "provider = \"memory\"\n[outbox]\nstore = \"/var/lib/app/outbox.db\"\nconcurrency = 8\n\
         retry_max_attempts = 20\n",
    )
    .unwrap();
    let o = c.outbox.unwrap();
    assert_eq!(
        o.store,
        StoreLocation::Sqlite("/var/lib/app/outbox.db".into())
    );
    assert_eq!(o.concurrency, 8);
    assert_eq!(o.retry_max_attempts, Some(20));
    let defaults = OutboxConfig::sqlite("x");
    assert_eq!(o.retry_base_delay_ms, defaults.retry_base_delay_ms);
    assert_eq!(o.lease_ms, defaults.lease_ms);
    assert!(
        BillingConfig::from_toml_str("provider = \"memory\"")
            .unwrap()
            .outbox
            .is_none()
    );
}

#[test]
fn from_the_environment() {
    Jail::expect_with(|jail| {
        jail.set_env("BILLING_PROVIDER", "memory");
        jail.set_env("BILLING_OUTBOX_STORE", "sqlite:/tmp/o.db");
        jail.set_env("BILLING_OUTBOX_RETRY_MAX_DELAY_MS", "60000");
        jail.set_env("BILLING_OUTBOX_BATCH_MAX", "50");
        let c = BillingConfig::from_env().unwrap();
        let o = c.outbox.unwrap();
        assert_eq!(o.store, StoreLocation::Sqlite("/tmp/o.db".into()));
        assert_eq!(o.retry_max_delay_ms, 60_000);
        assert_eq!(o.batch_max, Some(50));
        Ok(())
    });
}

#[test]
fn errors_name_the_setting() {
    let cases = [
        ("[outbox]\nconcurrency = 2", "outbox.store"),
        ("[outbox]\nstore = \"\"", "outbox.store"),
        ("[outbox]\nstore = \"mysql://h/db\"", "outbox.store"),
        (
            "[outbox]\nstore = \"o.db\"\nconcurrency = 0",
            "outbox.concurrency",
        ),
        (
            "[outbox]\nstore = \"o.db\"\nbatch_max = 0",
            "outbox.batch_max",
        ),
        (
            "[outbox]\nstore = \"o.db\"\nlease_ms = 1000\nsend_timeout_ms = 2000",
            "outbox.lease_ms",
        ),
        (
            "[outbox]\nstore = \"o.db\"\nretry_base_delay_ms = 500\nretry_max_delay_ms = 100",
            "outbox.retry_max_delay_ms",
        ),
        (
            "[outbox]\nstore = \"o.db\"\nretry_max_attempts = 0",
            "outbox.retry_max_attempts",
        ),
        (
            "[outbox]\nstore = \"postgres://u@h/db\"\nmax_bytes = 1000000",
            "outbox.max_bytes",
        ),
        ("[outbox]\nstore = \"o.db\"\nconcurency = 2", "concurency"),
        ("[outbox]\nstore = \"o.db\"\npoll_ms = \"soon\"", "poll_ms"),
    ];
    for (section, setting) in cases {
        let e = config_error(&format!("provider = \"memory\"\n{section}\n"));
        assert!(e.message().contains(setting), "{section}: {e}");
    }
}

#[test]
fn a_postgres_password_is_never_shown() {
    let toml = "provider = \"memory\"\n[outbox]\nstore = \"postgres://app:pg-s3cret-77@db.internal:5432/billing\"\n";
    let c = BillingConfig::from_toml_str(toml).unwrap();
    let o = c.outbox.clone().unwrap();
    for shown in [
        format!("{c:?}"),
        format!("{o:?}"),
        o.store.to_string(),
        toml::to_string(&c).unwrap(),
    ] {
        assert!(!shown.contains("pg-s3cret-77"), "{shown}");
        assert!(shown.contains("db.internal"), "{shown}");
    }
    let e = config_error(
        "provider = \"memory\"\n[outbox]\nstore = \"postgres://app:pg-s3cret-77@[::1/billing\"\n",
    );
    assert!(!e.to_string().contains("pg-s3cret-77"), "{e}");
    assert!(!format!("{e:?}").contains("pg-s3cret-77"), "{e:?}");
}
