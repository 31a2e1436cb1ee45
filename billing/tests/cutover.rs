//! The cutover backend over two in-memory vendors: routing at the exact instant, batches split
//! across both, reads on each side and across the instant, writes kept in step (and a failure
//! on one side reported), cancels and plan changes during the cutover, a restart from the plan
//! file, and the reconciliation that proves it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use billing::async_trait;
use billing::catalog::sample;
use billing::chrono::{DateTime, Duration, Utc};
use billing::cutover::{CutoverBackend, CutoverPlan, Side, reconcile};
use billing::layers::LayeredBackend;
use billing::migrate::{Migration, MigrationOptions};
use billing::prelude::*;
use billing::{
    CancelAt, ChangeAt, CustomerKey, CustomerPatch, ErrorKind, EventId, EventOutcome,
    InMemoryBackend, MetricCode, NewCustomer, NewSubscription, PlanCode, SubscriptionKey,
    SubscriptionStatus, UsageEvent, UsageQuery,
};

struct World {
    source: Arc<InMemoryBackend>,
    target: Arc<InMemoryBackend>,
    key: SubscriptionKey,
    instant: DateTime<Utc>,
    plan: CutoverPlan,
}

/// One customer with a subscription started 40 days ago in the source, migrated to the target
/// (billed from the source's period end), and the plan of that migration.
async fn world() -> World {
    let source = Arc::new(InMemoryBackend::with_sample_catalog());
    let customer = CustomerKey::new("acme").unwrap();
    source
        .create_customer(&NewCustomer::new(customer.clone()).email("billing@acme.example"))
        .await
        .unwrap();
    let key = SubscriptionKey::new("acme-main").unwrap();
    source
        .create_subscription(
            &NewSubscription::new(
                key.clone(),
                customer,
                PlanCode::new(sample::STARTER).unwrap(),
            )
            .starts_at(Utc::now() - Duration::days(40)),
        )
        .await
        .unwrap();
    let target = Arc::new(InMemoryBackend::with_sample_catalog());
    let report = Migration::new(
        source.as_ref(),
        target.as_ref(),
        MigrationOptions::default(),
    )
    .run()
    .await
    .unwrap();
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    let plan = CutoverPlan::from_backends(source.as_ref(), target.as_ref(), 10)
        .await
        .unwrap();
    let instant = plan.instant(&key).expect("the subscription is in the plan");
    let source_end = source
        .get_subscription(&key)
        .await
        .unwrap()
        .current_period
        .unwrap()
        .end;
    assert_eq!(
        instant, source_end,
        "billing moves where the source's period ends"
    );
    World {
        source,
        target,
        key,
        instant,
        plan,
    }
}

impl World {
    fn backend(&self) -> CutoverBackend {
        CutoverBackend::new(self.source.clone(), self.target.clone(), self.plan.clone())
    }

    fn event(&self, id: &str, at: DateTime<Utc>) -> UsageEvent {
        UsageEvent::new(
            EventId::new(id).unwrap(),
            self.key.clone(),
            MetricCode::new(sample::API_CALLS).unwrap(),
            1.into(),
        )
        .at(at)
    }

    async fn counted(&self, backend: &dyn BillingBackend) -> i64 {
        let q = UsageQuery::range(
            self.key.clone(),
            self.instant - Duration::days(400),
            self.instant + Duration::days(400),
        );
        let total: billing::rust_decimal::Decimal = backend
            .usage(&q)
            .await
            .unwrap()
            .lines
            .iter()
            .map(|l| l.quantity)
            .sum();
        i64::try_from(total).unwrap()
    }
}

