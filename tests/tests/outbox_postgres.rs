//! The outbox's scenarios on a PostgreSQL store, on a server this test starts
//! (`billing_conformance::postgres::TempPostgres`), plus what only a shared database has: a
//! database turned read-only under a running application, and a server that cannot be
//! reached. Reported as ignored where PostgreSQL is not installed (outside CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use billing::ErrorKind;
use billing::outbox::{Destination, Outbox, OutboxConfig, StoreLocation};
use billing_conformance::outbox::scripted::{Scripted, event, subscribed};
use billing_conformance::outbox::{StoreKind, quick};
use billing_conformance::outbox_store_suite;
use billing_conformance::postgres::TempPostgres;

outbox_store_suite!(
    StoreKind::Postgres,
    #[cfg_attr(
        postgres_unavailable,
        ignore = "PostgreSQL is not installed (apt-get install postgresql; CI installs it)"
    )]
);

#[tokio::test]
#[cfg_attr(
    postgres_unavailable,
    ignore = "PostgreSQL is not installed (apt-get install postgresql; CI installs it)"
)]
async fn a_database_turned_read_only_refuses_to_record_with_a_clear_error() {
    let server = TempPostgres::shared().unwrap();
    let url = server.fresh_database("ro").await.unwrap();
    let db = url.rsplit('/').next().unwrap().to_owned();
    let backend = Scripted::new(true, 100, Box::new(|_, _| None));
    let sub = subscribed(backend.as_ref()).await;
    let config = quick(OutboxConfig::new(StoreLocation::parse(&url).unwrap()));
    let outbox = Outbox::open(&config, vec![Destination::new("m", backend.clone())])
        .await
        .unwrap();
    outbox.record(&[event("before", &sub, 1)]).await.unwrap();
    // The operator (or a failover to a standby) makes the database read-only; the outbox's
    // connections are re-established with it.
    server
        .sql(
            "postgres",
            &format!(
                "ALTER DATABASE {db} SET default_transaction_read_only = on; \
                 SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{db}' AND pid <> pg_backend_pid()"
            ),
        )
        .await
        .unwrap();
    let mut error = None;
    for _ in 0..5 {
        // The first call may meet the terminated connection (Unavailable, temporary).
        match outbox.record(&[event("after", &sub, 1)]).await {
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                error = Some(e);
                break;
            }
            Err(e) => assert!(e.is_temporary(), "{e}"),
            Ok(_) => panic!("recorded into a read-only database"),
        }
    }
    let error = error.expect("a PermissionDenied error");
    assert!(
        error.to_string().contains("outbox.read_only"),
        "names the setting: {error}"
    );
    assert_eq!(
        outbox.stats().await.unwrap().pending,
        1,
        "nothing half stored"
    );
}

#[tokio::test]
async fn an_unreachable_server_is_a_clear_error_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://app:s3cret-pg-pw@127.0.0.1:{port}/billing");
    let config = OutboxConfig::new(StoreLocation::parse(&url).unwrap());
    let e = Outbox::open(&config, Vec::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(e.is_temporary());
    for shown in [e.to_string(), format!("{e:?}"), format!("{config:?}")] {
        assert!(!shown.contains("s3cret-pg-pw"), "{shown}");
    }
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}
