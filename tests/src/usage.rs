//! Usage scenarios.

use billing::chrono::{Duration, SubsecRound, Utc};
use billing::{BillingExt, ErrorKind, EventOutcome, MetricCode, Recorded, UsageEvent, UsageQuery};
use futures::future::BoxFuture;

use crate::ctx::{Ctx, assert_kind, dec};

/// Without `usage_current_period`, reading the current period is refused before any request.
async fn current_period_refused(ctx: &Ctx, sub: &billing::SubscriptionKey) {
    ctx.refused_before_sending(
        ErrorKind::Unsupported,
        ctx.backend().usage(&UsageQuery::current(sub.clone())),
    )
    .await;
}

/// Records `events`, each of which must be recorded.
async fn record_all(ctx: &Ctx, events: &[UsageEvent]) {
    let outcomes = ctx.backend().record_usage(events).await;
    assert!(
        outcomes.iter().all(EventOutcome::is_recorded),
        "{:?}",
        kinds(&outcomes)
    );
}

fn kinds(outcomes: &[EventOutcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            EventOutcome::Accepted => "accepted".to_owned(),
            EventOutcome::Duplicate => "duplicate".to_owned(),
            EventOutcome::Rejected(e) => format!("rejected:{:?}", e.kind()),
            EventOutcome::Unknown(e) => format!("unknown:{:?}", e.kind()),
        })
        .collect()
}

/// One event, then the current period's usage counts it.
pub fn record_single_and_read(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("one", ctx.starter()).await;
        let e = ctx.event("e1", &s.key, ctx.api_calls(), "5");
        assert_eq!(
            ctx.backend().record_one(&e).await.unwrap(),
            Recorded::Accepted
        );
        if !ctx.caps().usage_current_period {
            ctx.refused_before_sending(
                ErrorKind::Unsupported,
                ctx.backend().usage(&UsageQuery::current(s.key.clone())),
            )
            .await;
            return;
        }
        let q = UsageQuery::current(s.key.clone()).metric(ctx.api_calls());
        let summary = ctx
            .usage_until(&q, |u| u.quantity(&ctx.api_calls()) == dec("5"))
            .await;
        assert_eq!(summary.lines.len(), 1);
        assert_eq!(summary.quantity(&ctx.api_calls()), dec("5"));
        assert!(summary.period.contains(e.timestamp), "{:?}", summary.period);
    })
}

/// With `usage_amounts`, the line of a metric the plan charges carries the vendor's price of
/// the usage, in the plan's currency; without, every line's amount is `None`.
pub fn amounts_follow_the_capability(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("priced", ctx.starter()).await;
        let e = ctx.event("p1", &s.key, ctx.api_calls(), "300");
        ctx.backend().record_one(&e).await.unwrap();
        let mut q = UsageQuery::current(s.key.clone()).metric(ctx.api_calls());
        if !ctx.caps().usage_current_period {
            let now = Utc::now();
            q = UsageQuery::range(
                s.key.clone(),
                now - Duration::days(1),
                now + Duration::days(1),
            )
            .metric(ctx.api_calls());
        }
        let summary = ctx
            .usage_until(&q, |u| u.quantity(&ctx.api_calls()) == dec("300"))
            .await;
        let line = &summary.lines[0];
        if ctx.caps().usage_amounts {
            let amount = line
                .amount
                .unwrap_or_else(|| panic!("a priced line: {summary:?}"));
            assert!(amount.minor > 0, "{amount:?}");
            assert_eq!(amount.currency, billing::Currency::USD);
        } else {
            assert!(
                summary.lines.iter().all(|l| l.amount.is_none()),
                "{summary:?}"
            );
        }
    })
}

