//! Subscription scenarios.

use billing::{
    BillingExt, CancelAt, ChangeAt, ErrorKind, NewSubscription, PageRequest, PlanCode,
    SubscriptionStatus,
};
use futures::TryStreamExt;
use futures::future::BoxFuture;

use crate::ctx::{Ctx, assert_kind};

/// Create returns an active subscription; get returns it.
pub fn create_and_get(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let created = ctx.subscribed("sub", ctx.starter()).await;
        assert_eq!(created.key, ctx.subscription_key("sub-sub"));
        assert_eq!(created.customer, ctx.customer_key("sub"));
        assert_eq!(created.plan, ctx.starter());
        assert!(
            matches!(
                created.status,
                SubscriptionStatus::Active | SubscriptionStatus::Trialing
            ),
            "{:?}",
            created.status
        );
        assert!(!created.raw_status.is_empty());
        let got = ctx.backend().get_subscription(&created.key).await.unwrap();
        assert_eq!(got.key, created.key);
        assert_eq!(got.customer, created.customer);
        assert_eq!(got.plan, created.plan);
        assert_eq!(got.status, created.status);
    })
}

/// An unknown customer is `NotFound`, and no customer is created as a side effect.
pub fn unknown_customer_not_found(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let customer = ctx.customer_key("nobody");
        let new = NewSubscription::new(
            ctx.subscription_key("orphan"),
            customer.clone(),
            ctx.starter(),
        );
        assert_kind(
            ctx.backend().create_subscription(&new).await,
            ErrorKind::NotFound,
        );
        assert_kind(
            ctx.backend().get_customer(&customer).await,
            ErrorKind::NotFound,
        );
    })
}

/// An unknown plan is `NotFound`.
pub fn unknown_plan_not_found(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        ctx.create_customer("noplan").await;
        let new = NewSubscription::new(
            ctx.subscription_key("noplan-sub"),
            ctx.customer_key("noplan"),
            PlanCode::new(format!("{}-no-such-plan", ctx.prefix())).unwrap(),
        );
        assert_kind(
            ctx.backend().create_subscription(&new).await,
            ErrorKind::NotFound,
        );
        assert_kind(
            ctx.backend().get_subscription(&new.key).await,
            ErrorKind::NotFound,
        );
    })
}

/// A second subscription under a taken key is `AlreadyExists`, in any state.
pub fn duplicate_key_already_exists(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let first = ctx.subscribed("dupsub", ctx.starter()).await;
        ctx.create_customer("dupsub-other").await;
        let again = NewSubscription::new(
            first.key.clone(),
            ctx.customer_key("dupsub-other"),
            ctx.pro(),
        );
        assert_kind(
            ctx.backend().create_subscription(&again).await,
            ErrorKind::AlreadyExists,
        );
        let same_customer =
            NewSubscription::new(first.key.clone(), first.customer.clone(), ctx.starter());
        assert_kind(
            ctx.backend().create_subscription(&same_customer).await,
            ErrorKind::AlreadyExists,
        );
        if ctx.caps().cancel_now {
            ctx.backend()
                .cancel_subscription(&first.key, CancelAt::Now)
                .await
                .unwrap();
            assert_kind(
                ctx.backend().create_subscription(&same_customer).await,
                ErrorKind::AlreadyExists,
            );
        }
        let got = ctx.backend().get_subscription(&first.key).await.unwrap();
        assert_eq!(got.customer, first.customer, "the first is untouched");
    })
}

/// Getting an unknown key is `NotFound`.
pub fn get_missing_not_found(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        assert_kind(
            ctx.backend()
                .get_subscription(&ctx.subscription_key("ghost"))
                .await,
            ErrorKind::NotFound,
        );
    })
}

