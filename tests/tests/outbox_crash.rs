//! The outbox survives its process being killed: a worker process records N events through
//! the outbox and delivers them to a vendor's simulator; it is killed with SIGKILL at random
//! points during delivery, several times, and started again, until the outbox is drained.
//!
//! - Lago and Kill Bill deduplicate by event id: every event ends up stored exactly once.
//! - BillaBear does not: no event is missing, and every event that was in flight when a
//!   process was killed is listed as a held unknown outcome. Each held one is stored once or
//!   not at all (it was or was not sent before the kill); the operator marks the stored ones
//!   done and releases the others, and then every event is stored exactly once.
//!
//! On SQLite and on PostgreSQL (ignored where PostgreSQL is not installed, outside CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use billing::Subscription;
use billing::outbox::{DeliveryId, Destination, Outbox, Parked, Selection};
use billing_conformance::outbox::worker::{Worker, config_toml, write_config};
use billing_conformance::outbox::{StoreKind, quick};
use billing_conformance::sims::{SimTarget, Vendor};
use billing_sim::SimOptions;

const EVENTS: usize = 400;
const KILLS: usize = 4;
const WORKER: &str = env!("CARGO_BIN_EXE_outbox_worker");

/// Usage requests the simulator received (the only writes during delivery).
fn usage_requests(target: &SimTarget) -> usize {
    target
        .server()
        .log()
        .snapshot()
        .iter()
        .filter(|r| {
            r.method == "POST" && (r.raw_path.contains("event") || r.raw_path.contains("usages"))
        })
        .count()
}

fn stored(target: &SimTarget, subs: &[Subscription]) -> BTreeMap<String, usize> {
    let mut stored = BTreeMap::new();
    for s in subs {
        for id in target.stored_event_ids(s) {
            *stored.entry(id).or_default() += 1;
        }
    }
    stored
}

