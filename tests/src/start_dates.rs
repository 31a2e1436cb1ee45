//! Scenarios for a subscription's start and billing anchor (`NewSubscription::starts_at`,
//! `billing_anchor`): a past start keeps `started_at`, an anchor ends the unbilled lead-in, a
//! future start is `Pending`, and what a backend cannot honour is `Unsupported` before any
//! request, with nothing created.

use billing::chrono::{DateTime, Duration, Utc};
use billing::{ErrorKind, NewSubscription, Subscription, SubscriptionStatus};
use futures::future::BoxFuture;

use crate::ctx::{Ctx, assert_kind};

/// Vendors keep whole seconds (Lago's `subscription_at`, Kill Bill's `datetime` columns).
fn assert_close(what: &str, got: Option<DateTime<Utc>>, want: DateTime<Utc>) {
    let got = got.unwrap_or_else(|| panic!("{what}: none, want {want}"));
    assert!(
        (got - want).abs() <= Duration::seconds(1),
        "{what}: {got}, want {want}"
    );
}

fn new_sub(ctx: &Ctx, name: &str) -> NewSubscription {
    NewSubscription::new(
        ctx.subscription_key(&format!("{name}-sub")),
        ctx.customer_key(name),
        ctx.starter(),
    )
    .currency(billing::Currency::USD)
    .interval(billing::BillingInterval::Monthly)
}

/// A request the backend cannot honour: `Unsupported` before any request, nothing created.
async fn refused(ctx: &Ctx, new: &NewSubscription) {
    ctx.refused_before_sending(
        ErrorKind::Unsupported,
        ctx.backend().create_subscription(new),
    )
    .await;
    assert_kind(
        ctx.backend().get_subscription(&new.key).await,
        ErrorKind::NotFound,
    );
}

async fn created_and_read(ctx: &Ctx, new: &NewSubscription) -> (Subscription, Subscription) {
    let created = ctx
        .backend()
        .create_subscription(new)
        .await
        .unwrap_or_else(|e| panic!("create {}: {e}", new.key));
    let read = ctx.backend().get_subscription(&new.key).await.unwrap();
    (created, read)
}

/// A start in the past: active since then, `started_at` kept, and the current period (as the
/// vendor anchors its periods) holds now and does not begin before the start.
pub fn past_start_keeps_started_at(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        ctx.create_customer("past").await;
        let start = Utc::now() - Duration::days(40);
        let new = new_sub(ctx, "past").starts_at(start);
        if !ctx.caps().subscription_start_past {
            return refused(ctx, &new).await;
        }
        let (created, read) = created_and_read(ctx, &new).await;
        for s in [&created, &read] {
            assert_eq!(s.status, SubscriptionStatus::Active, "{s:?}");
            assert_close("started_at", s.started_at, start);
            let period = s.current_period.expect("a running subscription's period");
            let now = Utc::now();
            assert!(period.start <= now && now < period.end, "{period:?}");
            assert!(period.start + Duration::seconds(1) >= start, "{period:?}");
            assert!(
                period.end - period.start <= Duration::days(31),
                "{period:?}"
            );
        }
    })
}

/// A billing anchor: the subscription runs from its start, `billing_anchor` shows the anchor,
/// and the current (unbilled) period ends there.
pub fn billing_anchor_ends_the_lead_in(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        ctx.create_customer("anchor").await;
        let now = Utc::now();
        let start = now - Duration::days(20);
        let anchor = now + Duration::days(10);
        let new = new_sub(ctx, "anchor")
            .starts_at(start)
            .billing_anchor(anchor);
        if !ctx.caps().subscription_billing_anchor {
            return refused(ctx, &new).await;
        }
        let (created, read) = created_and_read(ctx, &new).await;
        for s in [&created, &read] {
            assert_eq!(s.status, SubscriptionStatus::Active, "{s:?}");
            assert_close("started_at", s.started_at, start);
            assert_close("billing_anchor", s.billing_anchor, anchor);
            let period = s.current_period.expect("the lead-in period");
            assert_close("end of the lead-in", Some(period.end), anchor);
            assert!(period.start + Duration::seconds(1) >= start, "{period:?}");
        }
    })
}

/// A start in the future: `Pending` with that `started_at`.
pub fn future_start_is_pending(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        ctx.create_customer("future").await;
        let start = Utc::now() + Duration::days(5);
        let new = new_sub(ctx, "future").starts_at(start);
        if !ctx.caps().subscription_start_future {
            return refused(ctx, &new).await;
        }
        let (created, read) = created_and_read(ctx, &new).await;
        for s in [&created, &read] {
            assert_eq!(s.status, SubscriptionStatus::Pending, "{s:?}");
            assert_close("started_at", s.started_at, start);
        }
    })
}

/// An anchor before the start is `InvalidInput` before any request, on every backend.
pub fn anchor_before_start_is_invalid(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        ctx.create_customer("badanchor").await;
        let start = Utc::now() - Duration::days(3);
        let new = new_sub(ctx, "badanchor")
            .starts_at(start)
            .billing_anchor(start - Duration::days(1));
        ctx.refused_before_sending(
            ErrorKind::InvalidInput,
            ctx.backend().create_subscription(&new),
        )
        .await;
        assert_kind(
            ctx.backend().get_subscription(&new.key).await,
            ErrorKind::NotFound,
        );
    })
}