/// A customer's subscriptions are listed once each, canceled ones included.
pub fn list_for_customer(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        ctx.create_customer("lister").await;
        let mut keys = Vec::new();
        for i in 0..3 {
            keys.push(
                ctx.subscribe("lister", &format!("ls{i}"), ctx.starter())
                    .await
                    .key,
            );
        }
        if ctx.caps().cancel_now {
            ctx.backend()
                .cancel_subscription(&keys[0], CancelAt::Now)
                .await
                .unwrap();
        }
        ctx.create_customer("bystander").await;
        ctx.subscribe("bystander", "other", ctx.starter()).await;

        let customer = ctx.customer_key("lister");
        let listed: Vec<_> = ctx
            .backend()
            .subscriptions(&customer, 2)
            .try_collect()
            .await
            .unwrap();
        let mut got: Vec<_> = listed.iter().map(|s| s.key.clone()).collect();
        got.sort();
        keys.sort();
        assert_eq!(
            got, keys,
            "exactly this customer's subscriptions, once each"
        );
        assert!(listed.iter().all(|s| s.customer == customer));
    })
}

/// Listing for an unknown customer is `NotFound`.
pub fn list_unknown_customer_not_found(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        assert_kind(
            ctx.backend()
                .list_subscriptions(&ctx.customer_key("ghost"), &PageRequest::first(10))
                .await,
            ErrorKind::NotFound,
        );
    })
}

/// Cancel now ends the subscription at once.
pub fn cancel_now(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("cnow", ctx.starter()).await;
        if !ctx.caps().cancel_now {
            ctx.refused_before_sending(
                ErrorKind::Unsupported,
                ctx.backend().cancel_subscription(&s.key, CancelAt::Now),
            )
            .await;
            return;
        }
        let c = ctx
            .backend()
            .cancel_subscription(&s.key, CancelAt::Now)
            .await
            .unwrap();
        assert_eq!(c.status, SubscriptionStatus::Canceled);
        assert!(c.ends_at.is_some());
        let got = ctx.backend().get_subscription(&s.key).await.unwrap();
        assert_eq!(
            got.status,
            SubscriptionStatus::Canceled,
            "get sees canceled ones"
        );
    })
}

/// Cancel at period end keeps it running until the end of the current period.
pub fn cancel_at_period_end(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("cend", ctx.starter()).await;
        if !ctx.caps().cancel_at_period_end {
            ctx.refused_before_sending(
                ErrorKind::Unsupported,
                ctx.backend()
                    .cancel_subscription(&s.key, CancelAt::PeriodEnd),
            )
            .await;
            return;
        }
        let c = ctx
            .backend()
            .cancel_subscription(&s.key, CancelAt::PeriodEnd)
            .await
            .unwrap();
        assert_eq!(c.status, SubscriptionStatus::CancelScheduled);
        let ends = c.ends_at.expect("ends_at is set");
        assert!(
            ends > billing::chrono::Utc::now(),
            "ends in the future: {ends}"
        );
        if let Some(period) = s.current_period {
            assert_eq!(
                ends.date_naive(),
                period.end.date_naive(),
                "at the period end"
            );
        }
        let got = ctx.backend().get_subscription(&s.key).await.unwrap();
        assert_eq!(got.status, SubscriptionStatus::CancelScheduled);
    })
}

