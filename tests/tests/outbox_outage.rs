//! A vendor outage, then recovery: the outbox keeps every event while the simulator answers 503
//! to every usage request, pauses the failing destination instead of sending each event in
//! turn, and delivers everything, each event once, within a bounded time after the vendor
//! recovers (the retry cap plus the time to send).
//!
//! The regular tests use a short outage and short backoff; the one-minute outage with the
//! outbox's production-like backoff is in the soak tier (`#[ignore]`, `.ci/run` runs it):
//!
//! ```sh
//! cargo test -p billing-conformance --test outbox_outage -- --ignored --nocapture
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use billing::UsageEvent;
use billing::outbox::{Destination, Outbox};
use billing_conformance::outbox::StoreKind;
use billing_conformance::sims::{SimTarget, Vendor};
use billing_sim::{FaultConfig, SimOptions};

const EVENTS: usize = 200;

#[derive(Debug, Clone, Copy)]
struct Plan {
    outage: Duration,
    retry_base_ms: u64,
    retry_max_ms: u64,
    http: &'static str,
}

const SHORT: Plan = Plan {
    outage: Duration::from_millis(1_500),
    retry_base_ms: 50,
    retry_max_ms: 500,
    http: "timeout_ms = 1000\nconnect_timeout_ms = 500\nmax_retries = 2\n\
           retry_base_delay_ms = 20\nmax_retry_delay_ms = 100\ntotal_budget_ms = 1500\n",
};

const MINUTE: Plan = Plan {
    outage: Duration::from_secs(60),
    retry_base_ms: 1_000,
    retry_max_ms: 10_000,
    http: "timeout_ms = 2000\nconnect_timeout_ms = 1000\nmax_retries = 4\n\
           retry_base_delay_ms = 100\nmax_retry_delay_ms = 1000\ntotal_budget_ms = 5000\n",
};

fn usage_path(vendor: Vendor) -> &'static str {
    match vendor {
        Vendor::Lago => "/events",
        Vendor::KillBill => "/usages",
        Vendor::BillaBear => "/events",
    }
}

async fn outage_then_recovery(vendor: Vendor, kind: StoreKind, plan: Plan) {
    let target = Arc::new(SimTarget::start(vendor, SimOptions::default()).await);
    let backend = target.connect(plan.http);
    let ctx = target.ctx(backend.clone());
    let mut subs = Vec::new();
    for n in 0..2 {
        subs.push(ctx.subscribed(&format!("out{n}"), ctx.starter()).await);
    }
    let store = kind.fresh().await;
    let mut config = store.config.clone();
    config.retry_base_delay_ms = plan.retry_base_ms;
    config.retry_max_delay_ms = plan.retry_max_ms;
    config.poll_ms = 50;
    config.send_timeout_ms = 10_000;
    config.lease_ms = 20_000;
    let outbox = Outbox::open(&config, vec![Destination::new(vendor.name(), backend)])
        .await
        .unwrap();

    target.server().faults().set(FaultConfig {
        error_503: 1.0,
        only_paths_containing: Some(usage_path(vendor).into()),
        ..FaultConfig::none()
    });
    let events: Vec<UsageEvent> = (0..EVENTS)
        .map(|i| ctx.event(&format!("o{i}"), &subs[i % 2].key, ctx.api_calls(), "1"))
        .collect();
    outbox.record(&events).await.unwrap();
    let requests = || {
        target
            .server()
            .log()
            .snapshot()
            .iter()
            .filter(|r| r.method == "POST" && r.raw_path.contains(usage_path(vendor)))
            .count()
    };
    let delivery = outbox.start();
    tokio::time::sleep(plan.outage).await;
    let during = requests();
    let refused = target.server().faults().counts().server_errors;
    let stats = outbox.stats().await.unwrap();
    assert_eq!(
        stats.pending + stats.in_flight,
        EVENTS as u64,
        "kept everything during the outage: {stats:?}"
    );
    assert_eq!(stats.dead_letters + stats.held_unknown, 0);

    target.server().faults().set(FaultConfig::none());
    let recovered = Instant::now();
    // The bound: the longest backoff (a delivery or the paused destination may have just
    // started waiting it), plus generous time to send everything on a loaded machine.
    let bound = Duration::from_millis(plan.retry_max_ms) + Duration::from_secs(20);
    let stats = delivery.drain(bound).await.unwrap();
    let took = recovered.elapsed();
    assert!(
        stats.is_drained(),
        "delivered within {bound:?} of recovery: {stats:?}"
    );
    assert_eq!(stats.dead_letters + stats.held_unknown, 0, "{stats:?}");

    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    for s in &subs {
        for id in target.stored_event_ids(s) {
            *stored.entry(id).or_default() += 1;
        }
    }
    assert_eq!(stored.len(), EVENTS, "every event delivered");
    assert!(stored.values().all(|n| *n == 1), "each once");
    println!(
        "{vendor:?} on {kind:?}: {:.1} s outage, {during} usage requests during it ({refused} \
         answered 503) for {EVENTS} events; everything delivered {:.2} s after recovery \
         (backoff cap {} ms)",
        plan.outage.as_secs_f64(),
        took.as_secs_f64(),
        plan.retry_max_ms
    );
    if vendor != Vendor::Lago {
        // One event per request: without the destination's pause each event would be tried
        // again and again during the outage.
        assert!(
            during < EVENTS,
            "{during} requests during the outage for {EVENTS} events"
        );
    }
}

macro_rules! outage_tests {
    ($($name:ident: $vendor:expr, $kind:expr, $plan:expr $(, #[$attr:meta])*;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn $name() {
            outage_then_recovery($vendor, $kind, $plan).await;
        }
    )*};
}

outage_tests! {
    lago_sqlite: Vendor::Lago, StoreKind::Sqlite, SHORT;
    killbill_sqlite: Vendor::KillBill, StoreKind::Sqlite, SHORT;
    billabear_sqlite: Vendor::BillaBear, StoreKind::Sqlite, SHORT;
    lago_postgres: Vendor::Lago, StoreKind::Postgres, SHORT,
        #[cfg_attr(postgres_unavailable, ignore = "PostgreSQL is not installed (apt-get install postgresql; CI installs it)")];
    killbill_postgres: Vendor::KillBill, StoreKind::Postgres, SHORT,
        #[cfg_attr(postgres_unavailable, ignore = "PostgreSQL is not installed (apt-get install postgresql; CI installs it)")];
    billabear_postgres: Vendor::BillaBear, StoreKind::Postgres, SHORT,
        #[cfg_attr(postgres_unavailable, ignore = "PostgreSQL is not installed (apt-get install postgresql; CI installs it)")];
    minute_lago_sqlite: Vendor::Lago, StoreKind::Sqlite, MINUTE,
        #[ignore = "soak tier: a one-minute outage; cargo test -p billing-conformance --test outbox_outage -- --ignored"];
    minute_killbill_postgres: Vendor::KillBill, StoreKind::Postgres, MINUTE,
        #[ignore = "soak tier: a one-minute outage; cargo test -p billing-conformance --test outbox_outage -- --ignored"];
    minute_billabear_sqlite: Vendor::BillaBear, StoreKind::Sqlite, MINUTE,
        #[ignore = "soak tier: a one-minute outage; cargo test -p billing-conformance --test outbox_outage -- --ignored"];
}
