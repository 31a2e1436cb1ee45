//! The outbox's scenarios, run against each store (`tests/tests/outbox_sqlite.rs`,
//! `outbox_postgres.rs`), a scripted backend for them, and the stores under test.

pub mod scenarios;
pub mod scripted;
pub mod worker;

use billing::outbox::OutboxConfig;
use futures::future::BoxFuture;

use crate::postgres::TempPostgres;

/// Which store a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A fresh database on this process's [`TempPostgres`].
    Postgres,
}

/// A fresh, empty store and the configuration that names it, with timings short enough for
/// tests (20 ms polls, 5-40 ms backoff, 400 ms leases).
#[derive(Debug)]
pub struct TestStore {
    /// The configuration.
    pub config: OutboxConfig,
    _dir: Option<tempfile::TempDir>,
}

impl StoreKind {
    /// A fresh store.
    ///
    /// # Panics
    /// If it cannot be made (PostgreSQL missing: such tests are `ignore`d where it is absent).
    pub async fn fresh(self) -> TestStore {
        let (config, dir) = match self {
            StoreKind::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                (
                    OutboxConfig::sqlite(dir.path().join("outbox.db")),
                    Some(dir),
                )
            }
            StoreKind::Postgres => {
                let server = TempPostgres::shared().unwrap_or_else(|e| panic!("{e}"));
                let url = server
                    .fresh_database("outbox")
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let store = billing::outbox::StoreLocation::parse(&url).expect("a URL");
                (OutboxConfig::new(store), None)
            }
        };
        TestStore {
            config: quick(config),
            _dir: dir,
        }
    }
}

/// `config` with timings short enough for tests.
pub fn quick(mut config: OutboxConfig) -> OutboxConfig {
    config.poll_ms = 20;
    config.retry_base_delay_ms = 5;
    config.retry_max_delay_ms = 40;
    config.lease_ms = 400;
    config.send_timeout_ms = 300;
    config.stats_interval_ms = 0;
    config
}

/// A scenario over a store kind.
pub type Scenario = fn(StoreKind) -> BoxFuture<'static, ()>;

/// Every store scenario as a test case, run on `$kind`; extra attributes (such as an `ignore`
/// where the store is unavailable) go on the test.
#[macro_export]
macro_rules! outbox_store_suite {
    ($kind:expr $(, #[$attr:meta])*) => {
        #[rstest::rstest]
        #[case::delivered_in_batches($crate::outbox::scenarios::delivered_in_batches)]
        #[case::recorded_once_and_all_or_nothing($crate::outbox::scenarios::recorded_once_and_all_or_nothing)]
        #[case::dead_letter_until_re_driven($crate::outbox::scenarios::dead_letter_until_re_driven)]
        #[case::temporary_rejection_retried($crate::outbox::scenarios::temporary_rejection_retried)]
        #[case::unknown_resent_or_held($crate::outbox::scenarios::unknown_resent_or_held)]
        #[case::abandoned_lease($crate::outbox::scenarios::abandoned_lease)]
        #[case::restart_continues($crate::outbox::scenarios::restart_continues)]
        #[case::concurrent_records($crate::outbox::scenarios::concurrent_records)]
        #[case::dual_running($crate::outbox::scenarios::dual_running)]
        #[case::read_only_store($crate::outbox::scenarios::read_only_store)]
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn outbox_store(#[case] scenario: $crate::outbox::Scenario) {
            scenario($kind).await;
        }
    };
}
