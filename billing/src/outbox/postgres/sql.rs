//! The SQL the PostgreSQL store runs. Public so that a benchmark can run the same statements on
//! the bare driver as a baseline.

/// The schema (idempotent; run under an advisory lock so processes starting together do not
/// race). Times are milliseconds since the Unix epoch; `state` is 0 pending, 1 dead letter, 2
/// held unknown outcome.
pub const SCHEMA: &str = "
SELECT pg_advisory_xact_lock(7208157718);
CREATE TABLE IF NOT EXISTS outbox_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO outbox_meta (key, value) VALUES ('schema_version', '1') ON CONFLICT DO NOTHING;
CREATE SEQUENCE IF NOT EXISTS outbox_event_seq;
CREATE TABLE IF NOT EXISTS outbox_events (
    seq BIGINT PRIMARY KEY,
    event_id TEXT NOT NULL,
    subscription TEXT NOT NULL,
    payload TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    UNIQUE (subscription, event_id)
);
CREATE TABLE IF NOT EXISTS outbox_deliveries (
    event_seq BIGINT NOT NULL,
    destination TEXT NOT NULL,
    state SMALLINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    recorded_at BIGINT NOT NULL,
    error_kind TEXT,
    vendor_status INTEGER,
    vendor_code TEXT,
    error_message TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (event_seq, destination)
);
CREATE INDEX IF NOT EXISTS outbox_deliveries_due
    ON outbox_deliveries (destination, state, next_attempt_at, event_seq);
";

/// The schema version this code reads and writes.
pub const SCHEMA_VERSION: &str = "1";

/// Reads the schema version.
pub const SELECT_VERSION: &str = "SELECT value FROM outbox_meta WHERE key = 'schema_version'";

/// `$1` sequence numbers for new events.
pub const NEXT_SEQS: &str = "SELECT nextval('outbox_event_seq') FROM generate_series(1, $1::int)";

/// Stores events unless the outbox holds their (subscription, id): `$1` seqs, `$2` ids, `$3`
/// subscriptions, `$4` payloads, `$5` now. Returns the seqs stored.
pub const INSERT_EVENTS: &str = "INSERT INTO outbox_events \
    (seq, event_id, subscription, payload, recorded_at) \
    SELECT s, i, sub, p, $5 FROM unnest($1::int8[], $2::text[], $3::text[], $4::text[]) \
    AS t(s, i, sub, p) ON CONFLICT (subscription, event_id) DO NOTHING RETURNING seq";

/// Pending deliveries of the events stored: `$1` seqs, `$2` destinations, `$3` now, `$4` the
/// seqs that were stored.
pub const INSERT_DELIVERIES: &str = "INSERT INTO outbox_deliveries \
    (event_seq, destination, next_attempt_at, recorded_at, updated_at) \
    SELECT s, d, $3, $3, $3 FROM unnest($1::int8[], $2::text[]) AS t(s, d) \
    WHERE s = ANY($4::int8[])";

/// Claims due deliveries, skipping those another transaction holds: `$1` destination, `$2`
/// now, `$3` limit, `$4` owner, `$5` lease until.
pub(crate) const CLAIM: &str = "WITH due AS ( \
      SELECT event_seq, lease_owner AS previous FROM outbox_deliveries \
      WHERE destination = $1 AND state = 0 AND next_attempt_at <= $2 \
        AND (lease_until IS NULL OR lease_until <= $2) \
      ORDER BY next_attempt_at, event_seq LIMIT $3 \
      FOR UPDATE SKIP LOCKED) \
    UPDATE outbox_deliveries d SET lease_owner = $4, lease_until = $5, \
      attempts = d.attempts + 1, updated_at = $2 \
    FROM due, outbox_events e \
    WHERE d.destination = $1 AND d.event_seq = due.event_seq AND e.seq = due.event_seq \
    RETURNING d.event_seq, d.attempts, due.previous IS NOT NULL, e.payload";

/// Locks the events of deliveries about to be removed, in order (so two settlers of one event
/// see each other's removal): `$1` seqs.
pub(crate) const LOCK_EVENTS: &str =
    "SELECT seq FROM outbox_events WHERE seq = ANY($1::int8[]) ORDER BY seq FOR UPDATE";

