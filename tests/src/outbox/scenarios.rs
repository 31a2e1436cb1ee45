//! The outbox's behaviour, one scenario per rule, each on a fresh store of the given kind,
//! delivering to scripted in-memory backends.

use std::time::Duration;

use billing::outbox::{ClaimRequest, Destination, ListQuery, Outbox, Parked, Selection};
use billing::{
    BillingBackend, Error, ErrorKind, EventOutcome, MetricCode, SubscriptionKey, UsageQuery,
    VendorDetail,
};
use futures::future::BoxFuture;

use std::sync::Arc;

use super::scripted::{Scripted, event, subscribed};
use super::{StoreKind, TestStore};

/// A fresh store, a scripted backend with a subscription, and an outbox delivering to it.
struct World {
    store: TestStore,
    backend: Arc<Scripted>,
    sub: SubscriptionKey,
    outbox: Outbox,
}

impl World {
    async fn new(kind: StoreKind, destination: &str, backend: Arc<Scripted>) -> Self {
        let store = kind.fresh().await;
        let sub = subscribed(backend.as_ref()).await;
        let outbox = Outbox::open(
            &store.config,
            vec![Destination::new(destination, backend.clone())],
        )
        .await
        .unwrap();
        Self {
            store,
            backend,
            sub,
            outbox,
        }
    }
}

/// Long enough for any of these drains on a loaded machine; they end as soon as the outbox is
/// empty.
const DRAIN: Duration = Duration::from_secs(30);

fn api_calls() -> MetricCode {
    MetricCode::new("api_calls").unwrap()
}

async fn quantity(backend: &dyn BillingBackend, sub: &SubscriptionKey) -> i64 {
    let u = backend
        .usage(&UsageQuery::current(sub.clone()))
        .await
        .unwrap();
    u.quantity(&api_calls()).try_into().unwrap()
}

/// Recorded events are counted, then delivered in the destination's batch size, each once.
pub fn delivered_in_batches(kind: StoreKind) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let World {
            store: _store,
            backend,
            sub,
            outbox,
        } = World::new(
            kind,
            "memory",
            Scripted::new(true, 7, Box::new(|_, _| None)),
        )
        .await;
        let events: Vec<_> = (0..50).map(|i| event(&format!("e{i}"), &sub, 2)).collect();
        let done = outbox.record(&events).await.unwrap();
        assert_eq!((done.stored, done.already_queued), (50, 0));
        let stats = outbox.stats().await.unwrap();
        assert_eq!(stats.pending, 50);
        assert!(stats.oldest_pending_age.is_some());

        let stats = outbox.start().drain(DRAIN).await.unwrap();
        assert!(stats.is_drained(), "{stats:?}");
        assert_eq!(stats.dead_letters + stats.held_unknown, 0);
        assert_eq!(quantity(backend.as_ref(), &sub).await, 100);
        assert!(
            backend.calls().iter().all(|&n| n <= 7),
            "{:?}",
            backend.calls()
        );
        assert_eq!(backend.calls().iter().sum::<usize>(), 50, "each sent once");
    })
}

/// Recording an event the outbox still holds stores it once; a bad event stores nothing of
/// its call; an event no destination takes is refused.
pub fn recorded_once_and_all_or_nothing(kind: StoreKind) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let World {
            store,
            backend,
            sub,
            outbox,
        } = World::new(kind, "m", Scripted::new(true, 100, Box::new(|_, _| None))).await;
        let a = event("a", &sub, 1);
        let done = outbox.record(&[a.clone(), a.clone()]).await.unwrap();
        assert_eq!((done.stored, done.already_queued), (1, 1));
        let done = outbox.record(&[a]).await.unwrap();
        assert_eq!((done.stored, done.already_queued), (0, 1));

        let mut bad = event("b", &sub, 1);
        bad.quantity = (-1).into();
        let e = outbox
            .record(&[event("c", &sub, 1), bad])
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(outbox.stats().await.unwrap().pending, 1, "all or nothing");

        let only_other = Outbox::open(
            &store.config,
            vec![Destination::new("m", backend.clone()).only(|e| e.id.as_str() != "x")],
        )
        .await
        .unwrap();
        let e = only_other.record(&[event("x", &sub, 1)]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "no destination takes it");
    })
}

