//! Moving customers and subscriptions from one backend to another, safely re-runnable.
//!
//! The engine streams the source's customers a page at a time, creates each customer and its
//! live subscriptions in the target under the same keys (plan codes mapped by a [`PlanMap`]),
//! and records what it did in a [`MigrationReport`].
//!
//! - **Idempotent:** an object whose key already exists in the target is skipped and reported, so
//!   a second run creates nothing twice.
//! - **Resumable:** with a [`CheckpointFile`], the source cursor and the report are written
//!   atomically after every completed page. A run killed at any point resumes at the first page
//!   it had not finished; objects it had already created there are found and reported as skipped.
//! - **Honest:** customer fields the target cannot hold (metadata beyond its limits, ...) are
//!   counted in `fields_not_carried`; failures are listed with the reason. To retry failures,
//!   re-run without the checkpoint: everything already copied is skipped.
//! - **No day billed twice:** a running subscription is created with its service start and, as
//!   billing anchor, the end of its current period in the source, so the target bills from
//!   where the source stops. With [`MigrationOptions::cancel_source_at_period_end`] the source
//!   subscription is also scheduled to end there. A target that cannot take the anchor (or the
//!   start) is refused per subscription, with the reason, unless
//!   [`MigrationOptions::accept_double_billing`] is set; every subscription migrated that way is
//!   listed in [`MigrationReport::double_billed`]. [`verify`] reports the subscriptions whose
//!   billing dates do not line up.
//! - **Dry run:** reads both sides and reports what would be created, writing nothing (not even
//!   the checkpoint).
//!
//! The library never prints; pass [`Migration::on_progress`] to drive a progress bar.

mod checkpoint;
mod customer;
mod dates;
mod plans;
mod report;
mod verify;

use std::sync::Arc;

use billing_core::{BillingBackend, Cursor, Error, PageRequest, Result};

pub use checkpoint::{Checkpoint, CheckpointFile};
pub use plans::PlanMap;
pub use report::{Counts, ItemKind, ItemNote, MigrationReport};
pub use verify::{KeyCount, Verification, verify};

/// How to migrate.
#[derive(Debug, Clone)]
pub struct MigrationOptions {
    /// Read only; report what would be created.
    pub dry_run: bool,
    /// Customers migrated at once.
    pub concurrency: usize,
    /// Source page size.
    pub page_size: u32,
    /// Source plan code -> target plan code.
    pub plans: PlanMap,
    /// Also schedule each migrated source subscription to cancel at the end of its current
    /// period, where the target starts billing (a pending one, which has not billed yet, is
    /// canceled at once). Off by default; a dry run counts what it would schedule.
    pub cancel_source_at_period_end: bool,
    /// Create a subscription whose billing anchor (or start) the target cannot take anyway,
    /// without it: the target then bills days the source has billed. Off by default: such
    /// subscriptions fail with the reason. Each one migrated this way is listed in
    /// [`MigrationReport::double_billed`].
    pub accept_double_billing: bool,
}

impl Default for MigrationOptions {
    fn default() -> Self {
        Self {
            dry_run: false,
            concurrency: 8,
            page_size: 100,
            plans: PlanMap::identity(),
            cancel_source_at_period_end: false,
            accept_double_billing: false,
        }
    }
}

/// Progress notifications, for a progress bar.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Progress {
    /// Resuming from a checkpoint.
    Resumed {
        /// Pages already done.
        pages: u64,
        /// Customers already handled.
        customers: u64,
    },
    /// One customer (and its subscriptions) handled.
    Customer {
        /// Its key.
        key: String,
    },
    /// A page finished and checkpointed.
    Page {
        /// Pages done so far.
        pages: u64,
        /// The cursor of the next page, if any.
        next: Option<Cursor>,
    },
}

type Observer = Arc<dyn Fn(&Progress) + Send + Sync>;

/// One migration from `from` to `to`.
pub struct Migration<'a> {
    from: &'a dyn BillingBackend,
    to: &'a dyn BillingBackend,
    options: MigrationOptions,
    checkpoint: Option<CheckpointFile>,
    observer: Option<Observer>,
}

impl std::fmt::Debug for Migration<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migration")
            .field("from", &self.from.info())
            .field("to", &self.to.info())
            .field("options", &self.options)
            .field("checkpoint", &self.checkpoint)
            .finish_non_exhaustive()
    }
}

impl<'a> Migration<'a> {
    /// A migration with the given options and no checkpoint.
    pub fn new(
        from: &'a dyn BillingBackend,
        to: &'a dyn BillingBackend,
        options: MigrationOptions,
    ) -> Self {
        Self {
            from,
            to,
            options,
            checkpoint: None,
            observer: None,
        }
    }

    /// Checkpoints to (and resumes from) `file`.
    pub fn with_checkpoint(mut self, file: CheckpointFile) -> Self {
        self.checkpoint = Some(file);
        self
    }

    /// Calls `observer` as the migration progresses.
    pub fn on_progress(mut self, observer: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    fn notify(&self, p: Progress) {
        if let Some(o) = &self.observer {
            o(&p);
        }
    }

    /// Runs (or resumes) the migration to the end of the source listing.
    ///
    /// # Errors
    /// A source listing error or a checkpoint I/O error. The checkpoint then still points at the
    /// unfinished page: run again to resume. Errors on single objects are not fatal; they are in
    /// the report's `failed` list.
    pub async fn run(self) -> Result<MigrationReport> {
        let dry_run = self.options.dry_run;
        let route = format!("{} -> {}", describe(self.from), describe(self.to));
        let mut state = match (&self.checkpoint, dry_run) {
            (Some(file), false) => file.load().await?,
            _ => Checkpoint::default(),
        };
        if let (Some(file), Some(theirs)) = (&self.checkpoint, &state.route)
            && *theirs != route
        {
            return Err(Error::config(
                &file.path().display().to_string(),
                format!(
                    "the checkpoint belongs to the migration {theirs}, not {route}; \
                     use another checkpoint file"
                ),
            ));
        }
        state.route = Some(route);
        if state.done {
            return Ok(state.report);
        }
        if state.pages > 0 {
            self.notify(Progress::Resumed {
                pages: state.pages,
                customers: state.report.customers.created
                    + state.report.customers.skipped
                    + state.report.customers.failed,
            });
        }
        state.report.dry_run = dry_run;
        let page_size = self.options.page_size;
        let concurrency = self.options.concurrency.max(1);
        loop {
            let request = PageRequest {
                cursor: state.cursor.clone(),
                limit: page_size,
            };
            let page = self.from.list_customers(&request).await?;
            let this = &self;
            let next = page.next;
            // Owned customers: a closure over borrowed ones would not be provably `Send`.
            let results = billing_http::ordered_fanout(page.items, concurrency, |c| async move {
                let report = this.migrate_customer(&c).await;
                this.notify(Progress::Customer {
                    key: c.key.to_string(),
                });
                report
            })
            .await;
            for r in results {
                state.report.absorb(r);
            }
            state.pages += 1;
            state.done = next.is_none();
            state.cursor = next.clone();
            if let (Some(file), false) = (&self.checkpoint, dry_run) {
                file.save(&state).await?;
            }
            self.notify(Progress::Page {
                pages: state.pages,
                next,
            });
            if state.done {
                return Ok(state.report);
            }
        }
    }
}

/// A backend as a checkpoint names it: its name and endpoint.
fn describe(backend: &dyn BillingBackend) -> String {
    let info = backend.info();
    match info.endpoint {
        Some(endpoint) => format!("{} {endpoint}", info.name),
        None => info.name.to_owned(),
    }
}
