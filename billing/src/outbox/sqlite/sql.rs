//! The SQL the SQLite store runs. Public so that a benchmark can run the same statements on the
//! bare driver as a baseline.

/// The schema (idempotent). Times are milliseconds since the Unix epoch; `state` is 0 pending,
/// 1 dead letter, 2 held unknown outcome.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT OR IGNORE INTO outbox_meta (key, value) VALUES ('schema_version', '1');
CREATE TABLE IF NOT EXISTS outbox_events (
    seq INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL,
    subscription TEXT NOT NULL,
    payload TEXT NOT NULL,
    recorded_at INTEGER NOT NULL,
    UNIQUE (subscription, event_id)
);
CREATE TABLE IF NOT EXISTS outbox_deliveries (
    event_seq INTEGER NOT NULL,
    destination TEXT NOT NULL,
    state INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    recorded_at INTEGER NOT NULL,
    error_kind TEXT,
    vendor_status INTEGER,
    vendor_code TEXT,
    error_message TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (event_seq, destination)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outbox_deliveries_due
    ON outbox_deliveries (destination, state, next_attempt_at, event_seq);
";

/// The schema version this code reads and writes.
pub const SCHEMA_VERSION: &str = "1";

/// Reads the schema version.
pub const SELECT_VERSION: &str = "SELECT value FROM outbox_meta WHERE key = 'schema_version'";

/// Stores one event unless the outbox holds its (subscription, id): `?1` id, `?2`
/// subscription, `?3` payload, `?4` now.
pub const INSERT_EVENT: &str = "INSERT OR IGNORE INTO outbox_events \
    (event_id, subscription, payload, recorded_at) VALUES (?1, ?2, ?3, ?4)";

/// One pending delivery of the event just stored: `?1` seq, `?2` destination, `?3` now.
pub const INSERT_DELIVERY: &str = "INSERT INTO outbox_deliveries \
    (event_seq, destination, state, attempts, next_attempt_at, recorded_at, updated_at) \
    VALUES (?1, ?2, 0, 0, ?3, ?3, ?3)";

/// Due deliveries: `?1` destination, `?2` now, `?3` limit.
pub(crate) const SELECT_DUE: &str = "SELECT d.event_seq, d.attempts, d.lease_owner IS NOT NULL, \
    e.payload FROM outbox_deliveries d JOIN outbox_events e ON e.seq = d.event_seq \
    WHERE d.destination = ?1 AND d.state = 0 AND d.next_attempt_at <= ?2 \
    AND (d.lease_until IS NULL OR d.lease_until <= ?2) \
    ORDER BY d.next_attempt_at, d.event_seq LIMIT ?3";

/// Takes the lease: `?1` destination, `?2` seq, `?3` owner, `?4` lease until, `?5` now.
pub(crate) const LEASE: &str = "UPDATE outbox_deliveries SET lease_owner = ?3, \
    lease_until = ?4, attempts = attempts + 1, updated_at = ?5 \
    WHERE destination = ?1 AND event_seq = ?2";

/// Removes a delivered one: `?1` destination, `?2` seq, `?3` owner.
pub(crate) const DELETE_DONE: &str = "DELETE FROM outbox_deliveries \
    WHERE destination = ?1 AND event_seq = ?2 AND lease_owner = ?3";

/// Removes an event with no delivery left: `?1` seq.
pub(crate) const DELETE_EVENT_IF_DONE: &str = "DELETE FROM outbox_events WHERE seq = ?1 \
    AND NOT EXISTS (SELECT 1 FROM outbox_deliveries WHERE event_seq = ?1)";

/// Removes every event with no delivery left.
pub(crate) const DELETE_ORPHAN_EVENTS: &str = "DELETE FROM outbox_events WHERE NOT EXISTS \
    (SELECT 1 FROM outbox_deliveries d WHERE d.event_seq = outbox_events.seq)";

/// Releases a claimed one to a new state: `?1` destination, `?2` seq, `?3` owner, `?4` state,
/// `?5` next attempt, `?6` kind, `?7` status, `?8` code, `?9` message, `?10` now.
pub(crate) const UNLEASE: &str = "UPDATE outbox_deliveries SET state = ?4, \
    next_attempt_at = ?5, lease_owner = NULL, lease_until = NULL, error_kind = ?6, \
    vendor_status = ?7, vendor_code = ?8, error_message = ?9, updated_at = ?10 \
    WHERE destination = ?1 AND event_seq = ?2 AND lease_owner = ?3";

/// The earliest next attempt of a destination's pending ones: `?1` destination.
pub(crate) const NEXT_DUE: &str = "SELECT MIN(next_attempt_at) FROM outbox_deliveries \
    WHERE destination = ?1 AND state = 0";

/// Counts per destination: `?1` now.
pub(crate) const COUNTS: &str = "SELECT destination, \
    COALESCE(SUM(state = 0 AND (lease_until IS NULL OR lease_until <= ?1)), 0), \
    COALESCE(SUM(state = 0 AND lease_until > ?1), 0), \
    COALESCE(SUM(state = 1), 0), COALESCE(SUM(state = 2), 0), \
    MIN(CASE WHEN state = 0 THEN recorded_at END) \
    FROM outbox_deliveries GROUP BY destination ORDER BY destination";

/// A page of parked ones: `?1` state, `?2` destination or NULL, `?3`/`?4` after (seq,
/// destination), `?5` limit.
pub(crate) const LIST_PARKED: &str = "SELECT d.event_seq, d.destination, e.payload, \
    d.attempts, d.error_kind, d.vendor_status, d.vendor_code, d.error_message, d.updated_at \
    FROM outbox_deliveries d JOIN outbox_events e ON e.seq = d.event_seq \
    WHERE d.state = ?1 AND (?2 IS NULL OR d.destination = ?2) \
    AND (d.event_seq > ?3 OR (d.event_seq = ?3 AND d.destination > ?4)) \
    ORDER BY d.event_seq, d.destination LIMIT ?5";

/// Parked to pending, due now: `?1` state, `?2` now, then the selection's condition.
pub(crate) const REDRIVE: &str = "UPDATE outbox_deliveries SET state = 0, attempts = 0, \
    next_attempt_at = ?2, lease_owner = NULL, lease_until = NULL, updated_at = ?2 \
    WHERE state = ?1";

/// Parked to done: `?1` state, then the selection's condition.
pub(crate) const MARK_DONE: &str = "DELETE FROM outbox_deliveries WHERE state = ?1";
