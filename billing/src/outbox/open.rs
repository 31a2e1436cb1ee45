//! Opening the store `outbox.store` names, if this build has its driver.

use std::sync::Arc;

use billing_core::{Error, Result};

use super::config::OutboxConfig;
use super::location::StoreLocation;
use super::store::OutboxStore;

/// Opens the store the configuration names.
pub(crate) async fn open_store(config: &OutboxConfig) -> Result<Arc<dyn OutboxStore>> {
    match &config.store {
        #[cfg(feature = "outbox-sqlite")]
        StoreLocation::Sqlite(path) => {
            let options = super::sqlite::OpenOptions {
                max_bytes: config.max_bytes,
                read_only: config.read_only,
            };
            let store = super::sqlite::SqliteStore::open_with(path, options).await?;
            Ok(Arc::new(store))
        }
        #[cfg(feature = "outbox-postgres")]
        StoreLocation::Postgres(url) => {
            let store = super::postgres::PostgresStore::connect_with(url, config.read_only).await?;
            Ok(Arc::new(store))
        }
        #[allow(unreachable_patterns)]
        other => Err(Error::config(
            "outbox.store",
            format!(
                "{other} needs the `{}` feature of the `billing` crate",
                match other {
                    StoreLocation::Sqlite(_) => "outbox-sqlite",
                    StoreLocation::Postgres(_) => "outbox-postgres",
                }
            ),
        )),
    }
}