#[tokio::test]
async fn events_go_to_the_vendor_that_bills_their_timestamp() {
    let w = world().await;
    let cutover = w.backend();
    let ms = Duration::milliseconds(1);
    let events = [
        w.event("before", w.instant - ms),
        w.event("at", w.instant),
        w.event("after", w.instant + ms),
    ];
    assert_eq!(w.plan.side_at(&w.key, w.instant - ms), Side::Source);
    let outcomes = cutover.record_usage(&events).await;
    assert!(
        outcomes.iter().all(EventOutcome::is_recorded),
        "{outcomes:?}"
    );
    assert_eq!(
        w.counted(w.source.as_ref()).await,
        1,
        "just before the instant: the source"
    );
    assert_eq!(
        w.counted(w.target.as_ref()).await,
        2,
        "at and after it: the target"
    );

    // A resend goes the same way: counted once, on the same side.
    let again = cutover.record_usage(&events).await;
    assert!(
        again.iter().all(|o| matches!(o, EventOutcome::Duplicate)),
        "{again:?}"
    );
    assert_eq!(
        w.counted(w.source.as_ref()).await + w.counted(w.target.as_ref()).await,
        3
    );

    // A subscription created after the migration lives in the target only.
    let fresh = SubscriptionKey::new("acme-new").unwrap();
    cutover
        .create_subscription(&NewSubscription::new(
            fresh.clone(),
            CustomerKey::new("acme").unwrap(),
            PlanCode::new(sample::PRO).unwrap(),
        ))
        .await
        .unwrap();
    assert_kind(w.source.get_subscription(&fresh).await, ErrorKind::NotFound);
    let mut early = w.event("fresh-early", w.instant - Duration::days(1));
    early.subscription = fresh;
    assert!(cutover.record_usage(&[early]).await[0].is_recorded());
}

#[tokio::test]
async fn a_batch_across_the_instant_keeps_one_outcome_per_event_in_order() {
    let w = world().await;
    let cutover = w.backend();
    let mut batch = Vec::new();
    for i in 0..20 {
        let at = w.instant + Duration::seconds(i - 10);
        batch.push(w.event(&format!("e{i}"), at));
    }
    // An event the source rejects (unknown metric there and everywhere) keeps its slot.
    let mut bad = w.event("bad", w.instant - Duration::seconds(30));
    bad.metric = MetricCode::new("no_such_metric").unwrap();
    batch.insert(5, bad);
    let outcomes = cutover.record_usage(&batch).await;
    assert_eq!(outcomes.len(), batch.len());
    for (i, o) in outcomes.iter().enumerate() {
        if i == 5 {
            assert_eq!(o.error_kind(), Some(ErrorKind::NotFound), "{o:?}");
        } else {
            assert!(o.is_recorded(), "{i}: {o:?}");
        }
    }
    assert_eq!(w.counted(w.source.as_ref()).await, 10);
    assert_eq!(w.counted(w.target.as_ref()).await, 10);
}

/// A vendor that records a batch but answers one outcome short.
#[derive(Debug)]
struct AnswersShort(Arc<InMemoryBackend>);

#[async_trait]
impl LayeredBackend for AnswersShort {
    fn inner(&self) -> &dyn BillingBackend {
        self.0.as_ref()
    }

    async fn record_usage(&self, events: &[UsageEvent]) -> Vec<EventOutcome> {
        let mut outcomes = self.0.record_usage(events).await;
        outcomes.pop();
        outcomes
    }
}

/// An event the vendor gave no answer for was sent and may be recorded: its outcome is
/// `Unknown`, never a rejection (which would invite a resend that counts it twice), and the
/// other events keep their slots, alone on one side or split across both.
#[tokio::test]
async fn an_event_the_vendor_did_not_answer_for_is_unknown() {
    let w = world().await;
    let short: Arc<dyn BillingBackend> = Arc::new(AnswersShort(w.source.clone()));
    let cutover = CutoverBackend::new(short, w.target.clone(), w.plan.clone());
    let before = |i: i64| w.event(&format!("b{i}"), w.instant - Duration::seconds(10 - i));
    let after = |i: i64| w.event(&format!("a{i}"), w.instant + Duration::seconds(i));
    for batch in [
        (0..3).map(before).collect::<Vec<_>>(),
        (3..6).map(before).chain((0..3).map(after)).collect(),
    ] {
        let outcomes = cutover.record_usage(&batch).await;
        assert_eq!(outcomes.len(), batch.len());
        let unknown: Vec<_> = outcomes
            .iter()
            .map(|o| matches!(o, EventOutcome::Unknown(_)))
            .collect();
        let expected: Vec<_> = batch
            .iter()
            .map(|e| e.id.as_str() == "b2" || e.id.as_str() == "b5")
            .collect();
        assert_eq!(unknown, expected, "{outcomes:?}");
        assert!(
            outcomes
                .iter()
                .filter(|o| !matches!(o, EventOutcome::Unknown(_)))
                .all(EventOutcome::is_recorded)
        );
    }
}