/// A permanent rejection is a dead letter with the vendor's detail, listed, and delivered once
/// re-driven.
pub fn dead_letter_until_re_driven(kind: StoreKind) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let World {
            store: _store,
            backend,
            sub,
            outbox,
        } = World::new(
            kind,
            "m",
            Scripted::new(
                true,
                100,
                Box::new(|e, _| {
                    (e.id.as_str() == "bad").then(|| {
                        EventOutcome::Rejected(
                            Error::invalid_input("metric not billable").with_vendor(
                                VendorDetail::status(422).with_code("metric_not_found"),
                            ),
                        )
                    })
                }),
            ),
        )
        .await;
        outbox
            .record(&[event("good", &sub, 1), event("bad", &sub, 5)])
            .await
            .unwrap();
        let stats = outbox.start().drain(DRAIN).await.unwrap();
        assert_eq!((stats.pending, stats.dead_letters), (0, 1), "{stats:?}");
        assert_eq!(
            backend.attempts("bad"),
            1,
            "a permanent rejection is not retried"
        );

        let dead = outbox.list_all(Parked::DeadLetter, None).await.unwrap();
        assert_eq!(dead.len(), 1);
        let d = &dead[0];
        assert_eq!(d.id.destination, "m");
        assert_eq!(d.event.as_ref().unwrap().id.as_str(), "bad");
        assert_eq!(d.error.kind, "invalid input");
        assert_eq!(d.error.status, Some(422));
        assert_eq!(d.error.code.as_deref(), Some("metric_not_found"));
        assert_eq!(d.attempts, 1);
        let held = outbox.list_all(Parked::HeldUnknown, None).await.unwrap();
        assert!(held.is_empty());

        // The cause is fixed; re-drive it by id.
        backend.set_script(Box::new(|_, _| None));
        let n = outbox
            .redrive(Parked::DeadLetter, Selection::Ids(vec![d.id.clone()]))
            .await
            .unwrap();
        assert_eq!(n, 1);
        let stats = outbox.start().drain(DRAIN).await.unwrap();
        assert!(stats.is_drained() && stats.dead_letters == 0, "{stats:?}");
        assert_eq!(quantity(backend.as_ref(), &sub).await, 6);
    })
}

/// A temporary rejection is retried after a backoff until it goes through; with a bound on
/// attempts, a vendor that never recovers leaves a dead letter.
pub fn temporary_rejection_retried(kind: StoreKind) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let World {
            store: _store,
            backend,
            sub,
            outbox,
        } = World::new(
            kind,
            "m",
            Scripted::new(
                true,
                100,
                Box::new(|_, n| {
                    (n < 4).then(|| {
                        EventOutcome::Rejected(
                            Error::new(ErrorKind::Unavailable, "down")
                                .with_vendor(VendorDetail::status(503)),
                        )
                    })
                }),
            ),
        )
        .await;
        outbox.record(&[event("t", &sub, 3)]).await.unwrap();
        let stats = outbox.start().drain(DRAIN).await.unwrap();
        assert!(stats.is_drained(), "{stats:?}");
        assert_eq!(backend.attempts("t"), 4);
        assert_eq!(quantity(backend.as_ref(), &sub).await, 3);

        let store = kind.fresh().await;
        let down = Scripted::new(
            true,
            100,
            Box::new(|_, _| {
                Some(EventOutcome::Rejected(Error::new(
                    ErrorKind::Unavailable,
                    "down",
                )))
            }),
        );
        let sub = subscribed(down.as_ref()).await;
        let mut c = store.config.clone();
        c.retry_max_attempts = Some(3);
        let outbox = Outbox::open(&c, vec![Destination::new("m", down.clone())])
            .await
            .unwrap();
        outbox.record(&[event("t", &sub, 3)]).await.unwrap();
        let stats = outbox.start().drain(DRAIN).await.unwrap();
        assert_eq!(stats.dead_letters, 1, "{stats:?}");
        assert_eq!(down.attempts("t"), 3);
        let dead = outbox.list_all(Parked::DeadLetter, None).await.unwrap();
        assert_eq!(dead[0].error.kind, "unavailable");
        assert_eq!(dead[0].attempts, 3);
    })
}

