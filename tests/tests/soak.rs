//! The fault-injection soak tier (`#[ignore]`d; `.ci/run` runs it):
//!
//! ```sh
//! cargo test -p billing-conformance --test soak -- --ignored --nocapture --test-threads 1
//! ```
//!
//! For each adapter, 20,000 usage events go through the facade to the vendor's simulator while
//! it injects 20% faults, spread evenly over: 500, 503, 429 with the vendor's rate-limit
//! headers, a connection dropped before the write and one dropped after it, and an answer
//! delayed (600 ms) beyond the client's timeout (300 ms) after the write. The application
//! resends only what `billing_conformance::soak::should_resend` allows. Afterwards the simulator's store is read:
//! Lago and Kill Bill hold every event exactly once; BillaBear (no deduplication) holds every
//! event, with at most one extra copy per write that committed without an answer.
//!
//! Faults are drawn from a seeded generator. The figures are printed, never asserted on time.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use billing::UsageEvent;
use billing_conformance::sims::{SimTarget, Vendor};
use billing_conformance::soak::{SoakPlan, record_all};
use billing_conformance::traces::RetryCounter;
use billing_sim::{FaultConfig, SimOptions};

const EVENTS: usize = 20_000;
const SUBSCRIPTIONS: usize = 20;
const FAULT_RATE: f64 = 0.2;

/// A client timeout well under the simulator's injected latency, so a slow answer is a timeout
/// and the run stays short; Retry-After / X-RateLimit-Reset (1 s) fit under the cap.
const HTTP: &str = "timeout_ms = 300\nconnect_timeout_ms = 300\nmax_retries = 4\n\
                    retry_base_delay_ms = 20\nmax_retry_delay_ms = 1000\n\
                    total_budget_ms = 5000\nconcurrency = 64\n";

fn faults() -> FaultConfig {
    FaultConfig {
        latency: Duration::from_millis(600),
        rate_limit_reset_secs: 1,
        ..FaultConfig::mixed(FAULT_RATE)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak tier: cargo test -p billing-conformance --test soak -- --ignored"]
async fn soak_lago() {
    soak(Vendor::Lago).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak tier: cargo test -p billing-conformance --test soak -- --ignored"]
async fn soak_killbill() {
    soak(Vendor::KillBill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak tier: cargo test -p billing-conformance --test soak -- --ignored"]
async fn soak_billabear() {
    soak(Vendor::BillaBear).await;
}

async fn soak(vendor: Vendor) {
    let retries = RetryCounter::global();
    let target = Arc::new(
        SimTarget::start(
            vendor,
            SimOptions {
                seed: 20_000,
                ..SimOptions::default()
            },
        )
        .await,
    );
    let backend = target.connect(HTTP);
    let ctx = target.ctx(backend.clone());

    // The world is set up without faults; only the usage run gets them.
    let mut subscriptions = Vec::new();
    for n in 0..SUBSCRIPTIONS {
        subscriptions.push(ctx.subscribed(&format!("soak{n}"), ctx.starter()).await);
    }
    let events: Vec<UsageEvent> = (0..EVENTS)
        .map(|i| {
            let sub = &subscriptions[i % SUBSCRIPTIONS];
            ctx.event(
                &format!("ev{i}"),
                &sub.key,
                ctx.api_calls(),
                &(1 + i % 7).to_string(),
            )
        })
        .collect();
    let requests_before = target.server().log().len();
    let retries_before = retries.retries(vendor.name());

    target.server().faults().set(faults());
    let plan = SoakPlan {
        batch: 250,
        parallel_batches: 16,
        max_rounds: 20,
    };
    let report = record_all(backend.as_ref(), &events, plan).await;
    target.server().faults().set(FaultConfig::none());
    let counts = target.server().faults().counts();
    let requests = target.server().log().len() - requests_before;
    let http_retries = retries.retries(vendor.name()) - retries_before;

    // What the vendor stored, per event id.
    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    for sub in &subscriptions {
        for id in target.stored_event_ids(sub) {
            *stored.entry(id).or_default() += 1;
        }
    }
    let missing: Vec<&str> = events
        .iter()
        .map(|e| e.id.as_str())
        .filter(|id| !stored.contains_key(*id))
        .collect();
    let stored_copies: usize = stored.values().sum();
    let duplicates = stored_copies - stored.len();

    println!(
        "soak {vendor}: {events} events, {subs} subscriptions, {rounds} rounds, {elapsed:.1} s\n\
         \x20 faults injected: {total} ({server} 500/503, {limited} 429, {before} dropped before \
         the write, {after} dropped after it, {slow} answered after the client's timeout) over \
         {requests} requests\n\
         \x20 client retries: {http_retries}; events resent by the application: {resent} \
         ({kinds}), {unknown} of them after an unknown outcome\n\
         \x20 outcomes: {accepted} accepted, {dup_reported} duplicate (a lost answer retried)\n\
         \x20 stored: {distinct} distinct events, {stored_copies} copies, {duplicates} \
         duplicates, {missing} missing",
        vendor = vendor.name(),
        events = report.events,
        subs = SUBSCRIPTIONS,
        rounds = report.rounds,
        elapsed = report.elapsed.as_secs_f64(),
        total = counts.server_errors
            + counts.rate_limited
            + counts.dropped_before
            + counts.dropped_after
            + counts.slowed_after,
        server = counts.server_errors,
        limited = counts.rate_limited,
        before = counts.dropped_before,
        after = counts.dropped_after,
        slow = counts.slowed_after,
        resent = report.resent,
        unknown = report.resent_unknown_outcome,
        kinds = report
            .resent_kinds
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", "),
        accepted = report.accepted,
        dup_reported = report.duplicates_reported,
        distinct = stored.len(),
        missing = missing.len(),
    );

    assert!(
        report.unrecorded.is_empty(),
        "{} events not recorded, e.g. {:?}",
        report.unrecorded.len(),
        report.unrecorded.first()
    );
    assert!(
        missing.is_empty(),
        "lost events, e.g. {:?}",
        missing.first()
    );
    assert_eq!(
        stored.len(),
        EVENTS,
        "only the events sent were stored (ids: {:?}...)",
        stored.keys().next()
    );
    if backend.capabilities().usage_dedup_by_event_id {
        assert_eq!(duplicates, 0, "every event is stored exactly once");
    } else {
        // No deduplication: an event is stored twice only when a write committed but its answer
        // was lost (dropped after the write, or later than the client's timeout) and the
        // application resent it. Such a resend follows an unknown outcome
        // (`EventOutcome::Unknown`); every other resend follows an answer that the event was
        // not stored. The API has no way to read an event back, so
        // a lost answer cannot be told from a write that never arrived: this is the floor.
        assert!(
            duplicates <= report.resent_unknown_outcome,
            "{duplicates} duplicates for {} resends after an unknown outcome",
            report.resent_unknown_outcome
        );
    }
    assert!(
        counts.server_errors > 0
            && counts.rate_limited > 0
            && counts.dropped_before > 0
            && counts.dropped_after > 0
            && counts.slowed_after > 0,
        "every kind of fault was injected: {counts:?}"
    );
}
