//! Hostile keys through every trait method: keys made of path and query syntax (`/`, `..`, `%`,
//! `?`, `#`, `&`, `;`), Rails format suffixes, unicode and maximal lengths. Each call either
//! succeeds on exactly its own object, or is refused; what reached the server is checked
//! afterwards from the simulator's raw request log ([`crate::routes`]).

use std::collections::BTreeSet;

use billing::{
    CancelAt, ChangeAt, Currency, CustomerKey, CustomerPatch, ErrorKind, EventId, EventOutcome,
    MAX_KEY_LEN, MetricCode, NewCustomer, NewSubscription, PageRequest, PlanCode, Result,
    SubscriptionKey, UsageEvent, UsageQuery,
};

use crate::ctx::{Ctx, dec};
use billing::rust_decimal::Decimal;

/// Suffixes that, unencoded, would leave the key's path segment or address something else.
pub const HOSTILE: &[&str] = &[
    "sl/ash",
    "../../tenants",
    "..%2F..%2Fadmin",
    "%2e%2e",
    "%00nul",
    "q?evil=1&x=2",
    "h#frag",
    "sp ace+plus",
    "semi;colon,comma=eq",
    "at@colon:",
    "back\\slash",
    "dot.json",
    "ünï-cødé-名前",
    "emoji-🧾",
    "customers",
    "/",
    "?",
];

/// Keys every key type refuses with `InvalidInput` at construction, so no call can carry them:
/// control characters, over-long, padded, dot segments.
pub fn invalid_keys() -> Vec<String> {
    vec![
        String::new(),
        ".".into(),
        "..".into(),
        " padded".into(),
        "padded ".into(),
        "nul\0".into(),
        "cr\rlf\n".into(),
        "del\u{7f}".into(),
        "esc\u{1b}[0m".into(),
        "x".repeat(MAX_KEY_LEN + 1),
        "é".repeat(MAX_KEY_LEN / 2 + 1),
    ]
}

/// Quantities at and past the edges: negative, zero, more decimals than a vendor stores, the
/// largest `Decimal`, trailing zeros.
pub const QUANTITIES: &[&str] = &[
    "-1",
    "-0.000001",
    "0",
    "1.10",
    "0.0000000000001",
    "0.123456789123456789",
    "0.1",
    "12345678901234567.5",
    "79228162514264337593543950335",
];

/// How a backend took one quantity.
#[derive(Debug)]
pub enum QuantityOutcome {
    /// Recorded under this event id.
    Recorded(EventId),
    /// Refused with `InvalidInput`, before any request.
    Refused,
}

/// Records each of [`QUANTITIES`] as its own event on `sub`, and checks that each is recorded
/// or refused with `InvalidInput` before any request (never another error).
pub async fn exercise_quantities(
    ctx: &Ctx,
    sub: &SubscriptionKey,
) -> Vec<(Decimal, QuantityOutcome)> {
    let mut out = Vec::new();
    for (n, q) in QUANTITIES.iter().enumerate() {
        let quantity = dec(q);
        let id = ctx.event_id(&format!("qty{n}"));
        let event = UsageEvent::new(id.clone(), sub.clone(), ctx.api_calls(), quantity);
        let before = ctx.requests_sent();
        let outcome = ctx.backend().record_usage(&[event]).await;
        match &outcome[..] {
            [EventOutcome::Accepted] => out.push((quantity, QuantityOutcome::Recorded(id))),
            [EventOutcome::Rejected(e)] if e.kind() == ErrorKind::InvalidInput => {
                assert_eq!(ctx.requests_sent(), before, "{q}: refused after sending");
                out.push((quantity, QuantityOutcome::Refused));
            }
            other => panic!("quantity {q}: {other:?}"),
        }
    }
    out
}

/// What a hostile run did.
#[derive(Debug, Default)]
pub struct HostileRun {
    /// Every key text passed to the backend (customer, subscription, event, plan, metric).
    pub keys: BTreeSet<String>,
    /// Customers the vendor accepted under a hostile key (and read back under the same key).
    pub customers_created: usize,
    /// Customer keys refused with `InvalidInput` before any request.
    pub customers_refused: usize,
    /// Trait-method calls made.
    pub calls: usize,
}

/// The hostile keys of a context: `<prefix>-<n>-<suffix>`, plus one of the maximal length
/// made of `/`.
pub fn hostile_keys(ctx: &Ctx) -> Vec<String> {
    let mut keys: Vec<String> = HOSTILE
        .iter()
        .enumerate()
        .map(|(n, s)| ctx.key(&format!("{n}-{s}")))
        .collect();
    let head = ctx.key("max");
    keys.push(format!("{head}{}", "/".repeat(MAX_KEY_LEN - head.len())));
    keys
}

/// `key` with `suffix`, cut (on a character boundary) to fit a key's length limit.
fn suffixed(key: &str, suffix: &str) -> String {
    let mut head = key.to_owned();
    while head.len() + suffix.len() > MAX_KEY_LEN {
        head.pop();
    }
    format!("{head}{suffix}")
}

/// Expects success, or an error of one of `kinds`; counts the call.
fn allowed<T: std::fmt::Debug>(
    run: &mut HostileRun,
    what: &str,
    r: &Result<T>,
    kinds: &[ErrorKind],
) {
    run.calls += 1;
    if let Err(e) = r {
        assert!(kinds.contains(&e.kind()), "{what}: unexpected {e}");
    }
}

