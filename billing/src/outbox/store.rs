//! The storage contract of an outbox: what a store keeps and the operations the outbox runs on
//! it. SQLite and PostgreSQL implement it; an application may bring its own.
//!
//! A store holds events and, for each event, one *delivery* per destination it goes to, keyed by
//! (event sequence number, destination name). A delivery is pending (with its attempt count, the
//! time of its next attempt, and possibly a lease held by the process sending it), a dead letter,
//! or a held unknown outcome. A delivered one is deleted, and an event goes with its last
//! delivery.

use std::fmt;

use async_trait::async_trait;
use billing_core::Result;

/// Milliseconds since the Unix epoch: every time a store keeps.
pub type Millis = i64;

/// An event to commit, with the destinations it goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The event's id (with `subscription`, unique among the events still in the outbox).
    pub event_id: String,
    /// The event's subscription key.
    pub subscription: String,
    /// The event as JSON (`UsageEvent`'s serde form).
    pub payload: String,
    /// The names of its destinations (at least one).
    pub destinations: Vec<String>,
}

/// What an insert committed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Inserted {
    /// Events stored now.
    pub stored: usize,
    /// Events skipped because the outbox already held an event with the same subscription and
    /// id (recorded earlier and not delivered yet).
    pub already_queued: usize,
}

/// A request for due deliveries of one destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    /// The destination.
    pub destination: String,
    /// At most this many.
    pub limit: usize,
    /// Now: deliveries whose next attempt is due by now and whose lease (if any) has expired.
    pub now: Millis,
    /// The lease the claim takes: the deliveries are reserved for `owner` until then.
    pub lease_until: Millis,
    /// Who claims (one id per running outbox).
    pub owner: String,
}

/// One claimed delivery. Claiming counts as starting an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The event's sequence number.
    pub seq: i64,
    /// The event as JSON.
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// Another claimer held it and its lease expired: that process stopped (or lost the store)
    /// while sending it, so the event may have reached the destination.
    pub abandoned: bool,
}

/// The last error of a delivery, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredError {
    /// The error kind, as `ErrorKind`'s `Display` writes it (`"unavailable"`, ...), or
    /// `"unknown outcome"`.
    pub kind: String,
    /// The vendor's HTTP status.
    pub status: Option<u16>,
    /// The vendor's error code.
    pub code: Option<String>,
    /// The error's message.
    pub message: String,
}

/// What becomes of a claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// Delivered (accepted, or a duplicate of an earlier delivery): removed.
    Done,
    /// Pending again, next attempt at the given time.
    Retry {
        /// When the next attempt is due.
        at: Millis,
        /// Why.
        error: StoredError,
    },
    /// A dead letter: not retried until re-driven.
    DeadLetter(StoredError),
    /// A held unknown outcome: not resent until released.
    HeldUnknown(StoredError),
}

impl Settlement {
    /// The row a delivery that stays is written back as: its state (0 pending, else the
    /// [`Parked`] state), the time it is due or was parked (`now`), and why; `None` for
    /// [`Settlement::Done`], which is removed.
    pub fn kept_as(&self, now: Millis) -> Option<(i16, Millis, &StoredError)> {
        match self {
            Settlement::Done => None,
            Settlement::Retry { at, error } => Some((0, *at, error)),
            Settlement::DeadLetter(error) => Some((Parked::DeadLetter.state(), now, error)),
            Settlement::HeldUnknown(error) => Some((Parked::HeldUnknown.state(), now, error)),
        }
    }
}

/// A settlement of one claimed delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settle {
    /// The event's sequence number.
    pub seq: i64,
    /// What becomes of it.
    pub settlement: Settlement,
}

/// Deliveries set aside for an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Parked {
    /// Refused for good (or out of attempts): re-drive once the cause is fixed.
    DeadLetter,
    /// The answer was lost on a destination that does not deduplicate: check the vendor, then
    /// release (resend) or mark done.
    HeldUnknown,
}

impl Parked {
    /// The state number stores keep (pending is 0).
    pub fn state(self) -> i16 {
        match self {
            Parked::DeadLetter => 1,
            Parked::HeldUnknown => 2,
        }
    }

    /// The name used in messages and by the example command.
    pub fn as_str(self) -> &'static str {
        match self {
            Parked::DeadLetter => "dead letter",
            Parked::HeldUnknown => "held unknown outcome",
        }
    }
}