/// A batch gets one outcome per event, in order; bad events do not stop good ones.
pub fn batch_outcomes_in_order(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("batch", ctx.starter()).await;
        let ghost = ctx.subscription_key("ghost-sub");
        let a = ctx.event("a", &s.key, ctx.api_calls(), "1");
        let events = vec![
            a.clone(),
            ctx.event("neg", &s.key, ctx.api_calls(), "-3"),
            ctx.event("lost", &ghost, ctx.api_calls(), "1"),
            ctx.event("b", &s.key, ctx.api_calls(), "2.5"),
            a.clone(),
        ];
        let outcomes = ctx.backend().record_usage(&events).await;
        let got = kinds(&outcomes);
        assert_eq!(outcomes.len(), events.len(), "{got:?}");
        assert_eq!(got[0], "accepted", "{got:?}");
        assert_eq!(got[1], "rejected:InvalidInput", "{got:?}");
        assert_eq!(got[2], "rejected:NotFound", "{got:?}");
        assert_eq!(got[3], "accepted", "{got:?}");
        if ctx.caps().usage_dedup_by_event_id {
            assert_eq!(got[4], "duplicate", "{got:?}");
        } else {
            assert!(outcomes[4].is_recorded(), "{got:?}");
        }
        // The repeat within the batch was never sent, deduplication or not.
        if !ctx.caps().usage_current_period {
            current_period_refused(ctx, &s.key).await;
        } else {
            let q = UsageQuery::current(s.key.clone());
            let u = ctx
                .usage_until(&q, |u| u.quantity(&ctx.api_calls()) == dec("3.5"))
                .await;
            assert_eq!(
                u.quantity(&ctx.api_calls()),
                dec("3.5"),
                "1 + 2.5, and the duplicate counts once"
            );
        }
    })
}

/// Recording the same event id again is `Duplicate` and is not counted twice.
pub fn duplicate_event_counted_once(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("dupe", ctx.starter()).await;
        let e = ctx.event("once", &s.key, ctx.api_calls(), "7");
        assert_eq!(
            ctx.backend().record_one(&e).await.unwrap(),
            Recorded::Accepted
        );
        let again = ctx.backend().record_one(&e).await.unwrap();
        if !ctx.caps().usage_current_period {
            current_period_refused(ctx, &s.key).await;
        }
        let q = UsageQuery::current(s.key.clone()).metric(ctx.api_calls());
        if ctx.caps().usage_dedup_by_event_id {
            assert_eq!(again, Recorded::Duplicate);
            if ctx.caps().usage_current_period {
                let u = ctx
                    .usage_until(&q, |u| u.quantity(&ctx.api_calls()) >= dec("7"))
                    .await;
                assert_eq!(u.quantity(&ctx.api_calls()), dec("7"));
            }
        } else {
            // The caller's own resend is accepted again, and may be counted again.
            assert_eq!(again, Recorded::Accepted);
            if ctx.caps().usage_current_period {
                let u = ctx
                    .usage_until(&q, |u| u.quantity(&ctx.api_calls()) >= dec("7"))
                    .await;
                let q = u.quantity(&ctx.api_calls());
                assert!(q == dec("7") || q == dec("14"), "{q}");
            }
        }
    })
}

/// Quantities add up exactly: 0.1 + 0.2 is 0.3.
pub fn decimal_sums_are_exact(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("exact", ctx.starter()).await;
        let events = [
            ctx.event("x1", &s.key, ctx.api_calls(), "0.1"),
            ctx.event("x2", &s.key, ctx.api_calls(), "0.2"),
        ];
        record_all(ctx, &events).await;
        if !ctx.caps().usage_current_period {
            current_period_refused(ctx, &s.key).await;
            return;
        }
        let q = UsageQuery::current(s.key.clone()).metric(ctx.api_calls());
        let u = ctx
            .usage_until(&q, |u| u.quantity(&ctx.api_calls()) == dec("0.3"))
            .await;
        assert_eq!(u.quantity(&ctx.api_calls()), dec("0.3"));
    })
}