async fn crash_and_restart(vendor: Vendor, kind: StoreKind, seed: u64) {
    let target = Arc::new(SimTarget::start(vendor, SimOptions::default()).await);
    let ctx = target.ctx(target.connect(""));
    let mut subs = Vec::new();
    for n in 0..4 {
        subs.push(ctx.subscribed(&format!("crash{n}"), ctx.starter()).await);
    }
    let store = kind.fresh().await;
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "worker.toml",
        &config_toml(&target, &store.config, 4),
    );
    let prefix = ctx.key("ev");
    let sub_list = subs
        .iter()
        .map(|s| s.key.to_string())
        .collect::<Vec<_>>()
        .join(",");

    let mut rng = fastrand::Rng::with_seed(seed);
    let mut kills = 0;
    for round in 0..KILLS {
        let args = if round == 0 {
            vec![
                "--record".into(),
                EVENTS.to_string(),
                prefix.clone(),
                sub_list.clone(),
            ]
        } else {
            Vec::new()
        };
        let before = usage_requests(&target);
        let mut worker = Worker::spawn(WORKER, &config, &args);
        if round == 0 {
            worker
                .line("recorded", Duration::from_secs(60))
                .await
                .expect("the first worker records the events");
        }
        // Kill after a random number of usage requests (a random point of the delivery).
        let after = rng.usize(1..=if vendor == Vendor::Lago { 2 } else { 60 });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while usage_requests(&target) < before + after && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(rng.u64(1..5))).await;
        }
        worker.kill().await;
        kills += 1;
    }
    let mut last = Worker::spawn(WORKER, &config, &[]);
    let drained = last.line("drained", Duration::from_secs(120)).await;
    assert!(last.wait().await, "the last worker exits cleanly");
    assert!(drained.is_some(), "the last worker drained the outbox");

    let outbox = Outbox::open(&quick(store.config.clone()), Vec::new())
        .await
        .unwrap();
    let stats = outbox.stats().await.unwrap();
    let held = outbox.list_all(Parked::HeldUnknown, None).await.unwrap();
    let dead = outbox.list_all(Parked::DeadLetter, None).await.unwrap();
    assert!(dead.is_empty(), "no dead letters: {dead:?}");
    assert!(stats.is_drained(), "{stats:?}");
    let counts = stored(&target, &subs);
    let expected: BTreeSet<String> = (0..EVENTS).map(|i| format!("{prefix}-{i}")).collect();
    let held_ids: BTreeSet<String> = held
        .iter()
        .map(|h| h.event.as_ref().expect("decodable").id.to_string())
        .collect();
    let missing: Vec<&String> = expected
        .iter()
        .filter(|id| !counts.contains_key(*id) && !held_ids.contains(*id))
        .collect();
    assert!(missing.is_empty(), "lost events: {missing:?}");
    assert!(
        counts.keys().all(|id| expected.contains(id)),
        "only these events"
    );
    println!(
        "{vendor:?} on {kind:?}: {EVENTS} events, {kills} kills, {} usage requests, {} held \
         unknown",
        usage_requests(&target),
        held.len()
    );

    if ctx.caps().usage_dedup_by_event_id {
        assert!(held.is_empty(), "a deduplicating vendor needs no decision");
        let doubled: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
        assert!(doubled.is_empty(), "stored more than once: {doubled:?}");
        return;
    }
    // BillaBear: every event that was not in flight at a kill is stored exactly once; each held
    // one is stored once (sent before the kill) or not at all.
    for (id, n) in &counts {
        assert_eq!(*n, 1, "event {id} stored {n} times");
    }
    // The operator's decision, checked against the vendor's records: mark the stored ones
    // done, release the others.
    let (arrived, lost): (Vec<_>, Vec<_>) = held
        .iter()
        .partition(|h| counts.contains_key(&h.event.as_ref().expect("decodable").id.to_string()));
    let ids = |v: &[&billing::outbox::ParkedDelivery]| -> Vec<DeliveryId> {
        v.iter().map(|h| h.id.clone()).collect()
    };
    if !arrived.is_empty() {
        let n = outbox
            .mark_done(Parked::HeldUnknown, Selection::Ids(ids(&arrived)))
            .await
            .unwrap();
        assert_eq!(n as usize, arrived.len());
    }
    if !lost.is_empty() {
        let n = outbox
            .redrive(Parked::HeldUnknown, Selection::Ids(ids(&lost)))
            .await
            .unwrap();
        assert_eq!(n as usize, lost.len());
        let delivering = Outbox::open(
            &quick(store.config.clone()),
            vec![Destination::new(vendor.name(), target.connect(""))],
        )
        .await
        .unwrap();
        let stats = delivering
            .start()
            .drain(Duration::from_secs(60))
            .await
            .unwrap();
        assert!(stats.is_drained() && stats.held_unknown == 0, "{stats:?}");
    }
    let counts = stored(&target, &subs);
    assert_eq!(counts.len(), EVENTS);
    assert!(counts.values().all(|n| *n == 1), "every event exactly once");
    println!(
        "  operator: {} held marked done (the vendor had them), {} released and delivered",
        arrived.len(),
        lost.len()
    );
}

macro_rules! crash_tests {
    ($($name:ident: $vendor:expr, $kind:expr, $seed:expr $(, #[$attr:meta])*;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        $(#[$attr])*
        async fn $name() {
            crash_and_restart($vendor, $kind, $seed).await;
        }
    )*};
}

crash_tests! {
    lago_sqlite: Vendor::Lago, StoreKind::Sqlite, 1;
    killbill_sqlite: Vendor::KillBill, StoreKind::Sqlite, 2;
    billabear_sqlite: Vendor::BillaBear, StoreKind::Sqlite, 3;
    lago_postgres: Vendor::Lago, StoreKind::Postgres, 4,
        #[cfg_attr(postgres_unavailable, ignore = "PostgreSQL is not installed (apt-get install postgresql; CI installs it)")];
    killbill_postgres: Vendor::KillBill, StoreKind::Postgres, 5,
        #[cfg_attr(postgres_unavailable, ignore = "PostgreSQL is not installed (apt-get install postgresql; CI installs it)")];
    billabear_postgres: Vendor::BillaBear, StoreKind::Postgres, 6,
        #[cfg_attr(postgres_unavailable, ignore = "PostgreSQL is not installed (apt-get install postgresql; CI installs it)")];
}
