//! Section 3, requests per operation: every trait method called once on a fresh backend (cold:
//! empty caches) and once on a backend that has already used the keys involved (warm), with
//! the requests counted from an in-process simulator's request log.

pub mod ops;

use std::future::Future;

use anyhow::Context;
use billing::{BillingBackend, CustomerKey};
use billing_sim::RequestLog;
use serde::Serialize;

use crate::fixture;
use crate::inproc::InProcess;
use crate::vendor::Vendor;
use ops::{Fixture, Op};

/// One operation's counts.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The operation.
    pub operation: Op,
    /// Requests with empty caches (`None`: the call failed, see `note`).
    pub cold: Option<usize>,
    /// Requests with warm caches.
    pub warm: Option<usize>,
    /// Events the call recorded (0 for other operations).
    pub events: usize,
    /// What the call returned worth knowing (items on a page, the plan change's timing,
    /// `unsupported`, or an error).
    pub note: String,
}

/// Section 3's figures for one vendor.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The vendor.
    pub vendor: Vendor,
    /// One row per operation.
    pub rows: Vec<Row>,
    /// Whether one event costs one request with warm caches (`record_usage` of one event).
    pub warm_event_is_one_request: bool,
}

/// Runs section 3 for `vendor`.
pub async fn run(vendor: Vendor, concurrency: usize) -> anyhow::Result<Report> {
    let sim = InProcess::start(vendor).await?;
    let url = sim.url();
    let setup = vendor.connect(&url, concurrency)?;
    let warm = vendor.connect(&url, concurrency)?;
    let mut rows = Vec::with_capacity(Op::ALL.len());
    for (i, op) in Op::ALL.into_iter().enumerate() {
        let fx = make_fixture(setup.as_ref(), &format!("rq{i}a")).await?;
        let cold_backend = vendor.connect(&url, concurrency)?;
        let (cold, cold_note) =
            count(sim.log(), ops::perform(op, cold_backend.as_ref(), &fx)).await;

        let fx = make_fixture(setup.as_ref(), &format!("rq{i}b")).await?;
        prime(warm.as_ref(), &fx).await?;
        let (warm_n, warm_note) = count(sim.log(), ops::perform(op, warm.as_ref(), &fx)).await;

        let note = if cold_note == warm_note {
            cold_note
        } else {
            format!("cold: {cold_note}; warm: {warm_note}")
        };
        rows.push(Row {
            operation: op,
            cold,
            warm: warm_n,
            events: op.events(),
            note,
        });
    }
    let warm_event_is_one_request = rows
        .iter()
        .any(|r| r.operation == Op::RecordUsageOne && r.warm == Some(1));
    Ok(Report {
        vendor,
        rows,
        warm_event_is_one_request,
    })
}

/// A customer `<tag>-c0` with a running subscription `<tag>-s0`, made by `setup`.
async fn make_fixture(setup: &dyn BillingBackend, tag: &str) -> anyhow::Result<Fixture> {
    let subs = fixture::subscriptions(setup, tag, 1).await?;
    Ok(Fixture {
        customer: CustomerKey::new(format!("{tag}-c0"))?,
        subscription: subs.keys.into_iter().next().context("one subscription")?,
        tag: tag.to_owned(),
    })
}

/// Uses the fixture's keys once, so the backend's caches know them (and the catalog).
async fn prime(backend: &dyn BillingBackend, fx: &Fixture) -> anyhow::Result<()> {
    backend.get_customer(&fx.customer).await?;
    backend.get_subscription(&fx.subscription).await?;
    let events = fixture::events(
        &format!("{}-p", fx.tag),
        0..1,
        std::slice::from_ref(&fx.subscription),
        fixture::now_ms(),
    )?;
    backend.record_usage(&events).await;
    Ok(())
}

/// The requests `call` sent, and its note (or error).
async fn count(
    log: &RequestLog,
    call: impl Future<Output = anyhow::Result<Option<String>>>,
) -> (Option<usize>, String) {
    let before = log.len();
    match call.await {
        Ok(note) => (Some(log.len() - before), note.unwrap_or_default()),
        Err(e) => (None, format!("error: {e:#}")),
    }
}
