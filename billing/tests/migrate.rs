//! The migration engine between in-memory backends: copy, idempotent re-run, dry run, plan
//! mapping, and a run killed mid-page that resumes without loss or duplicates.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use billing::catalog::sample;
use billing::layers::LayeredBackend;
use billing::migrate::{CheckpointFile, Migration, MigrationOptions, PlanMap, verify};
use billing::prelude::*;
use billing::{
    CancelAt, ChangeAt, Currency, Customer, CustomerKey, InMemoryBackend, NewCustomer,
    NewSubscription, PlanCode, Result, Subscription, SubscriptionKey,
};
use futures::TryStreamExt;

/// Seeds `n` customers, each with one subscription; every 5th is canceled, every 7th cancels at
/// period end, every 11th has a scheduled downgrade, every 3rd has metadata.
async fn seeded(n: usize) -> InMemoryBackend {
    let b = InMemoryBackend::with_sample_catalog();
    for i in 0..n {
        let key = CustomerKey::new(format!("c{i:04}")).unwrap();
        let mut new = NewCustomer::new(key.clone())
            .name(format!("Customer {i}"))
            .email(format!("c{i}@example.com"))
            .currency(Currency::USD);
        if i % 3 == 0 {
            new = new.metadata("tier", "gold");
        }
        b.create_customer(&new).await.unwrap();
        let sub = SubscriptionKey::new(format!("s{i:04}")).unwrap();
        let plan = PlanCode::new(if i % 2 == 0 {
            sample::STARTER
        } else {
            sample::PRO
        })
        .unwrap();
        b.create_subscription(&NewSubscription::new(sub.clone(), key, plan))
            .await
            .unwrap();
        if i % 5 == 0 {
            b.cancel_subscription(&sub, CancelAt::Now).await.unwrap();
        } else if i % 7 == 0 {
            b.cancel_subscription(&sub, CancelAt::PeriodEnd)
                .await
                .unwrap();
        } else if i % 11 == 0 {
            b.change_plan(
                &sub,
                &PlanCode::new(sample::STARTER).unwrap(),
                ChangeAt::PeriodEnd,
            )
            .await
            .unwrap();
        }
    }
    b
}

fn options(concurrency: usize) -> MigrationOptions {
    MigrationOptions {
        concurrency,
        page_size: 10,
        ..MigrationOptions::default()
    }
}

async fn customer_count(b: &dyn BillingBackend) -> usize {
    let all: Vec<_> = b.customers(100).try_collect().await.unwrap();
    all.len()
}

#[tokio::test]
async fn copies_everything_and_a_rerun_creates_nothing() {
    let from = seeded(40).await;
    let to = InMemoryBackend::with_sample_catalog();
    let report = Migration::new(&from, &to, options(4)).run().await.unwrap();
    assert_eq!(report.customers.created, 40);
    assert_eq!(
        report.subscriptions.created, 32,
        "8 canceled ones are skipped"
    );
    assert_eq!(report.subscriptions.skipped, 8);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(
        verify(&from, &to, &PlanMap::identity(), 10)
            .await
            .unwrap()
            .is_clean()
    );
    let sub = to
        .get_subscription(&SubscriptionKey::new("s0011").unwrap())
        .await
        .unwrap();
    assert_eq!(
        sub.scheduled_change.map(|c| c.plan.to_string()),
        Some(sample::STARTER.to_owned()),
        "a scheduled change is carried over"
    );
    let customer = to
        .get_customer(&CustomerKey::new("c0003").unwrap())
        .await
        .unwrap();
    assert_eq!(
        customer.metadata.get("tier").map(String::as_str),
        Some("gold")
    );

    let again = Migration::new(&from, &to, options(4)).run().await.unwrap();
    assert_eq!(again.customers.created, 0);
    assert_eq!(again.subscriptions.created, 0);
    assert_eq!(again.customers.skipped, 40);
    assert_eq!(customer_count(&to).await, 40);
}