#[tokio::test]
async fn usage_is_read_from_the_side_that_bills_the_window() {
    let w = world().await;
    let cutover = w.backend();
    let events: Vec<UsageEvent> = (0..6)
        .map(|i| w.event(&format!("r{i}"), w.instant + Duration::hours(i - 3)))
        .collect();
    cutover.record_usage(&events).await;
    let total = |s: billing::UsageSummary| -> i64 {
        i64::try_from(
            s.lines
                .iter()
                .map(|l| l.quantity)
                .sum::<billing::rust_decimal::Decimal>(),
        )
        .unwrap()
    };
    let range = |from, to| UsageQuery::range(w.key.clone(), from, to);
    let across = cutover
        .usage(&range(
            w.instant - Duration::hours(5),
            w.instant + Duration::hours(5),
        ))
        .await
        .unwrap();
    assert_eq!(
        total(across),
        6,
        "a window across the instant: both sides, summed"
    );
    let before = cutover
        .usage(&range(w.instant - Duration::hours(5), w.instant))
        .await
        .unwrap();
    assert_eq!(total(before), 3);
    // The current period: the source's until the instant, ending there.
    let current = cutover
        .usage(&UsageQuery::current(w.key.clone()))
        .await
        .unwrap();
    assert_eq!(current.period.end, w.instant);
    assert_eq!(total(current), 3);
    // Once the instant has passed, the target's (a target whose clock has passed it too).
    let at = w.instant + Duration::minutes(1);
    let target_later =
        Arc::new(InMemoryBackend::with_sample_catalog().with_clock(Arc::new(move || at)));
    let acme = CustomerKey::new("acme").unwrap();
    target_later
        .create_customer(&NewCustomer::new(acme.clone()))
        .await
        .unwrap();
    target_later
        .create_subscription(
            &NewSubscription::new(w.key.clone(), acme, PlanCode::new(sample::STARTER).unwrap())
                .starts_at(at - Duration::days(40))
                .billing_anchor(w.instant),
        )
        .await
        .unwrap();
    let later =
        CutoverBackend::new(w.source.clone(), target_later, w.plan.clone()).with_clock(move || at);
    let current = later
        .usage(&UsageQuery::current(w.key.clone()))
        .await
        .unwrap();
    assert_eq!(
        current.period.start, w.instant,
        "the target's first billed period"
    );
}

#[tokio::test]
async fn customer_writes_go_to_both_and_a_failure_on_one_side_is_reported() {
    let w = world().await;
    let cutover = w.backend();
    let acme = CustomerKey::new("acme").unwrap();
    cutover
        .update_customer(&acme, &CustomerPatch::new().name("Acme Ltd"))
        .await
        .unwrap();
    for side in [w.source.as_ref(), w.target.as_ref()] {
        assert_eq!(
            side.get_customer(&acme).await.unwrap().name.as_deref(),
            Some("Acme Ltd")
        );
    }
    let new = NewCustomer::new(CustomerKey::new("globex").unwrap()).email("ap@globex.example");
    cutover.create_customer(&new).await.unwrap();
    assert!(
        w.source.get_customer(&new.key).await.is_ok(),
        "kept in step"
    );

    // In the target only: the source refuses the update after the target applied it.
    let target_only = CustomerKey::new("initech").unwrap();
    w.target
        .create_customer(&NewCustomer::new(target_only.clone()))
        .await
        .unwrap();
    let e = cutover
        .update_customer(&target_only, &CustomerPatch::new().name("Initech"))
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::NotFound,
        "the source's error kind: {e}"
    );
    assert_eq!(e.backend(), Some("cutover"));
    assert_eq!(
        w.target
            .get_customer(&target_only)
            .await
            .unwrap()
            .name
            .as_deref(),
        Some("Initech"),
        "the target holds the change, as the error says"
    );
    // Refused by the target: nothing reaches the source.
    let only_source = CustomerKey::new("umbrella").unwrap();
    w.source
        .create_customer(&NewCustomer::new(only_source.clone()))
        .await
        .unwrap();
    let e = cutover
        .update_customer(&only_source, &CustomerPatch::new().name("Umbrella"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        w.source.get_customer(&only_source).await.unwrap().name,
        None
    );
}