/// With a metric, exactly one line (zero if unused); without, one line per metric used.
pub fn metric_filter_lines(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("lines", ctx.starter()).await;
        if !ctx.caps().usage_current_period {
            current_period_refused(ctx, &s.key).await;
            return;
        }
        ctx.backend()
            .record_one(&ctx.event("l1", &s.key, ctx.api_calls(), "3"))
            .await
            .unwrap();
        let all = ctx
            .usage_until(&UsageQuery::current(s.key.clone()), |u| {
                u.quantity(&ctx.api_calls()) == dec("3")
            })
            .await;
        let metrics: Vec<&MetricCode> = all.lines.iter().map(|l| &l.metric).collect();
        assert_eq!(metrics, vec![&ctx.api_calls()], "only metrics with usage");
        let storage = ctx
            .backend()
            .usage(&UsageQuery::current(s.key.clone()).metric(ctx.storage_gb()))
            .await
            .unwrap();
        assert_eq!(storage.lines.len(), 1);
        assert_eq!(storage.lines[0].metric, ctx.storage_gb());
        assert!(storage.lines[0].quantity.is_zero());
    })
}

/// A range counts events in `[from, to)` by timestamp.
pub fn range_query(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("range", ctx.starter()).await;
        let from = (Utc::now() + Duration::seconds(60)).trunc_subsecs(0);
        let to = from + Duration::seconds(60);
        if !ctx.caps().usage_range {
            ctx.refused_before_sending(
                ErrorKind::Unsupported,
                ctx.backend()
                    .usage(&UsageQuery::range(s.key.clone(), from, to)),
            )
            .await;
            return;
        }
        let at = |id: &str, q: &str, t| ctx.event(id, &s.key, ctx.api_calls(), q).at(t);
        let events = [
            at("r-before", "100", from - Duration::seconds(1)),
            at("r-start", "1", from),
            at("r-mid", "2.5", from + Duration::seconds(30)),
            at("r-end", "1000", to),
        ];
        record_all(ctx, &events).await;
        let q = UsageQuery::range(s.key.clone(), from, to).metric(ctx.api_calls());
        let u = ctx
            .usage_until(&q, |u| u.quantity(&ctx.api_calls()) == dec("3.5"))
            .await;
        assert_eq!(u.quantity(&ctx.api_calls()), dec("3.5"), "[from, to) only");
        assert_eq!((u.period.start, u.period.end), (from, to));
        ctx.refused_before_sending(
            ErrorKind::InvalidInput,
            ctx.backend()
                .usage(&UsageQuery::range(s.key.clone(), to, from)),
        )
        .await;
    })
}

/// An unknown subscription: its events are rejected `NotFound`, and so is its usage.
pub fn unknown_subscription(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let ghost = ctx.subscription_key("nowhere");
        let outcome = ctx
            .backend()
            .record_one(&ctx.event("g", &ghost, ctx.api_calls(), "1"))
            .await;
        assert_kind(outcome, ErrorKind::NotFound);
        if ctx.caps().usage_current_period {
            assert_kind(
                ctx.backend().usage(&UsageQuery::current(ghost)).await,
                ErrorKind::NotFound,
            );
        } else {
            current_period_refused(ctx, &ghost).await;
        }
    })
}

/// A metric the backend does not know is rejected `NotFound`, not silently dropped.
pub fn unknown_metric(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("nometric", ctx.starter()).await;
        let metric = MetricCode::new(format!("{}_no_such_metric", ctx.prefix())).unwrap();
        let outcome = ctx
            .backend()
            .record_one(&ctx.event("m", &s.key, metric.clone(), "1"))
            .await;
        assert_kind(outcome, ErrorKind::NotFound);
        if ctx.caps().usage_current_period {
            assert_kind(
                ctx.backend()
                    .usage(&UsageQuery::current(s.key.clone()).metric(metric))
                    .await,
                ErrorKind::NotFound,
            );
        } else {
            current_period_refused(ctx, &s.key).await;
        }
    })
}

