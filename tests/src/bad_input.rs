//! Bad input: refused with `InvalidInput` before any request, or sent correctly encoded.

use billing::{BillingExt, Currency};
use billing::{
    CustomerKey, CustomerPatch, ErrorKind, EventId, EventOutcome, MAX_KEY_LEN, MetricCode,
    NewSubscription, PageRequest, PlanCode, SubscriptionKey, UsageQuery,
};
use futures::future::BoxFuture;

use crate::ctx::{Ctx, assert_kind};

/// Every key type refuses empty, over-long, control-character, padded and dot-segment values.
pub fn bad_keys_are_invalid(_ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let bad = [
            String::new(),
            "x".repeat(MAX_KEY_LEN + 1),
            "tab\there".to_owned(),
            "nul\0".to_owned(),
            "new\nline".to_owned(),
            " padded".to_owned(),
            ".".to_owned(),
            "..".to_owned(),
        ];
        for b in &bad {
            assert_kind(CustomerKey::new(b.clone()), ErrorKind::InvalidInput);
            assert_kind(SubscriptionKey::new(b.clone()), ErrorKind::InvalidInput);
            assert_kind(PlanCode::new(b.clone()), ErrorKind::InvalidInput);
            assert_kind(MetricCode::new(b.clone()), ErrorKind::InvalidInput);
            assert_kind(EventId::new(b.clone()), ErrorKind::InvalidInput);
        }
        for code in ["usd", "XYZ", "US", "", "XAU"] {
            assert_kind(Currency::from_code(code), ErrorKind::InvalidInput);
        }
    })
}

/// Keys with `/`, `?`, `#`, `%`, `.`, spaces and non-ASCII work end to end: every path segment is
/// encoded, so they reach exactly their own resource.
pub fn special_character_keys_round_trip(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let name = "we/ird?k#e%y.ü ../x";
        let c = ctx.create_customer(name).await;
        assert_eq!(c.key.as_str(), ctx.key(name));
        let got = ctx.backend().get_customer(&c.key).await.unwrap();
        assert_eq!(got.key, c.key);
        let sub = ctx
            .subscribe(name, &format!("{name}-sub"), ctx.starter())
            .await;
        assert_eq!(
            ctx.backend().get_subscription(&sub.key).await.unwrap().key,
            sub.key
        );
        let e = ctx.event(&format!("{name}-ev"), &sub.key, ctx.api_calls(), "1");
        assert!(ctx.backend().record_one(&e).await.is_ok());
        let listed = ctx
            .backend()
            .list_subscriptions(&c.key, &PageRequest::first(10))
            .await
            .unwrap();
        assert_eq!(listed.items.len(), 1);
        if ctx.caps().usage_current_period {
            let u = ctx
                .usage_until(&UsageQuery::current(sub.key.clone()), |u| {
                    !u.quantity(&ctx.api_calls()).is_zero()
                })
                .await;
            assert_eq!(u.quantity(&ctx.api_calls()), crate::ctx::dec("1"));
        }
        // A key that looks like another path still addresses only itself.
        assert_kind(
            ctx.backend()
                .get_customer(&CustomerKey::new(format!("{}/../..", c.key)).unwrap())
                .await,
            ErrorKind::NotFound,
        );
    })
}

/// Malformed customer fields are refused before any request, on create and on update.
pub fn bad_customer_fields(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        for new in [
            ctx.new_customer("bad1").email("not-an-email"),
            ctx.new_customer("bad2").name("   "),
            ctx.new_customer("bad3").name("x".repeat(300)),
            ctx.new_customer("bad4").metadata("", "v"),
        ] {
            ctx.refused_before_sending(
                ErrorKind::InvalidInput,
                ctx.backend().create_customer(&new),
            )
            .await;
        }
        if ctx.caps().customer_email_required {
            let mut no_email = ctx.new_customer("bad5");
            no_email.email = None;
            ctx.refused_before_sending(
                ErrorKind::InvalidInput,
                ctx.backend().create_customer(&no_email),
            )
            .await;
        }
        if ctx.caps().customer_update {
            let c = ctx.create_customer("good").await;
            ctx.refused_before_sending(
                ErrorKind::InvalidInput,
                ctx.backend()
                    .update_customer(&c.key, &CustomerPatch::new().email("nope@")),
            )
            .await;
        }
    })
}

/// Negative quantities are rejected before sending; the rest of the batch is still recorded.
pub fn bad_quantities(ctx: &Ctx) -> BoxFuture<'_, ()> {
    Box::pin(async move {
        let s = ctx.subscribed("qty", ctx.starter()).await;
        let only_bad = [ctx.event("neg", &s.key, ctx.api_calls(), "-0.5")];
        let before = ctx.requests_sent();
        let outcomes = ctx.backend().record_usage(&only_bad).await;
        assert!(
            matches!(&outcomes[..], [EventOutcome::Rejected(e)] if e.kind() == ErrorKind::InvalidInput),
            "{outcomes:?}"
        );
        assert_eq!(
            ctx.requests_sent(),
            before,
            "nothing sent for an invalid event"
        );
        // A very precise quantity is either recorded exactly or refused as invalid, never rounded.
        let precise = ctx.event("precise", &s.key, ctx.api_calls(), "0.0000000000001");
        match ctx.backend().record_one(&precise).await {
            Ok(_) => {}
            Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}"),
        }
        let new =
            NewSubscription::new(ctx.subscription_key("qty-2"), s.customer.clone(), ctx.pro());
        assert!(ctx.backend().create_subscription(&new).await.is_ok());
    })
}
