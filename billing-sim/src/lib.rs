//! # billing-sim
//!
//! Stateful simulators of the Lago, Kill Bill and BillaBear HTTP APIs, written from the vendors'
//! documented and source-verified behaviour (`shared/vendors/*.md`), quirks included. They never
//! import an adapter's wire types: if both shared one misreading of a vendor's API, every test
//! would still pass.
//!
//! Every simulator runs on 127.0.0.1 (an ephemeral port by default), serves a [`Catalog`] (the
//! sample by default, or any catalog file, translated to the vendor's model), keeps a
//! [`RequestLog`] of the raw requests it received, and injects faults on demand
//! ([`FaultConfig`]): 500/503, 429 with the vendor's rate-limit headers, connections dropped
//! before or after the write commits, and answers delayed past a client's timeout. The same
//! controls are served over HTTP under `/__sim` ([`admin`]), and the `billing-sim` binary runs
//! one simulator for any language's tests (`billing-sim/README.md`).
#![deny(missing_docs)]

pub mod admin;
pub mod billabear;
pub mod catalog;
pub mod faults;
mod iso;
pub mod killbill;
pub mod lago;
pub mod log;
pub mod server;

pub use admin::{ADMIN_PREFIX, Control, SimInfo};
pub use catalog::{Catalog, CatalogError};
pub use faults::{Fault, FaultConfig, FaultCounts, Faults};
pub use log::{RecordedRequest, RequestLog};
pub use server::{SimOptions, SimServer};

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::routing::post;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn counting_router() -> (Router, Arc<AtomicUsize>) {
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        let router = Router::new().route(
            "/write",
            post(move || {
                let h = h.clone();
                async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    "ok"
                }
            }),
        );
        (router, hits)
    }

    fn no_headers(_: u64) -> http::HeaderMap {
        http::HeaderMap::new()
    }

    #[tokio::test]
    async fn drop_before_does_not_process_and_drop_after_does() {
        let (router, hits) = counting_router();
        let sim = SimServer::start(router, SimOptions::default(), no_headers)
            .await
            .unwrap();
        let client = reqwest::Client::new();
        let url = format!("{}/write", sim.base_url());

        sim.faults().set(FaultConfig {
            drop_before: 1.0,
            ..FaultConfig::none()
        });
        assert!(client.post(&url).send().await.is_err());
        assert_eq!(hits.load(Ordering::SeqCst), 0);

        sim.faults().set(FaultConfig {
            drop_after: 1.0,
            ..FaultConfig::none()
        });
        assert!(client.post(&url).send().await.is_err());
        assert_eq!(hits.load(Ordering::SeqCst), 1, "the write committed");

        sim.faults().set(FaultConfig::none());
        let resp = client.post(&url).body("x").send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(sim.log().len(), 3);
        assert_eq!(sim.log().snapshot()[2].body.as_ref(), b"x");
        assert_eq!(sim.faults().counts().dropped_before, 1);
        assert_eq!(sim.faults().counts().dropped_after, 1);
    }

    #[tokio::test]
    async fn status_faults_and_rate_limits() {
        let (router, hits) = counting_router();
        fn reset(secs: u64) -> http::HeaderMap {
            let mut h = http::HeaderMap::new();
            h.insert("retry-after", secs.to_string().parse().unwrap());
            h
        }
        let sim = SimServer::start(
            router,
            SimOptions {
                faults: FaultConfig {
                    rate_limit: 1.0,
                    rate_limit_reset_secs: 7,
                    ..FaultConfig::none()
                },
                ..SimOptions::default()
            },
            reset,
        )
        .await
        .unwrap();
        let url = format!("{}/write", sim.base_url());
        let resp = reqwest::Client::new().post(&url).send().await.unwrap();
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "7");
        sim.faults().set(FaultConfig {
            error_503: 1.0,
            ..FaultConfig::none()
        });
        let resp = reqwest::Client::new().post(&url).send().await.unwrap();
        assert_eq!(resp.status(), 503);
        assert_eq!(hits.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn mixed_faults_are_reproducible_and_near_the_rate() {
        let a = Faults::new(FaultConfig::mixed(0.2), 7, no_headers);
        let b = Faults::new(FaultConfig::mixed(0.2), 7, no_headers);
        let draws_a: Vec<Fault> = (0..1000).map(|_| a.draw("/x")).collect();
        let draws_b: Vec<Fault> = (0..1000).map(|_| b.draw("/x")).collect();
        assert_eq!(draws_a, draws_b);
        let faulty = draws_a.iter().filter(|f| **f != Fault::None).count();
        assert!((150..250).contains(&faulty), "{faulty}");
    }
}