/// Removes delivered ones: `$1` destination, `$2` owner, `$3` seqs.
pub(crate) const DELETE_DONE: &str = "DELETE FROM outbox_deliveries \
    WHERE destination = $1 AND lease_owner = $2 AND event_seq = ANY($3::int8[]) \
    RETURNING event_seq";

/// Removes events with no delivery left: `$1` seqs.
pub(crate) const DELETE_EVENTS_IF_DONE: &str = "DELETE FROM outbox_events e \
    WHERE e.seq = ANY($1::int8[]) \
    AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.event_seq = e.seq)";

/// Removes every event with no delivery left.
pub(crate) const DELETE_ORPHAN_EVENTS: &str = "DELETE FROM outbox_events e WHERE NOT EXISTS \
    (SELECT 1 FROM outbox_deliveries d WHERE d.event_seq = e.seq)";

/// Releases claimed ones to new states: `$1` destination, `$2` owner, `$3` now, then arrays of
/// seq, state, next attempt, kind, status, code, message.
pub(crate) const UNLEASE: &str = "UPDATE outbox_deliveries d SET state = u.state, \
    next_attempt_at = u.at, lease_owner = NULL, lease_until = NULL, error_kind = u.kind, \
    vendor_status = u.status, vendor_code = u.code, error_message = u.msg, updated_at = $3 \
    FROM unnest($4::int8[], $5::int2[], $6::int8[], $7::text[], $8::int4[], $9::text[], \
      $10::text[]) AS u(seq, state, at, kind, status, code, msg) \
    WHERE d.destination = $1 AND d.lease_owner = $2 AND d.event_seq = u.seq";

/// The earliest next attempt of a destination's pending ones: `$1` destination.
pub(crate) const NEXT_DUE: &str = "SELECT MIN(next_attempt_at) FROM outbox_deliveries \
    WHERE destination = $1 AND state = 0";

/// Counts per destination: `$1` now.
pub(crate) const COUNTS: &str = "SELECT destination, \
    COUNT(*) FILTER (WHERE state = 0 AND (lease_until IS NULL OR lease_until <= $1)), \
    COUNT(*) FILTER (WHERE state = 0 AND lease_until > $1), \
    COUNT(*) FILTER (WHERE state = 1), COUNT(*) FILTER (WHERE state = 2), \
    MIN(recorded_at) FILTER (WHERE state = 0) \
    FROM outbox_deliveries GROUP BY destination ORDER BY destination";

/// A page of parked ones: `$1` state, `$2` destination or NULL, `$3`/`$4` after (seq,
/// destination), `$5` limit.
pub(crate) const LIST_PARKED: &str = "SELECT d.event_seq, d.destination, e.payload, \
    d.attempts, d.error_kind, d.vendor_status, d.vendor_code, d.error_message, d.updated_at \
    FROM outbox_deliveries d JOIN outbox_events e ON e.seq = d.event_seq \
    WHERE d.state = $1 AND ($2::text IS NULL OR d.destination = $2) \
    AND (d.event_seq, d.destination) > ($3::int8, $4::text) \
    ORDER BY d.event_seq, d.destination LIMIT $5";

/// Parked to pending, due now: `$1` state, `$2` now, `$3` destination or NULL, `$4` seqs or
/// NULL, `$5` destinations (paired with `$4`) or NULL.
pub(crate) const REDRIVE: &str = "UPDATE outbox_deliveries SET state = 0, attempts = 0, \
    next_attempt_at = $2, lease_owner = NULL, lease_until = NULL, updated_at = $2 \
    WHERE state = $1 AND ($3::text IS NULL OR destination = $3) \
    AND ($4::int8[] IS NULL OR (event_seq, destination) IN \
      (SELECT * FROM unnest($4::int8[], $5::text[])))";

/// Parked to done: `$1` state, `$2` destination or NULL, `$3` seqs or NULL, `$4` destinations
/// (paired with `$3`) or NULL.
pub(crate) const MARK_DONE: &str = "DELETE FROM outbox_deliveries \
    WHERE state = $1 AND ($2::text IS NULL OR destination = $2) \
    AND ($3::int8[] IS NULL OR (event_seq, destination) IN \
      (SELECT * FROM unnest($3::int8[], $4::text[])))";
