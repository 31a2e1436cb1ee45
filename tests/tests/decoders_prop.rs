//! Property test of every adapter's response decoding, end to end: a spoiling proxy in front of
//! each simulator answers with arbitrary bytes, arbitrary JSON, or the vendor's own answer with
//! one node replaced by an odd value (and sometimes cut short), and the read and write paths
//! (`get_customer`, `list_customers`, `get_subscription`, `list_subscriptions`, `usage`,
//! `record_usage`) must return (a value or an error whose `Display` works), never panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, OnceLock};

use axum::body::Bytes;
use billing::{BillingConfig, BillingExt, PageRequest, Subscription, UsageQuery};
use billing_conformance::Ctx;
use billing_conformance::malformed::{Mutation, SpoilingProxy};
use billing_conformance::sims::{SimTarget, Vendor};
use billing_sim::SimOptions;
use proptest::prelude::*;
use serde_json::Value;

/// One vendor's world: simulator, proxy, a context through the proxy, and a subscription.
struct World {
    _target: Arc<SimTarget>,
    proxy: SpoilingProxy,
    ctx: Ctx,
    sub: Subscription,
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    })
}

fn worlds() -> &'static Vec<World> {
    static WORLDS: OnceLock<Vec<World>> = OnceLock::new();
    WORLDS.get_or_init(|| {
        runtime().block_on(async {
            let mut worlds = Vec::new();
            for vendor in Vendor::ALL {
                let target = Arc::new(SimTarget::start(vendor, SimOptions::default()).await);
                let proxy = SpoilingProxy::start(&target.server().base_url()).await;
                let toml = target.toml_via(proxy.origin(), "timeout_ms = 5000\nmax_retries = 0\n");
                let backend =
                    billing::connect(&BillingConfig::from_toml_str(&toml).unwrap()).unwrap();
                let ctx = Ctx::new(backend);
                let sub = ctx.subscribed("prop", ctx.starter()).await;
                worlds.push(World {
                    _target: target,
                    proxy,
                    ctx,
                    sub,
                });
            }
            worlds
        })
    })
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512).prop_map(|b| Mutation::Replace(Bytes::from(b))),
        json().prop_map(|v| Mutation::Replace(Bytes::from(v.to_string()))),
        any::<u64>().prop_map(Mutation::Perturb),
        any::<u64>().prop_map(Mutation::Perturb),
    ]
}

/// Every call through the spoiled answers; returns how many failed (and formats each error).
async fn calls(world: &World, n: u64) -> usize {
    let b = world.ctx.backend();
    let sub = &world.sub;
    let event = world
        .ctx
        .event(&format!("p{n}"), &sub.key, world.ctx.api_calls(), "1");
    let results: Vec<Result<(), billing::Error>> = vec![
        b.get_customer(&sub.customer).await.map(|_| ()),
        b.list_customers(&PageRequest::first(5)).await.map(|_| ()),
        b.get_subscription(&sub.key).await.map(|_| ()),
        b.list_subscriptions(&sub.customer, &PageRequest::first(5))
            .await
            .map(|_| ()),
        b.usage(&UsageQuery::current(sub.key.clone()))
            .await
            .map(|_| ()),
        b.record_one(&event).await.map(|_| ()),
    ];
    results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .map(|e| (e.to_string(), format!("{e:?}")))
        .count()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn spoiled_answers_never_panic(mutation in mutation(), n in any::<u64>()) {
        let worlds = worlds();
        for world in worlds {
            world.proxy.set(mutation.clone());
            let _failed = runtime().block_on(calls(world, n));
            world.proxy.set(Mutation::None);
        }
    }
}