/// Cancelling a canceled subscription succeeds and changes nothing.
pub fn cancel_twice_is_idempotent(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("ctwice", ctx.starter()).await;
        if !ctx.caps().cancel_now {
            // Cancelling at period end twice changes nothing the second time, where supported;
            // otherwise nothing can cancel and both ways are refused before any request.
            if ctx.caps().cancel_at_period_end {
                let first = ctx
                    .backend()
                    .cancel_subscription(&s.key, CancelAt::PeriodEnd)
                    .await
                    .unwrap();
                let second = ctx
                    .backend()
                    .cancel_subscription(&s.key, CancelAt::PeriodEnd)
                    .await
                    .unwrap();
                assert_eq!(second.status, first.status);
                assert_eq!(second.ends_at, first.ends_at);
            } else {
                for at in [CancelAt::Now, CancelAt::PeriodEnd] {
                    ctx.refused_before_sending(
                        ErrorKind::Unsupported,
                        ctx.backend().cancel_subscription(&s.key, at),
                    )
                    .await;
                }
            }
            return;
        }
        let first = ctx
            .backend()
            .cancel_subscription(&s.key, CancelAt::Now)
            .await
            .unwrap();
        let second = ctx
            .backend()
            .cancel_subscription(&s.key, CancelAt::Now)
            .await
            .unwrap();
        assert_eq!(second.status, SubscriptionStatus::Canceled);
        assert_eq!(second.plan, first.plan);
        if ctx.caps().cancel_at_period_end {
            let third = ctx
                .backend()
                .cancel_subscription(&s.key, CancelAt::PeriodEnd)
                .await
                .unwrap();
            assert_eq!(third.status, SubscriptionStatus::Canceled, "still canceled");
        }
        assert_kind(
            ctx.backend()
                .cancel_subscription(&ctx.subscription_key("ghost"), CancelAt::Now)
                .await,
            ErrorKind::NotFound,
        );
    })
}

/// Change now moves the subscription to the new plan at once.
pub fn change_plan_now(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("chnow", ctx.starter()).await;
        if !ctx.caps().change_plan_now {
            ctx.refused_before_sending(
                ErrorKind::Unsupported,
                ctx.backend().change_plan(&s.key, &ctx.pro(), ChangeAt::Now),
            )
            .await;
            return;
        }
        let c = ctx
            .backend()
            .change_plan(&s.key, &ctx.pro(), ChangeAt::Now)
            .await
            .unwrap();
        assert_eq!(c.plan, ctx.pro());
        assert!(c.scheduled_change.is_none());
        let got = ctx.backend().get_subscription(&s.key).await.unwrap();
        assert_eq!(got.plan, ctx.pro());
        assert!(!got.status.is_ended());
    })
}

/// Change at period end keeps the old plan and schedules the new one.
pub fn change_plan_at_period_end(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("chend", ctx.pro()).await;
        if !ctx.caps().change_plan_at_period_end {
            ctx.refused_before_sending(
                ErrorKind::Unsupported,
                ctx.backend()
                    .change_plan(&s.key, &ctx.starter(), ChangeAt::PeriodEnd),
            )
            .await;
            return;
        }
        let c = ctx
            .backend()
            .change_plan(&s.key, &ctx.starter(), ChangeAt::PeriodEnd)
            .await
            .unwrap();
        assert_eq!(c.plan, ctx.pro(), "still on the old plan");
        let scheduled = c.scheduled_change.expect("a scheduled change");
        assert_eq!(scheduled.plan, ctx.starter());
        let got = ctx.backend().get_subscription(&s.key).await.unwrap();
        assert_eq!(got.plan, ctx.pro());
        assert_eq!(
            got.scheduled_change.map(|c| c.plan),
            Some(ctx.starter()),
            "get shows the scheduled change"
        );
    })
}

/// The vendor's default: an upgrade and a downgrade each say what happened.
pub fn change_plan_vendor_default(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("chdef", ctx.starter()).await;
        if !ctx.caps().change_plan_vendor_default {
            ctx.refused_before_sending(
                ErrorKind::Unsupported,
                ctx.backend()
                    .change_plan(&s.key, &ctx.pro(), ChangeAt::VendorDefault),
            )
            .await;
            return;
        }
        for target in [ctx.pro(), ctx.starter()] {
            let before = ctx.backend().get_subscription(&s.key).await.unwrap();
            let c = ctx
                .backend()
                .change_plan(&s.key, &target, ChangeAt::VendorDefault)
                .await
                .unwrap();
            let applied_now = c.plan == target && c.scheduled_change.is_none();
            let scheduled = c.plan == before.plan
                && c.scheduled_change.as_ref().map(|s| &s.plan) == Some(&target);
            assert!(
                applied_now || scheduled,
                "the result says whether the change applied now or is scheduled: {c:?}"
            );
            if scheduled {
                break;
            }
        }
    })
}

