//! Migrating one customer and its subscriptions.

use billing_core::chrono::Utc;
use billing_core::{
    BillingExt, CancelAt, ChangeAt, Customer, CustomerStatus, ErrorKind, Metadata, NewCustomer,
    NewSubscription, Subscription, SubscriptionStatus,
};
use futures::TryStreamExt;

use super::Migration;
use super::dates::{self, Fit};
use super::report::{ItemKind, MigrationReport};

const ALREADY_IN_TARGET: &str = "already in the target";

impl Migration<'_> {
    /// Everything that happened to one customer, as a partial report.
    pub(super) async fn migrate_customer(&self, source: &Customer) -> MigrationReport {
        let mut report = MigrationReport::default();
        let key = source.key.as_str();
        if source.status == CustomerStatus::Closed {
            report.skipped(ItemKind::Customer, key, "closed in the source");
            return report;
        }
        let Some(new) = self.target_customer(source, &mut report) else {
            return report;
        };
        let exists = if self.options.dry_run {
            match self.to.get_customer(&source.key).await {
                Ok(_) => true,
                Err(e) if e.is_not_found() => false,
                Err(e) => {
                    report.failed(ItemKind::Customer, key, e.to_string());
                    return report;
                }
            }
        } else {
            match self.to.create_customer(&new).await {
                Ok(_) => false,
                Err(e) if e.kind() == ErrorKind::AlreadyExists => true,
                Err(e) => {
                    report.failed(ItemKind::Customer, key, e.to_string());
                    return report;
                }
            }
        };
        if exists {
            report.skipped(ItemKind::Customer, key, ALREADY_IN_TARGET);
        } else {
            report.created(ItemKind::Customer);
        }
        let mut subs = self.from.subscriptions(&source.key, self.options.page_size);
        loop {
            match subs.try_next().await {
                Ok(Some(sub)) => self.migrate_subscription(source, &sub, &mut report).await,
                Ok(None) => break,
                Err(e) => {
                    report.failed(
                        ItemKind::Subscription,
                        key,
                        format!("cannot list the customer's subscriptions: {e}"),
                    );
                    break;
                }
            }
        }
        report
    }

    /// The customer to create in the target, with what the target cannot hold left out (and
    /// counted), or `None` (and a failure) if the target cannot take it at all.
    fn target_customer(
        &self,
        source: &Customer,
        report: &mut MigrationReport,
    ) -> Option<NewCustomer> {
        let caps = self.to.capabilities();
        let mut new = NewCustomer::new(source.key.clone());
        new.name = source.name.clone();
        new.email = source.email.clone();
        new.currency = source.currency;
        new.metadata = source.metadata.clone();
        if !new.metadata.is_empty() {
            let fits = caps
                .customer_metadata
                .is_some_and(|limits| limits.check(&new.metadata).is_ok());
            if !fits {
                new.metadata = Metadata::new();
                report.field_not_carried("metadata");
            }
        }
        if caps.customer_email_required && new.email.is_none() {
            report.failed(
                ItemKind::Customer,
                source.key.as_str(),
                "the target requires an email address and the source has none",
            );
            return None;
        }
        Some(new)
    }

    async fn migrate_subscription(
        &self,
        customer: &Customer,
        source: &Subscription,
        report: &mut MigrationReport,
    ) {
        let key = source.key.as_str();
        if source.status == SubscriptionStatus::Canceled {
            report.skipped(ItemKind::Subscription, key, "canceled in the source");
            return;
        }
        let now = Utc::now();
        let carried = match dates::carried(source, now) {
            Ok(d) => d,
            Err(reason) => {
                report.failed(ItemKind::Subscription, key, reason);
                return;
            }
        };
        let mut new = NewSubscription::new(
            source.key.clone(),
            source.customer.clone(),
            self.options.plans.map(&source.plan),
        );
        new.currency = customer.currency;
        new.starts_at = carried.starts_at;
        new.billing_anchor = carried.billing_anchor;
        let to = self.to.capabilities();
        let accept = self.options.accept_double_billing;
        let double_billed = match dates::fit(&new, to, self.to.info().name, accept, now) {
            Fit::Exact => None,
            Fit::DoubleBilled {
                new: relaxed,
                reason,
            } => {
                new = *relaxed;
                Some(reason)
            }
            Fit::Refused(reason) => {
                report.failed(ItemKind::Subscription, key, reason);
                return;
            }
        };
        let existing = if self.options.dry_run {
            match self.to.get_subscription(&source.key).await {
                Ok(existing) => Some(existing),
                Err(e) if e.is_not_found() => None,
                Err(e) => {
                    report.failed(ItemKind::Subscription, key, e.to_string());
                    return;
                }
            }
        } else {
            match self.to.create_subscription(&new).await {
                Ok(_) => None,
                // A run stopped after the create resumes here, but the key may as well be
                // another customer's subscription, or on another plan: read it to know.
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    match self.to.get_subscription(&source.key).await {
                        Ok(existing) => Some(existing),
                        Err(e) => {
                            report.failed(ItemKind::Subscription, key, e.to_string());
                            return;
                        }
                    }
                }
                Err(e) => {
                    report.failed(ItemKind::Subscription, key, e.to_string());
                    return;
                }
            }
        };
        match existing {
            None => {
                report.created(ItemKind::Subscription);
                if let Some(reason) = double_billed {
                    report.note_double_billed(key, reason);
                }
            }
            // Only the subscription this migration would have made may stop the source's.
            Some(existing) => match new.check_existing(existing) {
                Ok(existing) => {
                    report.skipped(ItemKind::Subscription, key, ALREADY_IN_TARGET);
                    self.carry_pending_changes(source, Some(&existing), report)
                        .await;
                    self.stop_source(source, report).await;
                    return;
                }
                Err(e) => {
                    report.failed(ItemKind::Subscription, key, e.to_string());
                    return;
                }
            },
        }
        self.carry_pending_changes(source, None, report).await;
        self.stop_source(source, report).await;
    }

    /// With `cancel_source_at_period_end`: ends the source subscription where the target starts
    /// billing (at once for a pending one, which has billed nothing). Counted in a dry run.
    async fn stop_source(&self, source: &Subscription, report: &mut MigrationReport) {
        if !self.options.cancel_source_at_period_end
            || matches!(
                source.status,
                SubscriptionStatus::CancelScheduled | SubscriptionStatus::Canceled
            )
        {
            return;
        }
        let at = if source.status == SubscriptionStatus::Pending {
            CancelAt::Now
        } else {
            CancelAt::PeriodEnd
        };
        if !self.options.dry_run {
            let key = source.key.as_str();
            let supported = match at {
                CancelAt::Now => self.from.capabilities().cancel_now,
                CancelAt::PeriodEnd => self.from.capabilities().cancel_at_period_end,
            };
            if !supported {
                report.failed(
                    ItemKind::Subscription,
                    key,
                    "created in the target, but the source cannot schedule its cancellation: end it there by hand",
                );
                return;
            }
            if let Err(e) = self.from.cancel_subscription(&source.key, at).await {
                report.failed(
                    ItemKind::Subscription,
                    key,
                    format!("created in the target, but the source's cancellation failed: {e}"),
                );
                return;
            }
        }
        report.source_cancellations_scheduled += 1;
    }

    /// Re-applies a scheduled plan change and a scheduled cancellation, where the target can,
    /// except what `target` (the subscription a resumed run found there) already holds.
    async fn carry_pending_changes(
        &self,
        source: &Subscription,
        target: Option<&Subscription>,
        report: &mut MigrationReport,
    ) {
        let caps = self.to.capabilities();
        let key = source.key.as_str();
        if self.options.dry_run {
            return;
        }
        let change_carried = target.is_some_and(|t| t.scheduled_change.is_some());
        let cancel_carried = target.is_some_and(|t| {
            matches!(
                t.status,
                SubscriptionStatus::CancelScheduled | SubscriptionStatus::Canceled
            )
        });
        if let Some(change) = source.scheduled_change.as_ref().filter(|_| !change_carried) {
            if caps.change_plan_at_period_end {
                let plan = self.options.plans.map(&change.plan);
                if let Err(e) = self
                    .to
                    .change_plan(&source.key, &plan, ChangeAt::PeriodEnd)
                    .await
                {
                    report.failed(
                        ItemKind::Subscription,
                        key,
                        format!("created, but the scheduled plan change failed: {e}"),
                    );
                }
            } else {
                report.field_not_carried("subscription.scheduled_change");
            }
        }
        if source.status == SubscriptionStatus::CancelScheduled && !cancel_carried {
            if caps.cancel_at_period_end {
                if let Err(e) = self
                    .to
                    .cancel_subscription(&source.key, CancelAt::PeriodEnd)
                    .await
                {
                    report.failed(
                        ItemKind::Subscription,
                        key,
                        format!("created, but the scheduled cancellation failed: {e}"),
                    );
                }
            } else {
                report.field_not_carried("subscription.scheduled_cancellation");
            }
        }
    }
}
