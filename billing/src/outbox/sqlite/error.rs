//! SQLite failures as the library's errors: what is wrong with the store, in words an operator
//! can act on.

use billing_core::{Error, ErrorKind};
use rusqlite::ErrorCode;

/// Maps a SQLite failure: a full database or disk is `Unavailable` (not temporary: it needs
/// room), a read-only database `PermissionDenied`, a lock held too long `Unavailable`
/// (temporary), anything else `Unexpected`.
pub(crate) fn sqlite_error(e: rusqlite::Error) -> Error {
    let code = match &e {
        rusqlite::Error::SqliteFailure(f, _) => Some(f.code),
        _ => None,
    };
    let (kind, temporary, what) = match code {
        Some(ErrorCode::DiskFull) => (
            ErrorKind::Unavailable,
            false,
            "the outbox's SQLite store is full (outbox.max_bytes, or the disk): nothing was \
             recorded",
        ),
        Some(ErrorCode::ReadOnly) => (
            ErrorKind::PermissionDenied,
            false,
            "the outbox's SQLite store is read-only (outbox.read_only, or the file or its \
             directory cannot be written)",
        ),
        Some(ErrorCode::CannotOpen) => (
            ErrorKind::Unavailable,
            false,
            "the outbox's SQLite file cannot be opened (outbox.store)",
        ),
        Some(ErrorCode::PermissionDenied) => (
            ErrorKind::PermissionDenied,
            false,
            "the outbox's SQLite file may not be accessed (outbox.store)",
        ),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => (
            ErrorKind::Unavailable,
            true,
            "the outbox's SQLite store stayed locked by another connection",
        ),
        Some(ErrorCode::SystemIoFailure) => (
            ErrorKind::Unavailable,
            false,
            "the outbox's SQLite store could not be read or written (I/O error)",
        ),
        _ => (
            ErrorKind::Unexpected,
            false,
            "the outbox's SQLite store failed",
        ),
    };
    Error::new(kind, format!("{what}: {e}"))
        .with_temporary(temporary)
        .with_backend("outbox")
        .with_source(e)
}
