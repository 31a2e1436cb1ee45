//! A PostgreSQL connection that reconnects when it was lost, with the schema in place.

use billing_core::{Error, Result};
use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::{Client, NoTls};

use super::error::pg_error;
use super::sql;
use crate::outbox::location::PostgresUrl;

/// One connection, (re)opened on demand. Its users take turns.
pub(crate) struct Conn {
    url: PostgresUrl,
    read_only: bool,
    client: Mutex<Option<Client>>,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("url", &self.url)
            .field("read_only", &self.read_only)
            .finish()
    }
}

impl Conn {
    pub(crate) fn new(url: PostgresUrl, read_only: bool) -> Self {
        Self {
            url,
            read_only,
            client: Mutex::new(None),
        }
    }

    /// Opens the connection now, creating the schema.
    pub(crate) async fn open(&self) -> Result<()> {
        let mut guard = self.client.lock().await;
        *guard = Some(connect(&self.url, self.read_only, true).await?);
        Ok(())
    }

    /// The connection, opened if it is not (or no longer) open.
    pub(crate) async fn get(&self) -> Result<MutexGuard<'_, Option<Client>>> {
        let mut guard = self.client.lock().await;
        if guard.as_ref().is_none_or(Client::is_closed) {
            // The schema was made when the store was opened.
            *guard = Some(connect(&self.url, self.read_only, false).await?);
        }
        Ok(guard)
    }
}

/// Connects (never showing the URL, which may hold a password), creates the schema if asked
/// (and not read-only), and checks its version.
pub(crate) async fn connect(
    url: &PostgresUrl,
    read_only: bool,
    create_schema: bool,
) -> Result<Client> {
    let config: tokio_postgres::Config = url.expose().parse().map_err(|_| {
        Error::config(
            "outbox.store",
            format!("not a valid PostgreSQL URL: {}", url.redacted()),
        )
    })?;
    let (mut client, connection) = config.connect(NoTls).await.map_err(|e| {
        let e = pg_error(e);
        Error::new(e.kind(), format!("{} ({})", e.message(), url.redacted()))
            .with_temporary(e.is_temporary())
            .with_backend("outbox")
    })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(target: "billing::outbox", error = %e, "PostgreSQL connection closed");
        }
    });
    if read_only {
        client
            .batch_execute("SET default_transaction_read_only = on")
            .await
            .map_err(pg_error)?;
    } else if create_schema {
        let tx = client.transaction().await.map_err(pg_error)?;
        tx.batch_execute(sql::SCHEMA).await.map_err(pg_error)?;
        tx.commit().await.map_err(pg_error)?;
    }
    let version: Option<String> = client
        .query_opt(sql::SELECT_VERSION, &[])
        .await
        .map_err(pg_error)?
        .map(|r| r.get(0));
    if version.as_deref() != Some(sql::SCHEMA_VERSION) {
        return Err(Error::unexpected(format!(
            "the outbox's schema version is {version:?}; this build reads version {}",
            sql::SCHEMA_VERSION
        ))
        .with_backend("outbox"));
    }
    Ok(client)
}
