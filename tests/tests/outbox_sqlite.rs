//! The outbox's scenarios on its embedded SQLite store, plus what only SQLite has: a size
//! limit (`outbox.max_bytes`) and a file that cannot be created.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use billing::ErrorKind;
use billing::outbox::{Destination, Outbox, OutboxConfig};
use billing::prelude::*;
use billing_conformance::outbox::scripted::{Scripted, event, subscribed};
use billing_conformance::outbox::{StoreKind, quick};
use billing_conformance::outbox_store_suite;

outbox_store_suite!(StoreKind::Sqlite);

#[tokio::test]
async fn a_full_store_refuses_to_record_with_a_clear_error_and_loses_nothing_it_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let backend = Scripted::new(true, 100, Box::new(|_, _| None));
    let sub = subscribed(backend.as_ref()).await;
    let mut c = quick(OutboxConfig::sqlite(dir.path().join("outbox.db")));
    c.max_bytes = Some(128 * 1024);
    let outbox = Outbox::open(&c, vec![Destination::new("m", backend.clone())])
        .await
        .unwrap();
    let mut stored = 0;
    let error = loop {
        let batch: Vec<_> = (0..100)
            .map(|i| event(&format!("f{stored}-{i}"), &sub, 1))
            .collect();
        match outbox.record(&batch).await {
            Ok(done) => stored += done.stored,
            Err(e) => break e,
        }
        assert!(stored < 100_000, "the store never filled up");
    };
    assert_eq!(error.kind(), ErrorKind::Unavailable, "{error}");
    assert!(!error.is_temporary());
    assert!(
        error.to_string().contains("outbox.max_bytes"),
        "names the setting: {error}"
    );
    assert_eq!(
        outbox.stats().await.unwrap().pending,
        stored as u64,
        "the refused batch is not half stored"
    );
    // Everything it accepted is delivered, which makes room again.
    let stats = outbox.start().drain(Duration::from_secs(30)).await.unwrap();
    assert!(stats.is_drained());
    let usage = backend
        .usage(&billing::UsageQuery::current(sub.clone()))
        .await
        .unwrap();
    assert_eq!(
        usage.quantity(&billing::MetricCode::new("api_calls").unwrap()),
        billing::rust_decimal::Decimal::from(stored)
    );
    outbox.record(&[event("after", &sub, 1)]).await.unwrap();
}

#[tokio::test]
async fn a_store_that_cannot_be_created_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let c = OutboxConfig::sqlite(file.join("outbox.db"));
    let e = Outbox::open(&c, Vec::new()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    assert!(
        e.to_string().contains(&file.display().to_string()),
        "names the path: {e}"
    );
}

#[tokio::test]
async fn statistics_are_also_tracing_events() {
    let capture = billing_conformance::traces::TraceCapture::global();
    let dir = tempfile::tempdir().unwrap();
    let backend = Scripted::new(true, 100, Box::new(|_, _| None));
    let sub = subscribed(backend.as_ref()).await;
    let c = quick(OutboxConfig::sqlite(dir.path().join("outbox.db")));
    let outbox = Outbox::open(&c, vec![Destination::new("traced-dest", backend.clone())])
        .await
        .unwrap();
    outbox
        .record(&[event("t1", &sub, 1), event("t2", &sub, 1)])
        .await
        .unwrap();
    let stats = outbox.stats().await.unwrap();
    assert_eq!(stats.pending, 2);
    let text = capture.text();
    let line = text
        .lines()
        .find(|l| l.contains("outbox statistics") && l.contains("traced-dest"))
        .unwrap_or_else(|| panic!("no statistics event in:\n{text}"));
    for field in [
        "pending=2",
        "in_flight=0",
        "dead_letters=0",
        "held_unknown=0",
        "oldest_pending_ms=",
    ] {
        assert!(line.contains(field), "{field} in {line}");
    }
}
