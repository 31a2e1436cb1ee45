//! Proof that the raw baseline sends what the adapter sends: the adapter records a sample of
//! events against an in-process simulator, and its captured requests (method, path, query,
//! headers, body bytes) are compared with the baseline's for the same events.

use anyhow::{Context, bail, ensure};
use billing::EventOutcome;
use http::{HeaderMap, Method, header};

use super::bodies;
use crate::fixture;
use crate::inproc::{InProcess, request_line};
use crate::vendor::Vendor;

/// How the adapter's usage requests look, apart from their bodies.
#[derive(Debug, Clone)]
pub struct Template {
    /// Method.
    pub method: Method,
    /// Path and query, as sent.
    pub path_and_query: String,
    /// Every header but `host` and `content-length` (reqwest sets those).
    pub headers: HeaderMap,
}

/// The outcome of the comparison.
#[derive(Debug, Clone)]
pub struct Fidelity {
    /// The request shape to reuse against the measured simulator.
    pub template: Template,
    /// Requests compared byte for byte.
    pub compared: usize,
}

/// Events in the sample: more than one Lago batch.
const SAMPLE: usize = 150;

/// Captures the adapter's usage requests for a sample and checks the baseline's bodies against
/// them.
///
/// # Errors
/// If the adapter refuses an event, or any request differs.
pub async fn check(vendor: Vendor, concurrency: usize) -> anyhow::Result<Fidelity> {
    let sim = InProcess::start(vendor).await?;
    let backend = vendor.connect(&sim.url(), concurrency)?;
    let subs = fixture::subscriptions(backend.as_ref(), "fid", 3).await?;
    let at = fixture::now_ms();
    // Caches first (catalog, subscription ids), so the log then holds usage requests only.
    let prime = fixture::events("p-", 0..subs.keys.len(), &subs.keys, at)?;
    all_accepted(&backend.record_usage(&prime).await)?;
    sim.log().clear();
    let sample = fixture::events("f-", 0..SAMPLE, &subs.keys, at)?;
    all_accepted(&backend.record_usage(&sample).await)?;
    let captured = sim.log().snapshot();
    let expected = bodies::bodies(vendor, &sample, &subs.vendor_ids)?;
    ensure!(
        captured.len() == expected.len(),
        "{vendor:?}: the adapter sent {} requests for {SAMPLE} events, the baseline would send {}",
        captured.len(),
        expected.len()
    );
    let first = captured.first().context("no request captured")?;
    let line = request_line(first);
    let headers = without_transport_headers(&first.headers);
    for r in &captured {
        ensure!(
            request_line(r) == line,
            "{vendor:?}: requests differ: {line} vs {}",
            request_line(r)
        );
        ensure!(
            without_transport_headers(&r.headers) == headers,
            "{vendor:?}: the adapter's usage requests do not all carry the same headers"
        );
    }
    // Every vendor's requests (Lago's batches too) are sent concurrently, so they may arrive in
    // any order: compare as multisets.
    let mut got: Vec<&[u8]> = captured.iter().map(|r| r.body.as_ref()).collect();
    let mut want: Vec<&[u8]> = expected.iter().map(AsRef::as_ref).collect();
    got.sort_unstable();
    want.sort_unstable();
    if let Some((g, w)) = got.iter().zip(&want).find(|(g, w)| g != w) {
        bail!(
            "{vendor:?}: the baseline's body differs from the adapter's\n adapter:  {}\n baseline: {}",
            String::from_utf8_lossy(g),
            String::from_utf8_lossy(w)
        );
    }
    let path_and_query = match &first.raw_query {
        Some(q) => format!("{}?{q}", first.raw_path),
        None => first.raw_path.clone(),
    };
    Ok(Fidelity {
        template: Template {
            method: first.method.clone(),
            path_and_query,
            headers,
        },
        compared: captured.len(),
    })
}

fn all_accepted(outcomes: &[EventOutcome]) -> anyhow::Result<()> {
    match outcomes
        .iter()
        .find(|o| !matches!(o, EventOutcome::Accepted))
    {
        Some(o) => bail!("the adapter did not accept an event: {o:?}"),
        None => Ok(()),
    }
}

fn without_transport_headers(headers: &HeaderMap) -> HeaderMap {
    let mut h = headers.clone();
    h.remove(header::HOST);
    h.remove(header::CONTENT_LENGTH);
    h
}
