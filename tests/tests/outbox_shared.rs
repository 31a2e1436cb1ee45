//! Two processes share one PostgreSQL outbox: both deliver at once, claiming batches with
//! `FOR UPDATE SKIP LOCKED` and leases, and each event reaches the vendor exactly once: on
//! BillaBear and Kill Bill (one request per event, no faults), the simulator receives exactly
//! one usage request per event and stores each event once.
//!
//! Ignored where PostgreSQL is not installed (outside CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use billing::UsageEvent;
use billing::outbox::{Destination, Outbox};
use billing_conformance::outbox::StoreKind;
use billing_conformance::outbox::worker::{Worker, config_toml, write_config};
use billing_conformance::sims::{SimTarget, Vendor};
use billing_sim::SimOptions;

const EVENTS: usize = 600;
const WORKER: &str = env!("CARGO_BIN_EXE_outbox_worker");

async fn two_processes(vendor: Vendor) {
    let target = Arc::new(SimTarget::start(vendor, SimOptions::default()).await);
    let backend = target.connect("");
    let ctx = target.ctx(backend.clone());
    let mut subs = Vec::new();
    for n in 0..3 {
        subs.push(ctx.subscribed(&format!("shared{n}"), ctx.starter()).await);
    }
    let store = StoreKind::Postgres.fresh().await;
    // The application records; two other processes deliver.
    let outbox = Outbox::open(
        &store.config,
        vec![Destination::new(vendor.name(), backend)],
    )
    .await
    .unwrap();
    let events: Vec<UsageEvent> = (0..EVENTS)
        .map(|i| ctx.event(&format!("s{i}"), &subs[i % 3].key, ctx.api_calls(), "1"))
        .collect();
    outbox.record(&events).await.unwrap();
    let before = target.server().log().len();

    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "worker.toml",
        &config_toml(&target, &store.config, 4),
    );
    let mut a = Worker::spawn(WORKER, &config, &[]);
    let mut b = Worker::spawn(WORKER, &config, &[]);
    let (da, db) = tokio::join!(
        a.line("drained", Duration::from_secs(120)),
        b.line("drained", Duration::from_secs(120))
    );
    let delivered = |line: Option<String>| -> u64 {
        let line = line.expect("the worker drained the outbox");
        let counters = line.split(' ').nth(1).expect("counters");
        let v: serde_json::Value = serde_json::from_str(counters).unwrap();
        v["delivered"].as_u64().unwrap()
    };
    let (by_a, by_b) = (delivered(da), delivered(db));
    assert_eq!(
        by_a + by_b,
        EVENTS as u64,
        "each delivery counted by one process"
    );
    assert!(a.wait().await && b.wait().await);

    let stats = outbox.stats().await.unwrap();
    assert!(stats.is_drained(), "{stats:?}");
    assert_eq!(stats.dead_letters + stats.held_unknown, 0, "{stats:?}");
    let usage_posts = target.server().log().snapshot()[before..]
        .iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(
        usage_posts, EVENTS,
        "one request per event: nothing sent twice"
    );
    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    for s in &subs {
        for id in target.stored_event_ids(s) {
            *stored.entry(id).or_default() += 1;
        }
    }
    assert_eq!(stored.len(), EVENTS);
    assert!(stored.values().all(|n| *n == 1), "each event stored once");
    println!(
        "{vendor:?}: {EVENTS} events, {by_a} delivered by one process and {by_b} by the other, \
         {usage_posts} requests"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    postgres_unavailable,
    ignore = "PostgreSQL is not installed (apt-get install postgresql; CI installs it)"
)]
async fn billabear_two_processes_one_outbox() {
    two_processes(Vendor::BillaBear).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    postgres_unavailable,
    ignore = "PostgreSQL is not installed (apt-get install postgresql; CI installs it)"
)]
async fn killbill_two_processes_one_outbox() {
    two_processes(Vendor::KillBill).await;
}