#[tokio::test]
async fn cancel_and_plan_changes_during_the_cutover_reach_both() {
    let w = world().await;
    let cutover = w.backend();
    let changed = cutover
        .change_plan(
            &w.key,
            &PlanCode::new(sample::PRO).unwrap(),
            ChangeAt::PeriodEnd,
        )
        .await
        .unwrap();
    assert_eq!(
        changed.plan.as_str(),
        sample::STARTER,
        "the target moves at its anchor"
    );
    for side in [w.source.as_ref(), w.target.as_ref()] {
        let s = side.get_subscription(&w.key).await.unwrap();
        let change = s.scheduled_change.expect("scheduled on both sides");
        assert_eq!(change.plan.as_str(), sample::PRO);
        assert_eq!(change.at, Some(w.instant), "both at the instant");
    }
    let canceled = cutover
        .cancel_subscription(&w.key, CancelAt::PeriodEnd)
        .await
        .unwrap();
    assert_eq!(canceled.status, SubscriptionStatus::CancelScheduled);
    assert_eq!(
        canceled.ends_at,
        Some(w.instant),
        "the target never bills it"
    );
    let source = w.source.get_subscription(&w.key).await.unwrap();
    assert_eq!(
        source.ends_at,
        Some(w.instant),
        "the source stops at its period end"
    );
}

#[tokio::test]
async fn a_restart_mid_cutover_routes_by_the_plan_file_and_reconcile_proves_it() {
    let w = world().await;
    let dir = std::env::temp_dir().join(format!("billing-cutover-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("plan.json");
    w.plan.save(&path).unwrap();
    let mut sent = Vec::new();
    let first = w.backend();
    let early: Vec<UsageEvent> = (0..5)
        .map(|i| w.event(&format!("p{i}"), w.instant - Duration::minutes(10 - i)))
        .collect();
    first.record_usage(&early).await;
    sent.extend(early);
    drop(first);

    let restarted = CutoverBackend::new(
        w.source.clone(),
        w.target.clone(),
        CutoverPlan::load(&path).unwrap(),
    );
    let late: Vec<UsageEvent> = (0..7)
        .map(|i| w.event(&format!("q{i}"), w.instant + Duration::minutes(i)))
        .collect();
    restarted.record_usage(&late).await;
    sent.extend(late);

    let r = reconcile(w.source.as_ref(), w.target.as_ref(), &w.plan, &sent)
        .await
        .unwrap();
    assert!(r.is_exact(), "{r:#?}");
    assert_eq!((r.source.events_sent, r.target.events_sent), (5, 7));
    assert_eq!(r.source.quantity_counted, 5.into());
    assert_eq!(r.target.quantity_counted, 7.into());

    // A log that lists resent events again (an at-least-once sender's) proves the same.
    let logged_twice: Vec<_> = sent.iter().chain(&sent).cloned().collect();
    let r = reconcile(w.source.as_ref(), w.target.as_ref(), &w.plan, &logged_twice)
        .await
        .unwrap();
    assert!(r.is_exact(), "{r:#?}");
    assert_eq!((r.source.events_sent, r.target.events_sent), (5, 7));

    // An event counted on the wrong side is flagged on both, and named.
    let stray = w.event("stray", w.instant + Duration::seconds(200));
    w.source.record_usage(std::slice::from_ref(&stray)).await;
    sent.push(stray);
    let r = reconcile(w.source.as_ref(), w.target.as_ref(), &w.plan, &sent)
        .await
        .unwrap();
    assert!(!r.is_exact());
    assert_eq!(r.target.lost, 1.into(), "not counted where it belongs");
    assert_eq!(
        r.metrics[0].target.suspect_events,
        vec![EventId::new("stray").unwrap()]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[track_caller]
fn assert_kind<T: std::fmt::Debug>(r: billing::Result<T>, kind: ErrorKind) {
    match r {
        Ok(v) => panic!("expected {kind:?}, got {v:?}"),
        Err(e) => assert_eq!(e.kind(), kind, "{e}"),
    }
}
