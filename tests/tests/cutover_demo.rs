//! The cutover example at a small size: every event counted exactly once across Lago and Kill
//! Bill, none refused, billing dates lined up. (`.ci/run` runs the example itself at 10,000
//! events over 100 subscriptions.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use billing_examples::cutover_demo::cutover_demo;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_is_counted_exactly_once_across_the_switch() {
    let o = cutover_demo(12, 16).await.unwrap();
    assert_eq!(o.events_sent, 12 * 16);
    assert_eq!(o.events_refused, 0);
    assert_eq!(o.period_mismatches, 0);
    let r = &o.reconciliation;
    assert!(r.is_exact(), "{r:#?}");
    assert!(
        r.source.events_sent > 0 && r.target.events_sent > 0,
        "both sides billed some"
    );
    assert_eq!(r.source.events_sent + r.target.events_sent, 12 * 16);
}