#[tokio::test]
async fn a_dry_run_writes_nothing() {
    let from = seeded(12).await;
    let to = InMemoryBackend::with_sample_catalog();
    let dir = std::env::temp_dir().join(format!("billing-dry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let checkpoint = CheckpointFile::new(dir.join("cp.json"));
    let opts = MigrationOptions {
        dry_run: true,
        ..options(2)
    };
    let report = Migration::new(&from, &to, opts)
        .with_checkpoint(checkpoint.clone())
        .run()
        .await
        .unwrap();
    assert!(report.dry_run);
    assert_eq!(report.customers.created, 12, "would create");
    assert_eq!(customer_count(&to).await, 0);
    assert!(
        !checkpoint.path().exists(),
        "a dry run leaves no checkpoint"
    );
}

#[tokio::test]
async fn subscriptions_keep_their_start_and_are_billed_from_the_source_period_end() {
    let from = InMemoryBackend::with_sample_catalog();
    let customer = CustomerKey::new("dated").unwrap();
    from.create_customer(&NewCustomer::new(customer.clone()))
        .await
        .unwrap();
    let start = billing::chrono::Utc::now() - billing::chrono::Duration::days(45);
    let key = SubscriptionKey::new("dated-sub").unwrap();
    let plan = PlanCode::new(sample::STARTER).unwrap();
    let source = from
        .create_subscription(&NewSubscription::new(key.clone(), customer, plan).starts_at(start))
        .await
        .unwrap();
    let source_end = source.current_period.unwrap().end;
    let to = InMemoryBackend::with_sample_catalog();
    let opts = MigrationOptions {
        cancel_source_at_period_end: true,
        ..options(1)
    };
    let report = Migration::new(&from, &to, opts).run().await.unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(report.double_billed.is_empty());
    assert_eq!(report.source_cancellations_scheduled, 1);

    let target = to.get_subscription(&key).await.unwrap();
    assert_eq!(target.started_at, source.started_at, "the start is kept");
    assert_eq!(
        target.billing_anchor,
        Some(source_end),
        "billed from the source's period end"
    );
    assert_eq!(target.current_period.unwrap().end, source_end);
    let source_now = from.get_subscription(&key).await.unwrap();
    assert_eq!(
        source_now.status,
        billing::SubscriptionStatus::CancelScheduled
    );
    assert_eq!(
        source_now.ends_at,
        Some(source_end),
        "the source stops where the target starts"
    );
    let v = verify(&from, &to, &PlanMap::identity(), 10).await.unwrap();
    assert!(v.is_clean(), "{v:?}");

    // A re-run finds it all done: nothing created, nothing cancelled twice.
    let again = Migration::new(
        &from,
        &to,
        MigrationOptions {
            cancel_source_at_period_end: true,
            ..options(1)
        },
    )
    .run()
    .await
    .unwrap();
    assert_eq!(again.subscriptions.created, 0);
    assert_eq!(again.source_cancellations_scheduled, 0);
}

/// A subscription key the target already holds for another customer, or on another plan, is
/// a failure of that item: never taken for a resumed run's own subscription, and the source's
/// subscription keeps running (stopping it would leave no vendor billing it). A key held by the
/// same customer on the same plan is one: the source is stopped and its scheduled
/// cancellation carried.
#[tokio::test]
async fn a_key_the_target_holds_for_someone_else_stops_nothing() {
    let from = InMemoryBackend::with_sample_catalog();
    let to = InMemoryBackend::with_sample_catalog();
    let starter = PlanCode::new(sample::STARTER).unwrap();
    let pro = PlanCode::new(sample::PRO).unwrap();
    let acme = CustomerKey::new("acme").unwrap();
    from.create_customer(&NewCustomer::new(acme.clone()))
        .await
        .unwrap();
    for sub in ["taken", "replan", "mine"] {
        let sub = SubscriptionKey::new(sub).unwrap();
        from.create_subscription(&NewSubscription::new(sub, acme.clone(), starter.clone()))
            .await
            .unwrap();
    }
    let mine = SubscriptionKey::new("mine").unwrap();
    from.cancel_subscription(&mine, CancelAt::PeriodEnd)
        .await
        .unwrap();
    // The target: `taken` is globex's, `replan` is acme's on another plan, `mine` is acme's
    // own (as a run stopped after the create leaves it).
    let globex = CustomerKey::new("globex").unwrap();
    for c in [&acme, &globex] {
        to.create_customer(&NewCustomer::new(c.clone()))
            .await
            .unwrap();
    }
    for (sub, customer, plan) in [
        ("taken", &globex, &starter),
        ("replan", &acme, &pro),
        ("mine", &acme, &starter),
    ] {
        let sub = SubscriptionKey::new(sub).unwrap();
        to.create_subscription(&NewSubscription::new(sub, customer.clone(), plan.clone()))
            .await
            .unwrap();
    }

    for dry_run in [true, false] {
        let opts = MigrationOptions {
            dry_run,
            cancel_source_at_period_end: true,
            ..options(1)
        };
        let report = Migration::new(&from, &to, opts).run().await.unwrap();
        let mut failed: Vec<_> = report.failed.iter().map(|f| f.key.as_str()).collect();
        failed.sort_unstable();
        assert_eq!(
            failed,
            ["replan", "taken"],
            "dry run {dry_run}: {:?}",
            report.failed
        );
        assert_eq!(report.subscriptions.created, 0);
        assert_eq!(
            report.source_cancellations_scheduled, 0,
            "dry run {dry_run}: only `mine` is the target's, and it already stops at period end"
        );
    }
    for key in ["taken", "replan"] {
        let source = from
            .get_subscription(&SubscriptionKey::new(key).unwrap())
            .await
            .unwrap();
        assert_eq!(
            source.status,
            billing::SubscriptionStatus::Active,
            "{key} keeps running"
        );
    }
    let carried = to.get_subscription(&mine).await.unwrap();
    assert_eq!(
        carried.status,
        billing::SubscriptionStatus::CancelScheduled,
        "the resumed run carries the scheduled cancellation"
    );
}

#[tokio::test]
async fn a_dry_run_counts_the_source_cancellations_it_would_schedule() {
    let from = seeded(12).await;
    let to = InMemoryBackend::with_sample_catalog();
    let opts = MigrationOptions {
        dry_run: true,
        cancel_source_at_period_end: true,
        ..options(2)
    };
    let report = Migration::new(&from, &to, opts).run().await.unwrap();
    // 12 seeded: 3 canceled (skipped), 1 already cancelling at period end (0, 7): 8 to schedule.
    let live = report.subscriptions.created;
    assert_eq!(live, 9);
    assert_eq!(report.source_cancellations_scheduled, 8);
    let untouched = from
        .get_subscription(&SubscriptionKey::new("s0001").unwrap())
        .await
        .unwrap();
    assert_eq!(
        untouched.status,
        billing::SubscriptionStatus::Active,
        "nothing written"
    );
}

#[tokio::test]
async fn plans_are_mapped() {
    let from = seeded(6).await;
    let to = InMemoryBackend::with_sample_catalog();
    let map = PlanMap::identity().with(
        PlanCode::new(sample::STARTER).unwrap(),
        PlanCode::new(sample::PRO).unwrap(),
    );
    let opts = MigrationOptions {
        plans: map.clone(),
        ..options(2)
    };
    Migration::new(&from, &to, opts).run().await.unwrap();
    let s = to
        .get_subscription(&SubscriptionKey::new("s0002").unwrap())
        .await
        .unwrap();
    assert_eq!(s.plan.as_str(), sample::PRO);
    assert!(verify(&from, &to, &map, 10).await.unwrap().is_clean());
}

/// Yields before every call a migration makes on its target, so a task running it can be
/// aborted between calls.
#[derive(Debug)]
struct Yielding(InMemoryBackend);

#[async_trait]
impl LayeredBackend for Yielding {
    fn inner(&self) -> &dyn BillingBackend {
        &self.0
    }
    async fn create_customer(&self, new: &NewCustomer) -> Result<Customer> {
        tokio::task::yield_now().await;
        self.inner().create_customer(new).await
    }
    async fn get_customer(&self, key: &CustomerKey) -> Result<Customer> {
        tokio::task::yield_now().await;
        self.inner().get_customer(key).await
    }
    async fn create_subscription(&self, new: &NewSubscription) -> Result<Subscription> {
        tokio::task::yield_now().await;
        self.inner().create_subscription(new).await
    }
    async fn get_subscription(&self, key: &SubscriptionKey) -> Result<Subscription> {
        tokio::task::yield_now().await;
        self.inner().get_subscription(key).await
    }
    async fn cancel_subscription(
        &self,
        key: &SubscriptionKey,
        at: CancelAt,
    ) -> Result<Subscription> {
        tokio::task::yield_now().await;
        self.inner().cancel_subscription(key, at).await
    }
    async fn change_plan(
        &self,
        key: &SubscriptionKey,
        plan: &PlanCode,
        at: ChangeAt,
    ) -> Result<Subscription> {
        tokio::task::yield_now().await;
        self.inner().change_plan(key, plan, at).await
    }
}

#[tokio::test]
async fn a_run_killed_mid_page_resumes_without_loss_or_duplicates() {
    let from = Arc::new(seeded(35).await);
    let to = Arc::new(Yielding(InMemoryBackend::with_sample_catalog()));
    let dir = std::env::temp_dir().join(format!("billing-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let checkpoint = CheckpointFile::new(dir.join("cp.json"));
    let _ = std::fs::remove_file(checkpoint.path());

    // Kill the run when the 17th customer is done: in the middle of the second page of 10.
    let done = Arc::new(AtomicUsize::new(0));
    let handle: Arc<OnceLock<tokio::task::AbortHandle>> = Arc::new(OnceLock::new());
    let task = {
        let (from, to, cp, done, handle) = (
            from.clone(),
            to.clone(),
            checkpoint.clone(),
            done.clone(),
            handle.clone(),
        );
        tokio::spawn(async move {
            Migration::new(from.as_ref(), to.as_ref(), options(3))
                .with_checkpoint(cp)
                .on_progress(move |p| {
                    if matches!(p, billing::migrate::Progress::Customer { .. })
                        && done.fetch_add(1, Ordering::SeqCst) + 1 == 17
                        && let Some(h) = handle.get()
                    {
                        h.abort();
                    }
                })
                .run()
                .await
        })
    };
    handle.set(task.abort_handle()).unwrap();
    let killed = task.await;
    assert!(killed.unwrap_err().is_cancelled(), "the run was killed");
    let partial = checkpoint.load().await.unwrap();
    assert_eq!(partial.pages, 1, "only the first page was checkpointed");
    assert!(!partial.done);
    let created_before = customer_count(to.as_ref()).await;
    assert!(
        created_before > 10 && created_before < 35,
        "{created_before}"
    );

    let report = Migration::new(from.as_ref(), to.as_ref(), options(3))
        .with_checkpoint(checkpoint.clone())
        .run()
        .await
        .unwrap();
    assert_eq!(
        customer_count(to.as_ref()).await,
        35,
        "no loss, no duplicates"
    );
    assert_eq!(
        report.customers.created + report.customers.skipped,
        35,
        "every customer accounted for once: {report:?}"
    );
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert!(
        verify(from.as_ref(), to.as_ref(), &PlanMap::identity(), 10)
            .await
            .unwrap()
            .is_clean()
    );
    assert!(checkpoint.load().await.unwrap().done);
    let finished = Migration::new(from.as_ref(), to.as_ref(), options(3))
        .with_checkpoint(checkpoint)
        .run()
        .await
        .unwrap();
    assert_eq!(
        finished, report,
        "a finished checkpoint just returns the report"
    );
}

#[tokio::test]
async fn a_checkpoint_of_another_migration_is_refused_before_anything_is_written() {
    let from = seeded(5).await;
    let to = InMemoryBackend::with_sample_catalog();
    let dir = std::env::temp_dir().join(format!("billing-route-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let checkpoint = CheckpointFile::new(dir.join("cp.json"));
    let mut theirs = checkpoint.load().await.unwrap();
    theirs.route = Some("lago https://api.getlago.com/api/v1 -> killbill https://kb".to_owned());
    theirs.pages = 3;
    checkpoint.save(&theirs).await.unwrap();

    let e = Migration::new(&from, &to, options(2))
        .with_checkpoint(checkpoint.clone())
        .run()
        .await
        .unwrap_err();
    assert_eq!(e.kind(), billing::ErrorKind::Config, "{e}");
    assert_eq!(customer_count(&to).await, 0);
    assert_eq!(
        checkpoint.load().await.unwrap(),
        theirs,
        "the file is left as it was"
    );

    // Its own checkpoint resumes as before.
    std::fs::remove_file(checkpoint.path()).unwrap();
    let report = Migration::new(&from, &to, options(2))
        .with_checkpoint(checkpoint.clone())
        .run()
        .await
        .unwrap();
    assert_eq!(report.customers.created, 5);
    assert_eq!(
        checkpoint.load().await.unwrap().route.as_deref(),
        Some("memory -> memory")
    );
}
