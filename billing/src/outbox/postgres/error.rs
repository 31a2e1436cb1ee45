//! PostgreSQL failures as the library's errors. Messages never carry the connection URL.

use billing_core::{Error, ErrorKind};
use tokio_postgres::error::SqlState;

/// Maps a driver failure: a lost or refused connection `Unavailable` (temporary), a read-only
/// transaction or a missing privilege `PermissionDenied`, a full disk `Unavailable`, anything
/// else `Unexpected`.
pub(crate) fn pg_error(e: tokio_postgres::Error) -> Error {
    let code = e.code().cloned();
    let (kind, temporary, what) = match &code {
        Some(c) if *c == SqlState::READ_ONLY_SQL_TRANSACTION => (
            ErrorKind::PermissionDenied,
            false,
            "the outbox's PostgreSQL database is read-only (outbox.read_only, \
             default_transaction_read_only, or a standby)",
        ),
        Some(c) if *c == SqlState::INSUFFICIENT_PRIVILEGE => (
            ErrorKind::PermissionDenied,
            false,
            "the outbox's PostgreSQL user may not do this (grant it the outbox tables)",
        ),
        Some(c)
            if *c == SqlState::INVALID_PASSWORD
                || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            (
                ErrorKind::Unauthenticated,
                false,
                "PostgreSQL refused the outbox's credentials (outbox.store)",
            )
        }
        Some(c) if *c == SqlState::DISK_FULL || *c == SqlState::OUT_OF_MEMORY => (
            ErrorKind::Unavailable,
            false,
            "the outbox's PostgreSQL database is out of space: nothing was recorded",
        ),
        Some(c)
            if *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CANNOT_CONNECT_NOW =>
        {
            (
                ErrorKind::Unavailable,
                true,
                "the outbox's PostgreSQL database could not complete the transaction",
            )
        }
        None if e.is_closed() || std::error::Error::source(&e).is_some() => (
            ErrorKind::Unavailable,
            true,
            "cannot reach the outbox's PostgreSQL database (outbox.store)",
        ),
        _ => (
            ErrorKind::Unexpected,
            false,
            "the outbox's PostgreSQL database failed",
        ),
    };
    // The driver's `Display` of a server error is only "db error": use the server's message.
    let detail = e.as_db_error().map_or_else(
        || e.to_string(),
        |db| format!("{} ({})", db.message(), db.code().code()),
    );
    Error::new(kind, format!("{what}: {detail}"))
        .with_temporary(temporary)
        .with_backend("outbox")
        .with_source(e)
}