/// More events than one request carries are all recorded, each once, in exactly as many
/// requests as `usage_batch_max` says (once the backend's lookups are warm).
pub fn large_batch_is_chunked(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("bulk", ctx.starter()).await;
        // One event first: the lookups a backend caches (metrics, the subscription) are done.
        let warm = ctx.event("bulk-warm", &s.key, ctx.api_calls(), "1");
        ctx.backend().record_one(&warm).await.unwrap();
        let n = 250;
        let events: Vec<UsageEvent> = (0..n)
            .map(|i| ctx.event(&format!("bulk{i}"), &s.key, ctx.api_calls(), "1"))
            .collect();
        let before = ctx.requests_sent();
        let outcomes = ctx.backend().record_usage(&events).await;
        let sent = ctx.requests_sent().zip(before).map(|(a, b)| a - b);
        assert_eq!(outcomes.len(), n);
        assert!(
            outcomes.iter().all(|o| matches!(o, EventOutcome::Accepted)),
            "{:?}",
            kinds(&outcomes)
        );
        if let Some(sent) = sent {
            let batch = ctx.caps().usage_batch_max;
            assert_eq!(
                sent,
                n.div_ceil(batch),
                "{n} events in batches of at most {batch}"
            );
        }
        if ctx.caps().usage_current_period {
            let q = UsageQuery::current(s.key.clone()).metric(ctx.api_calls());
            let u = ctx
                .usage_until(&q, |u| u.quantity(&ctx.api_calls()) == dec("251"))
                .await;
            assert_eq!(u.quantity(&ctx.api_calls()), dec("251"));
        } else {
            current_period_refused(ctx, &s.key).await;
        }
    })
}

/// Two subscriptions of one customer on plans metering the same metric: with
/// `usage_per_subscription`, each one's usage counts only its own events; without, a query is
/// a `Conflict` (the customer's state, not a missing capability) rather than a figure that
/// mixes both.
pub fn per_subscription(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let a = ctx.subscribed("twosubs", ctx.starter()).await;
        let b = ctx.subscribe("twosubs", "twosubs-b", ctx.starter()).await;
        let events = [
            ctx.event("ps-a", &a.key, ctx.api_calls(), "2"),
            ctx.event("ps-b", &b.key, ctx.api_calls(), "5"),
        ];
        record_all(ctx, &events).await;
        if !ctx.caps().usage_current_period {
            current_period_refused(ctx, &a.key).await;
            return;
        }
        let query =
            |s: &billing::SubscriptionKey| UsageQuery::current(s.clone()).metric(ctx.api_calls());
        if ctx.caps().usage_per_subscription {
            let ua = ctx
                .usage_until(&query(&a.key), |u| u.quantity(&ctx.api_calls()) == dec("2"))
                .await;
            let ub = ctx
                .usage_until(&query(&b.key), |u| u.quantity(&ctx.api_calls()) == dec("5"))
                .await;
            assert_eq!(ua.quantity(&ctx.api_calls()), dec("2"), "only a's events");
            assert_eq!(ub.quantity(&ctx.api_calls()), dec("5"), "only b's events");
        } else {
            for s in [&a.key, &b.key] {
                let e = assert_kind(ctx.backend().usage(&query(s)).await, ErrorKind::Conflict);
                assert!(e.message().contains(ctx.api_calls().as_str()), "{e}");
            }
        }
    })
}

/// Timestamps are honoured, or refused when the backend cannot honour them.
pub fn backdated_events(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("old", ctx.starter()).await;
        let old = ctx
            .event("old1", &s.key, ctx.api_calls(), "1")
            .at(Utc::now() - Duration::days(2));
        let before = ctx.requests_sent();
        let outcome = ctx.backend().record_one(&old).await;
        if ctx.caps().usage_backdated {
            // Before the subscription started: recorded (vendors may not bill it).
            assert!(outcome.is_ok(), "{outcome:?}");
        } else {
            assert_kind(outcome, ErrorKind::Unsupported);
            assert_eq!(ctx.requests_sent(), before, "refused before sending");
        }
    })
}

/// Unsupported usage periods are refused before any request.
pub fn unsupported_periods(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("periods", ctx.starter()).await;
        if !ctx.caps().usage_current_period {
            ctx.refused_before_sending(
                ErrorKind::Unsupported,
                ctx.backend().usage(&UsageQuery::current(s.key.clone())),
            )
            .await;
        }
        if !ctx.caps().usage_range {
            let now = Utc::now();
            ctx.refused_before_sending(
                ErrorKind::Unsupported,
                ctx.backend().usage(&UsageQuery::range(
                    s.key.clone(),
                    now - Duration::hours(1),
                    now,
                )),
            )
            .await;
        }
    })
}
