//! Malformed vendor answers: every answer of each adapter's simulator is spoiled by a loopback
//! proxy (truncated JSON, wrong JSON types, an HTML page, an empty body, a body over the size
//! limit, `null`, `[]`, `{}`), and every trait method is called through it, with warm caches
//! and with a fresh backend. Each call succeeds (when the adapter does not need what was
//! spoiled) or fails with a typed `Decode` or `Unexpected` error (`NotFound` for a lookup
//! answered with an empty list `[]`, which is well-formed; `Config` naming the base URL for a
//! vendor's 404 spoiled into a body that is no longer the vendor's, which is what a wrong base
//! URL looks like); none panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::body::Bytes;

use billing::{BillingConfig, ErrorKind};
use billing_conformance::Ctx;
use billing_conformance::malformed::{HTML, Mutation, SpoilingProxy, every_operation};
use billing_conformance::sims::{SimTarget, Vendor};
use billing_sim::SimOptions;
use rstest::rstest;

/// Short timeouts and one retry: a spoiled answer is never worth waiting for.
const HTTP: &str = "timeout_ms = 5000\nmax_retries = 1\nretry_base_delay_ms = 1\n";

#[rstest]
#[case::lago(Vendor::Lago)]
#[case::killbill(Vendor::KillBill)]
#[case::billabear(Vendor::BillaBear)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spoiled_answers_give_typed_errors(#[case] vendor: Vendor) {
    let target = Arc::new(SimTarget::start(vendor, SimOptions::default()).await);
    let proxy = SpoilingProxy::start(&target.server().base_url()).await;
    let toml = target.toml_via(proxy.origin(), HTTP);
    let connect = || billing::connect(&BillingConfig::from_toml_str(&toml).unwrap()).unwrap();
    let setup = Ctx::new(connect());
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (n, mutation) in Mutation::all().into_iter().enumerate() {
        for (round, warm) in [("warm", true), ("cold", false)] {
            proxy.set(Mutation::None);
            let run = Ctx::new(connect());
            let results = every_operation(&setup, &run, &format!("m{n}{round}"), warm, || {
                proxy.set(mutation.clone());
            })
            .await;
            proxy.set(Mutation::None);
            for (op, result) in results {
                let kind = match &result {
                    Ok(()) => "ok".to_owned(),
                    Err(e) => e.kind().to_string(),
                };
                *kinds.entry(kind).or_default() += 1;
                // `[]` is well-formed: an empty list where one is expected says "nothing
                // there", which a lookup reports as `NotFound`.
                let empty_list = mutation == Mutation::Replace(b"[]".as_slice().into());
                // A vendor's own 404, spoiled, is a 404 some other server could have sent:
                // reported as a base URL that reaches no API route, never as `NotFound`.
                let spoiled_404 = |e: &billing::Error| {
                    e.kind() == ErrorKind::Config
                        && e.vendor().and_then(|v| v.status) == Some(404)
                        && e.message().contains("base_url")
                };
                if let Err(e) = result
                    && !matches!(e.kind(), ErrorKind::Decode | ErrorKind::Unexpected)
                    && !(empty_list && e.kind() == ErrorKind::NotFound)
                    && !spoiled_404(&e)
                {
                    wrong.push(format!("{} {round} {op}: {e}", mutation.name()));
                }
            }
        }
    }
    println!("{}: outcomes of spoiled calls: {kinds:?}", vendor.name());
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(kinds.get("decode error").is_some_and(|n| *n > 0));
}

/// Error statuses with bodies that say nothing usable (HTML, truncated JSON, JSON of the wrong
/// shape): each call gets the same kind of error as with an empty body of that status, so
/// the status decides, and the broken body neither panics nor changes the classification.
/// Except for 404, where the body is what tells a missing object (the vendor's own answer)
/// from a URL that reaches no API route: every broken 404 body is a `Config` error naming the
/// base URL, on every vendor (an empty one is BillaBear's own not-found answer, and nobody
/// else's).
#[rstest]
#[case::lago(Vendor::Lago)]
#[case::killbill(Vendor::KillBill)]
#[case::billabear(Vendor::BillaBear)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_error_bodies_are_classified_by_their_status(#[case] vendor: Vendor) {
    let target = Arc::new(SimTarget::start(vendor, SimOptions::default()).await);
    let proxy = SpoilingProxy::start(&target.server().base_url()).await;
    let toml = target.toml_via(proxy.origin(), HTTP);
    let connect = || billing::connect(&BillingConfig::from_toml_str(&toml).unwrap()).unwrap();
    let setup = Ctx::new(connect());
    let bodies: [&[u8]; 4] = [
        b"",
        HTML.as_bytes(),
        br#"{"code": 10, "message": "trunc"#,
        br#"{"code": [], "message": 5, "error_details": "x", "errors": 1, "status": "x"}"#,
    ];
    let mut checked = 0;
    for status in [400_u16, 401, 404, 409, 422, 429, 500, 503] {
        let mut by_body = Vec::new();
        for (n, body) in bodies.iter().enumerate() {
            let run = Ctx::new(connect());
            let mutation = Mutation::Status(status, Bytes::from_static(body));
            let results = every_operation(&setup, &run, &format!("s{status}b{n}"), true, || {
                proxy.set(mutation.clone());
            })
            .await;
            proxy.set(Mutation::None);
            let kinds: Vec<(&str, String)> = results
                .into_iter()
                .map(|(op, r)| (op, r.err().map_or("ok".into(), |e| e.kind().to_string())))
                .collect();
            by_body.push(kinds);
        }
        let (empty, broken) = by_body.split_first().unwrap();
        for (n, kinds) in broken.iter().enumerate() {
            if status == 404 {
                assert!(
                    kinds.iter().all(|(_, k)| k == "configuration error"),
                    "status 404, body {:?}: {kinds:?}",
                    bodies[n + 1]
                );
            } else {
                assert_eq!(kinds, empty, "status {status}, body {:?}", bodies[n + 1]);
            }
            checked += kinds.len();
        }
        assert!(empty.iter().all(|(_, k)| k != "ok"), "{status}: {empty:?}");
    }
    println!(
        "{}: {checked} calls with broken error bodies, each classified by its status",
        vendor.name()
    );
}