/// An unknown outcome is resent where the destination deduplicates; otherwise it is held and
/// listed until an operator releases it (resent) or marks it done.
pub fn unknown_resent_or_held(kind: StoreKind) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let lost = |e: &billing::UsageEvent, n: u32| {
            (e.id.as_str() == "lost" && n == 1)
                .then(|| EventOutcome::Unknown(Error::new(ErrorKind::Timeout, "answer lost")))
        };
        let World {
            store: _store,
            backend: dedup,
            sub,
            outbox,
        } = World::new(kind, "m", Scripted::new(true, 100, Box::new(lost))).await;
        outbox.record(&[event("lost", &sub, 4)]).await.unwrap();
        let stats = outbox.start().drain(DRAIN).await.unwrap();
        assert!(stats.is_drained() && stats.held_unknown == 0, "{stats:?}");
        assert_eq!(dedup.attempts("lost"), 2);

        let World {
            store: _store,
            backend: plain,
            sub,
            outbox,
        } = World::new(kind, "bb", Scripted::new(false, 1, Box::new(lost))).await;
        outbox
            .record(&[event("lost", &sub, 4), event("fine", &sub, 1)])
            .await
            .unwrap();
        let stats = outbox.start().drain(DRAIN).await.unwrap();
        assert_eq!((stats.pending, stats.held_unknown), (0, 1), "{stats:?}");
        assert_eq!(plain.attempts("lost"), 1, "not resent");
        let held = outbox
            .list_all(Parked::HeldUnknown, Some("bb"))
            .await
            .unwrap();
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].error.kind, "timeout");
        assert_eq!(held[0].event.as_ref().unwrap().id.as_str(), "lost");

        // The operator checked: the vendor does not have it. Release it (resend).
        let n = outbox
            .redrive(Parked::HeldUnknown, Selection::Destination("bb".into()))
            .await
            .unwrap();
        assert_eq!(n, 1);
        let stats = outbox.start().drain(DRAIN).await.unwrap();
        assert!(stats.is_drained() && stats.held_unknown == 0, "{stats:?}");
        assert_eq!(plain.attempts("lost"), 2);
        assert_eq!(quantity(plain.as_ref(), &sub).await, 5);

        // Or the vendor has it: mark it done without sending.
        outbox.record(&[event("lost2", &sub, 1)]).await.unwrap();
        plain.set_script(Box::new(|_, _| {
            Some(EventOutcome::Unknown(Error::new(
                ErrorKind::Unavailable,
                "connection lost",
            )))
        }));
        let stats = outbox.start().drain(DRAIN).await.unwrap();
        assert_eq!(stats.held_unknown, 1);
        let n = outbox
            .mark_done(Parked::HeldUnknown, Selection::All)
            .await
            .unwrap();
        assert_eq!(n, 1);
        let stats = outbox.stats().await.unwrap();
        assert_eq!(stats.held_unknown + stats.pending, 0, "{stats:?}");
    })
}

/// A batch claimed by a process that died before settling it is taken up when its lease
/// expires: resent where the destination deduplicates, held otherwise (it may have arrived).
pub fn abandoned_lease(kind: StoreKind) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        for dedup in [true, false] {
            let World {
                store: _store,
                backend,
                sub,
                outbox,
            } = World::new(kind, "m", Scripted::new(dedup, 100, Box::new(|_, _| None))).await;
            outbox
                .record(&[event("a", &sub, 1), event("b", &sub, 1)])
                .await
                .unwrap();
            let now = billing::chrono::Utc::now().timestamp_millis();
            let claimed = outbox
                .store()
                .claim(ClaimRequest {
                    destination: "m".into(),
                    limit: 10,
                    now,
                    lease_until: now + 300,
                    owner: "dead-process".into(),
                })
                .await
                .unwrap();
            assert_eq!(claimed.len(), 2);
            assert!(claimed.iter().all(|c| !c.abandoned && c.attempts == 1));
            let stats = outbox.stats().await.unwrap();
            assert_eq!((stats.pending, stats.in_flight), (0, 2));

            let stats = outbox.start().drain(DRAIN).await.unwrap();
            assert!(stats.is_drained(), "{stats:?}");
            if dedup {
                assert_eq!(stats.held_unknown, 0);
                assert_eq!(quantity(backend.as_ref(), &sub).await, 2);
            } else {
                assert_eq!(stats.held_unknown, 2);
                assert_eq!(backend.attempts("a") + backend.attempts("b"), 0);
                let held = outbox.list_all(Parked::HeldUnknown, None).await.unwrap();
                assert!(
                    held.iter()
                        .all(|h| h.error.kind == "unknown outcome" && h.attempts == 2)
                );
            }
        }
    })
}

