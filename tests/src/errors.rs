//! Every error names the backend it came from and the operation, whatever produced it: a check
//! before any request, the vendor's answer, or a rejected event of a batch.

use billing::{
    ChangeAt, ErrorKind, EventOutcome, MetricCode, NewSubscription, Operation, PageRequest,
    PlanCode, UsageQuery,
};
use futures::future::BoxFuture;

use crate::ctx::Ctx;

#[track_caller]
fn assert_context(ctx: &Ctx, e: &billing::Error, operation: Operation) {
    assert_eq!(e.backend(), Some(ctx.backend().info().name), "{e}");
    assert_eq!(e.operation(), Some(operation), "{e}");
}

/// Refusals before sending, vendor answers and rejected events all carry backend and operation.
pub fn errors_name_backend_and_operation(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        // Decided locally, before any request.
        let e = ctx
            .refused_before_sending(
                ErrorKind::InvalidInput,
                ctx.backend().list_customers(&PageRequest::first(0)),
            )
            .await;
        assert_context(ctx, &e, Operation::ListCustomers);
        // The vendor's answer (or the backend's lookup).
        let missing = ctx.customer_key("nobody");
        let e = ctx.backend().get_customer(&missing).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
        assert_context(ctx, &e, Operation::GetCustomer);
        let e = ctx
            .backend()
            .usage(&UsageQuery::current(ctx.subscription_key("nothing")))
            .await
            .unwrap_err();
        let expected = if ctx.backend().capabilities().usage_current_period {
            ErrorKind::NotFound
        } else {
            ErrorKind::Unsupported
        };
        assert_eq!(e.kind(), expected, "{e}");
        assert_context(ctx, &e, Operation::Usage);
        // A rejected event of a batch.
        let s = ctx.subscribed("ctx", ctx.starter()).await;
        let bad = ctx.event("neg", &s.key, ctx.api_calls(), "-1");
        let outcomes = ctx.backend().record_usage(&[bad]).await;
        let EventOutcome::Rejected(e) = &outcomes[0] else {
            panic!("a negative quantity is rejected: {outcomes:?}");
        };
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert_context(ctx, e, Operation::RecordUsage);
    })
}

/// `e`'s message names `what` (a key, plan or metric the caller gave): an error says what to
/// fix, never only the vendor's words.
#[track_caller]
fn assert_names(e: &billing::Error, kind: ErrorKind, what: &str) {
    assert_eq!(e.kind(), kind, "{e}");
    assert!(
        e.message().contains(what),
        "the message names `{what}`: {e}"
    );
}

/// Each class of error names what to fix, on every backend: a missing customer, subscription,
/// plan or metric names its key; an existing key names it, and a subscription key taken by
/// another customer names that customer too; an event for an unknown subscription names it.
pub fn errors_name_the_key(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let nobody = ctx.customer_key("nobody");
        let e = ctx.backend().get_customer(&nobody).await.unwrap_err();
        assert_names(&e, ErrorKind::NotFound, nobody.as_str());
        let nothing = ctx.subscription_key("nothing");
        let e = ctx.backend().get_subscription(&nothing).await.unwrap_err();
        assert_names(&e, ErrorKind::NotFound, nothing.as_str());

        // Keys that do not contain one another, so each is named for itself.
        ctx.create_customer("owner").await;
        let owner = ctx.subscribe("owner", "held", ctx.starter()).await;
        let e = ctx
            .backend()
            .create_customer(&ctx.new_customer("owner"))
            .await
            .unwrap_err();
        assert_names(&e, ErrorKind::AlreadyExists, owner.customer.as_str());
        // Another customer asking for the key: whose subscription holds it is named.
        ctx.create_customer("other").await;
        let taken = NewSubscription::new(owner.key.clone(), ctx.customer_key("other"), ctx.pro());
        let e = ctx.backend().create_subscription(&taken).await.unwrap_err();
        assert_names(&e, ErrorKind::AlreadyExists, owner.key.as_str());
        assert_names(&e, ErrorKind::AlreadyExists, owner.customer.as_str());

        let unknown_plan = PlanCode::new(ctx.key("no-such-plan")).unwrap();
        let new = NewSubscription::new(
            ctx.subscription_key("noplan"),
            ctx.customer_key("other"),
            unknown_plan.clone(),
        );
        let e = ctx.backend().create_subscription(&new).await.unwrap_err();
        assert_names(&e, ErrorKind::NotFound, unknown_plan.as_str());
        let new = NewSubscription::new(
            ctx.subscription_key("orphan"),
            nobody.clone(),
            ctx.starter(),
        );
        let e = ctx.backend().create_subscription(&new).await.unwrap_err();
        assert_names(&e, ErrorKind::NotFound, nobody.as_str());
        let caps = ctx.caps();
        let at = if caps.change_plan_now {
            Some(ChangeAt::Now)
        } else if caps.change_plan_vendor_default {
            Some(ChangeAt::VendorDefault)
        } else if caps.change_plan_at_period_end {
            Some(ChangeAt::PeriodEnd)
        } else {
            None
        };
        if let Some(at) = at {
            let e = ctx
                .backend()
                .change_plan(&owner.key, &unknown_plan, at)
                .await
                .unwrap_err();
            assert_names(&e, ErrorKind::NotFound, unknown_plan.as_str());
        }

        let unknown_metric = MetricCode::new(ctx.key("no-such-metric")).unwrap();
        if caps.usage_current_period {
            let q = UsageQuery::current(owner.key.clone()).metric(unknown_metric.clone());
            let e = ctx.backend().usage(&q).await.unwrap_err();
            assert_names(&e, ErrorKind::NotFound, unknown_metric.as_str());
        }
        let event = ctx.event("ghost", &nothing, ctx.api_calls(), "1");
        let outcomes = ctx.backend().record_usage(&[event]).await;
        let EventOutcome::Rejected(e) = &outcomes[0] else {
            panic!("an event for an unknown subscription is rejected: {outcomes:?}");
        };
        assert_names(e, ErrorKind::NotFound, nothing.as_str());
        let event = ctx.event("ghost-metric", &owner.key, unknown_metric.clone(), "1");
        let outcomes = ctx.backend().record_usage(&[event]).await;
        let EventOutcome::Rejected(e) = &outcomes[0] else {
            panic!("an event for an unknown metric is rejected: {outcomes:?}");
        };
        assert_names(e, ErrorKind::NotFound, unknown_metric.as_str());
    })
}
