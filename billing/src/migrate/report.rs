//! What a migration did, item by item where it matters.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The kind of object an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A customer.
    Customer,
    /// A subscription.
    Subscription,
}

/// One skipped or failed object, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemNote {
    /// What it is.
    pub kind: ItemKind,
    /// Its key.
    pub key: String,
    /// Why it was skipped or failed.
    pub reason: String,
}

/// Counts for one kind of object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Created in the target (or, in a dry run, would be).
    pub created: u64,
    /// Already in the target, or not to be copied.
    pub skipped: u64,
    /// Could not be copied.
    pub failed: u64,
}

/// The report of a migration, cumulative across resumed runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationReport {
    /// Whether nothing was written to the target.
    pub dry_run: bool,
    /// Customers.
    pub customers: Counts,
    /// Subscriptions.
    pub subscriptions: Counts,
    /// Every skipped object with the reason.
    pub skipped: Vec<ItemNote>,
    /// Every failed object with the reason.
    pub failed: Vec<ItemNote>,
    /// Customer fields the target could not hold, by field: how many customers lost it.
    pub fields_not_carried: BTreeMap<String, u64>,
    /// Subscriptions created without their billing anchor (or start) because the target cannot
    /// take it and double billing was accepted: the target bills days the source has billed.
    pub double_billed: Vec<ItemNote>,
    /// Source subscriptions scheduled to end where the target starts billing (or, in a dry
    /// run, that would be).
    pub source_cancellations_scheduled: u64,
}

impl MigrationReport {
    pub(crate) fn counts(&mut self, kind: ItemKind) -> &mut Counts {
        match kind {
            ItemKind::Customer => &mut self.customers,
            ItemKind::Subscription => &mut self.subscriptions,
        }
    }

    pub(crate) fn created(&mut self, kind: ItemKind) {
        self.counts(kind).created += 1;
    }

    pub(crate) fn skipped(&mut self, kind: ItemKind, key: &str, reason: impl Into<String>) {
        self.counts(kind).skipped += 1;
        self.skipped.push(ItemNote {
            kind,
            key: key.to_owned(),
            reason: reason.into(),
        });
    }

    pub(crate) fn failed(&mut self, kind: ItemKind, key: &str, reason: impl Into<String>) {
        self.counts(kind).failed += 1;
        self.failed.push(ItemNote {
            kind,
            key: key.to_owned(),
            reason: reason.into(),
        });
    }

    pub(crate) fn note_double_billed(&mut self, key: &str, reason: impl Into<String>) {
        self.double_billed.push(ItemNote {
            kind: ItemKind::Subscription,
            key: key.to_owned(),
            reason: reason.into(),
        });
    }

    pub(crate) fn field_not_carried(&mut self, field: &str) {
        *self.fields_not_carried.entry(field.to_owned()).or_default() += 1;
    }

    /// Merges the notes of one customer's work into the run's report.
    pub(crate) fn absorb(&mut self, other: MigrationReport) {
        for (mine, theirs) in [
            (&mut self.customers, other.customers),
            (&mut self.subscriptions, other.subscriptions),
        ] {
            mine.created += theirs.created;
            mine.skipped += theirs.skipped;
            mine.failed += theirs.failed;
        }
        self.skipped.extend(other.skipped);
        self.failed.extend(other.failed);
        self.double_billed.extend(other.double_billed);
        self.source_cancellations_scheduled += other.source_cancellations_scheduled;
        for (field, n) in other.fields_not_carried {
            *self.fields_not_carried.entry(field).or_default() += n;
        }
    }

    /// A few lines for a terminal.
    pub fn summary(&self) -> String {
        let line = |name: &str, c: &Counts| {
            format!(
                "{name:<14} created {:>6}  skipped {:>6}  failed {:>6}",
                c.created, c.skipped, c.failed
            )
        };
        let mut out = vec![
            format!(
                "migration report{}",
                if self.dry_run {
                    " (dry run: nothing written)"
                } else {
                    ""
                }
            ),
            line("customers", &self.customers),
            line("subscriptions", &self.subscriptions),
        ];
        for (field, n) in &self.fields_not_carried {
            out.push(format!(
                "field `{field}` not carried over for {n} customer(s)"
            ));
        }
        if self.source_cancellations_scheduled > 0 {
            out.push(format!(
                "{} source subscription(s) {} to end where the target starts billing",
                self.source_cancellations_scheduled,
                if self.dry_run {
                    "would be scheduled"
                } else {
                    "scheduled"
                }
            ));
        }
        if !self.double_billed.is_empty() {
            out.push(format!(
                "{} subscription(s) migrated WITH DOUBLE BILLING (the target could not take their billing anchor):",
                self.double_billed.len()
            ));
            for d in self.double_billed.iter().take(20) {
                out.push(format!("  {}: {}", d.key, d.reason));
            }
        }
        for f in self.failed.iter().take(20) {
            out.push(format!("failed {:?} {}: {}", f.kind, f.key, f.reason));
        }
        if self.failed.len() > 20 {
            out.push(format!("... and {} more failures", self.failed.len() - 20));
        }
        out.join("\n")
    }
}