/// Events recorded before a restart are delivered after it.
pub fn restart_continues(kind: StoreKind) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let store = kind.fresh().await;
        let backend = Scripted::new(true, 10, Box::new(|_, _| None));
        let sub = subscribed(backend.as_ref()).await;
        {
            let outbox = Outbox::open(&store.config, vec![Destination::new("m", backend.clone())])
                .await
                .unwrap();
            let events: Vec<_> = (0..30).map(|i| event(&format!("r{i}"), &sub, 1)).collect();
            outbox.record(&events).await.unwrap();
        }
        let outbox = Outbox::open(&store.config, vec![Destination::new("m", backend.clone())])
            .await
            .unwrap();
        assert_eq!(outbox.stats().await.unwrap().pending, 30);
        let stats = outbox.start().drain(DRAIN).await.unwrap();
        assert!(stats.is_drained());
        assert_eq!(quantity(backend.as_ref(), &sub).await, 30);
    })
}

/// Concurrent `record` calls are all committed.
pub fn concurrent_records(kind: StoreKind) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let World {
            store: _store,
            backend: _,
            sub,
            outbox,
        } = World::new(kind, "m", Scripted::new(true, 100, Box::new(|_, _| None))).await;
        let tasks: Vec<_> = (0..16)
            .map(|t| {
                let outbox = outbox.clone();
                let sub = sub.clone();
                tokio::spawn(async move {
                    for i in 0..25 {
                        outbox
                            .record(&[event(&format!("c{t}-{i}"), &sub, 1)])
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(outbox.stats().await.unwrap().pending, 400);
    })
}

/// Two destinations (dual-running): each event is delivered to both, each delivery tracked on
/// its own.
pub fn dual_running(kind: StoreKind) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let store = kind.fresh().await;
        let old = Scripted::new(true, 100, Box::new(|_, _| None));
        let new = Scripted::new(
            false,
            1,
            Box::new(|e, _| {
                (e.id.as_str() == "e1").then(|| {
                    EventOutcome::Rejected(Error::invalid_input("refused by the new vendor"))
                })
            }),
        );
        let sub = subscribed(old.as_ref()).await;
        subscribed(new.as_ref()).await;
        let outbox = Outbox::open(
            &store.config,
            vec![
                Destination::new("old", old.clone()),
                Destination::new("new", new.clone()),
            ],
        )
        .await
        .unwrap();
        outbox
            .record(&[event("e1", &sub, 1), event("e2", &sub, 2)])
            .await
            .unwrap();
        let stats = outbox.start().drain(DRAIN).await.unwrap();
        assert_eq!(quantity(old.as_ref(), &sub).await, 3);
        assert_eq!(quantity(new.as_ref(), &sub).await, 2);
        assert_eq!(
            new.attempts("e2"),
            1,
            "sent once to the vendor that counts every copy"
        );
        assert_eq!(stats.dead_letters, 1);
        let by_name = |n: &str| {
            stats
                .destinations
                .iter()
                .find(|d| d.destination == n)
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(by_name("new").dead_letters, 1);
        assert_eq!(by_name("old").dead_letters, 0);
        let dead = outbox
            .list_all(Parked::DeadLetter, Some("old"))
            .await
            .unwrap();
        assert!(dead.is_empty());
    })
}

/// A store opened read-only refuses to record, with a clear error, and can still be inspected.
pub fn read_only_store(kind: StoreKind) -> BoxFuture<'static, ()> {
    Box::pin(async move {
        let store = kind.fresh().await;
        let backend = Scripted::new(true, 100, Box::new(|_, _| None));
        let sub = subscribed(backend.as_ref()).await;
        let writer = Outbox::open(&store.config, vec![Destination::new("m", backend.clone())])
            .await
            .unwrap();
        writer.record(&[event("w", &sub, 1)]).await.unwrap();
        let mut ro = store.config.clone();
        ro.read_only = true;
        let reader = Outbox::open(&ro, vec![Destination::new("m", backend.clone())])
            .await
            .unwrap();
        let e = reader.record(&[event("r", &sub, 1)]).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
        assert!(
            e.to_string().contains("outbox.read_only"),
            "names the setting: {e}"
        );
        assert_eq!(reader.stats().await.unwrap().pending, 1);
        let page = reader
            .list(
                Parked::DeadLetter,
                ListQuery {
                    destination: None,
                    after: None,
                    limit: 10,
                },
            )
            .await
            .unwrap();
        assert!(page.is_empty());
        let e = reader
            .redrive(Parked::DeadLetter, Selection::All)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    })
}