/// A delivery: one event to one destination.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeliveryId {
    /// The event's sequence number in the outbox.
    pub seq: i64,
    /// The destination's name.
    pub destination: String,
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.seq, self.destination)
    }
}

impl std::str::FromStr for DeliveryId {
    type Err = billing_core::Error;
    /// Parses `SEQ/DESTINATION`, as `Display` writes it.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || billing_core::Error::invalid_input(format!("`{s}` is not SEQ/DESTINATION"));
        let (seq, destination) = s.split_once('/').ok_or_else(bad)?;
        Ok(Self {
            seq: seq.parse().map_err(|_| bad())?,
            destination: destination.to_owned(),
        })
    }
}

/// Which parked deliveries an operation applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// All of them.
    All,
    /// Those of one destination.
    Destination(String),
    /// These.
    Ids(Vec<DeliveryId>),
}

/// A page of parked deliveries: in (sequence, destination) order, after `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Only this destination's.
    pub destination: Option<String>,
    /// Start after this one (the last of the previous page).
    pub after: Option<DeliveryId>,
    /// At most this many.
    pub limit: usize,
}

/// A parked delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParkedRow {
    /// Which delivery.
    pub id: DeliveryId,
    /// The event as JSON.
    pub payload: String,
    /// Attempts made.
    pub attempts: u32,
    /// Why it was parked.
    pub error: StoredError,
    /// When it was parked.
    pub since: Millis,
}

/// Counts of one destination's deliveries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationCounts {
    /// The destination.
    pub destination: String,
    /// Waiting for an attempt (due now or later).
    pub pending: u64,
    /// Claimed by a process that is sending them (lease not expired).
    pub in_flight: u64,
    /// Dead letters.
    pub dead_letters: u64,
    /// Held unknown outcomes.
    pub held_unknown: u64,
    /// When the oldest pending or in-flight delivery's event was recorded.
    pub oldest_pending: Option<Millis>,
}

/// Durable storage for an outbox. Every method is atomic: it commits all of its effect or none.
///
/// Implementations must never block the async runtime's threads (run blocking drivers on a
/// thread of their own), and must map their failures to [`billing_core::Error`]s naming the
/// problem: a full store or disk `Unavailable`, a read-only store `PermissionDenied`, an
/// unreachable server `Unavailable` (temporary), anything else `Unexpected`.
#[async_trait]
pub trait OutboxStore: Send + Sync + fmt::Debug {
    /// `"sqlite"`, `"postgres"`, ...
    fn kind(&self) -> &'static str;

    /// Commits the events with one pending delivery per destination, due now, and returns once
    /// they are durable. An event whose (subscription, id) the outbox already holds is skipped.
    async fn insert(&self, events: Vec<NewEvent>, now: Millis) -> Result<Inserted>;

    /// Claims up to `limit` due, unleased (or lease-expired) pending deliveries of a
    /// destination, oldest due first: each gets the lease and one more attempt. Two claimers
    /// never get the same delivery while its lease runs.
    async fn claim(&self, request: ClaimRequest) -> Result<Vec<Claimed>>;

    /// Applies settlements to deliveries `owner` claimed. A delivery whose lease `owner` no
    /// longer holds is left alone; returns how many were.
    async fn settle(
        &self,
        destination: String,
        owner: String,
        now: Millis,
        settlements: Vec<Settle>,
    ) -> Result<usize>;

    /// The earliest next-attempt time among a destination's pending deliveries.
    async fn next_due(&self, destination: String) -> Result<Option<Millis>>;

    /// Counts per destination (destinations with no delivery are absent).
    async fn counts(&self, now: Millis) -> Result<Vec<DestinationCounts>>;

    /// A page of parked deliveries of one kind.
    async fn list(&self, kind: Parked, query: ListQuery) -> Result<Vec<ParkedRow>>;

    /// Makes the selected parked deliveries of `kind` pending again, due now, with their
    /// attempt count reset. Returns how many.
    async fn redrive(&self, kind: Parked, selection: Selection, now: Millis) -> Result<u64>;

    /// Removes the selected parked deliveries of `kind` as done (the operator checked the
    /// vendor has them, or decided they must not be sent). Returns how many.
    async fn mark_done(&self, kind: Parked, selection: Selection) -> Result<u64>;
}