/// Changing to an unknown plan is `NotFound`; changing a canceled one is `Conflict`; changing to
/// the current plan changes nothing.
pub fn change_plan_errors(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let at = if ctx.caps().change_plan_now {
            ChangeAt::Now
        } else if ctx.caps().change_plan_vendor_default {
            ChangeAt::VendorDefault
        } else if ctx.caps().change_plan_at_period_end {
            ChangeAt::PeriodEnd
        } else {
            // No way to change plans: every way is refused before any request.
            let s = ctx.subscribed("cherr", ctx.starter()).await;
            for at in [ChangeAt::Now, ChangeAt::PeriodEnd, ChangeAt::VendorDefault] {
                ctx.refused_before_sending(
                    ErrorKind::Unsupported,
                    ctx.backend().change_plan(&s.key, &ctx.pro(), at),
                )
                .await;
            }
            return;
        };
        let s = ctx.subscribed("cherr", ctx.starter()).await;
        let unknown = PlanCode::new(format!("{}-no-such-plan", ctx.prefix())).unwrap();
        assert_kind(
            ctx.backend().change_plan(&s.key, &unknown, at).await,
            ErrorKind::NotFound,
        );
        assert_kind(
            ctx.backend()
                .change_plan(&ctx.subscription_key("ghost"), &ctx.pro(), at)
                .await,
            ErrorKind::NotFound,
        );
        let same = ctx
            .backend()
            .change_plan(&s.key, &ctx.starter(), at)
            .await
            .unwrap();
        assert_eq!(same.plan, ctx.starter());
        assert!(same.scheduled_change.is_none());
        if ctx.caps().cancel_now {
            ctx.backend()
                .cancel_subscription(&s.key, CancelAt::Now)
                .await
                .unwrap();
            assert_kind(
                ctx.backend().change_plan(&s.key, &ctx.pro(), at).await,
                ErrorKind::Conflict,
            );
        }
    })
}

/// `ensure_subscription` creates once, then returns the same subscription; a key held by
/// another customer, or by this customer on another plan, is a `Conflict` naming what differs,
/// and nothing is created or changed.
pub fn ensure_is_get_or_create(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        ctx.create_customer("ens-owner").await;
        ctx.create_customer("ens-other").await;
        let key = ctx.subscription_key("ens-key");
        let new = NewSubscription::new(key.clone(), ctx.customer_key("ens-owner"), ctx.starter())
            .currency(billing::Currency::USD)
            .interval(billing::BillingInterval::Monthly);
        let first = ctx.backend().ensure_subscription(&new).await.unwrap();
        assert_eq!(first.key, key);
        let second = ctx.backend().ensure_subscription(&new).await.unwrap();
        assert_eq!(second.vendor_id, first.vendor_id, "the same subscription");
        assert_eq!(second.customer, first.customer);

        let other = ctx.customer_key("ens-other");
        let theirs = NewSubscription::new(key.clone(), other.clone(), ctx.starter());
        let e = assert_kind(
            ctx.backend().ensure_subscription(&theirs).await,
            ErrorKind::Conflict,
        );
        assert!(
            e.message().contains(ctx.customer_key("ens-owner").as_str()),
            "{e}"
        );
        let other_plan = NewSubscription::new(key.clone(), new.customer.clone(), ctx.pro());
        let e = assert_kind(
            ctx.backend().ensure_subscription(&other_plan).await,
            ErrorKind::Conflict,
        );
        assert!(e.message().contains(ctx.pro().as_str()), "{e}");
        assert!(e.message().contains(ctx.starter().as_str()), "{e}");

        let held = ctx.backend().get_subscription(&key).await.unwrap();
        assert_eq!(
            (held.customer, held.plan),
            (new.customer.clone(), ctx.starter())
        );
        let page = ctx
            .backend()
            .list_subscriptions(&other, &PageRequest::first(10))
            .await
            .unwrap();
        assert!(
            page.items.is_empty(),
            "nothing created for the other customer"
        );
    })
}