/// Sends every hostile key through every trait method of the context's backend.
pub async fn exercise_every_method(ctx: &Ctx) -> HostileRun {
    let mut run = HostileRun::default();
    for code in [
        ctx.starter().as_str(),
        ctx.pro().as_str(),
        ctx.api_calls().as_str(),
        ctx.storage_gb().as_str(),
    ] {
        run.keys.insert(code.to_owned());
    }
    let b = ctx.backend();
    for bad in invalid_keys() {
        assert!(CustomerKey::new(bad.clone()).is_err(), "{bad:?}");
        assert!(SubscriptionKey::new(bad.clone()).is_err(), "{bad:?}");
        assert!(EventId::new(bad.clone()).is_err(), "{bad:?}");
        assert!(PlanCode::new(bad.clone()).is_err(), "{bad:?}");
        assert!(MetricCode::new(bad.clone()).is_err(), "{bad:?}");
    }
    let missing = [ErrorKind::NotFound];
    let refused = [
        ErrorKind::NotFound,
        ErrorKind::InvalidInput,
        ErrorKind::Unsupported,
    ];
    for (n, key) in hostile_keys(ctx).into_iter().enumerate() {
        let customer = CustomerKey::new(key.clone()).expect("a valid hostile key");
        run.keys.insert(key.clone());

        // Reads of what does not exist yet.
        let r = b.get_customer(&customer).await;
        allowed(&mut run, "get missing customer", &r, &missing);
        let r = b
            .list_subscriptions(&customer, &PageRequest::first(5))
            .await;
        allowed(
            &mut run,
            "list subscriptions of a missing customer",
            &r,
            &missing,
        );

        let new = NewCustomer::new(customer.clone())
            .name(format!("Hostile {n}"))
            .email(format!("hostile{n}@example.com"))
            .currency(Currency::USD);
        let before = ctx.requests_sent();
        let created = b.create_customer(&new).await;
        match &created {
            Ok(c) => {
                run.customers_created += 1;
                assert_eq!(c.key, customer);
                let got = b.get_customer(&customer).await.expect("read back");
                assert_eq!(got.key, customer, "the key addressed its own customer");
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "create {key:?}: {e}");
                assert_eq!(ctx.requests_sent(), before, "refused before any request");
                run.customers_refused += 1;
                continue;
            }
        }
        run.calls += 2;
        if ctx.caps().customer_update {
            let r = b
                .update_customer(
                    &customer,
                    &CustomerPatch::new().name(format!("Renamed {n}")),
                )
                .await;
            allowed(&mut run, "update", &r, &[]);
        }

        let sub_key = SubscriptionKey::new(suffixed(&key, "~s")).expect("a valid key");
        run.keys.insert(sub_key.as_str().to_owned());
        let r = b.get_subscription(&sub_key).await;
        allowed(&mut run, "get missing subscription", &r, &missing);
        let new_sub = NewSubscription::new(sub_key.clone(), customer.clone(), ctx.starter())
            .currency(Currency::USD)
            .interval(billing::BillingInterval::Monthly);
        let r = b.create_subscription(&new_sub).await;
        allowed(&mut run, "create subscription", &r, &[]);
        let sub = r.expect("created");
        assert_eq!(sub.key, sub_key);
        let r = b.get_subscription(&sub_key).await;
        allowed(&mut run, "get subscription", &r, &[]);
        let r = b
            .list_subscriptions(&customer, &PageRequest::first(5))
            .await;
        allowed(&mut run, "list subscriptions", &r, &[]);
        assert_eq!(r.expect("listed").items.len(), 1, "exactly its own");

        // Events with a hostile id, then a hostile metric.
        let event_id = EventId::new(suffixed(&key, "!e")).expect("a valid event id");
        run.keys.insert(event_id.as_str().to_owned());
        let ok = UsageEvent::new(event_id, sub_key.clone(), ctx.api_calls(), dec("2"));
        let metric = MetricCode::new(key.clone()).expect("a valid metric code");
        let bad_metric = UsageEvent::new(
            ctx.event_id(&format!("hm{n}")),
            sub_key.clone(),
            metric.clone(),
            dec("1"),
        );
        let outcomes = b.record_usage(&[ok, bad_metric]).await;
        run.calls += 1;
        assert!(outcomes[0].is_recorded(), "{:?}", outcomes[0]);
        assert!(
            matches!(&outcomes[1], EventOutcome::Rejected(e) if refused.contains(&e.kind())),
            "{:?}",
            outcomes[1]
        );
        if ctx.caps().usage_current_period {
            let r = b.usage(&UsageQuery::current(sub_key.clone())).await;
            allowed(&mut run, "usage", &r, &[]);
            let r = b
                .usage(&UsageQuery::current(sub_key.clone()).metric(metric))
                .await;
            allowed(&mut run, "usage of a hostile metric", &r, &refused);
        }

        // A hostile plan code, then the end of the subscription and of the customer.
        let plan = PlanCode::new(key.clone()).expect("a valid plan code");
        run.keys.insert(plan.as_str().to_owned());
        for at in [ChangeAt::Now, ChangeAt::PeriodEnd, ChangeAt::VendorDefault] {
            let r = b.change_plan(&sub_key, &plan, at).await;
            allowed(&mut run, "change to a hostile plan", &r, &refused);
        }
        let other = SubscriptionKey::new(suffixed(&key, "~p")).expect("a valid key");
        run.keys.insert(other.as_str().to_owned());
        let r = b
            .create_subscription(&NewSubscription::new(other, customer.clone(), plan))
            .await;
        allowed(&mut run, "subscribe to a hostile plan", &r, &refused);
        let r = b.cancel_subscription(&sub_key, CancelAt::Now).await;
        allowed(&mut run, "cancel", &r, &[]);
        if ctx.caps().customer_delete.is_some() {
            let r = b.delete_customer(&customer).await;
            allowed(&mut run, "delete", &r, &[]);
        }
    }
    let r = b.list_customers(&PageRequest::first(100)).await;
    allowed(&mut run, "list customers", &r, &[]);
    run
}
