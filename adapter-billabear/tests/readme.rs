//! The README's capability table has a BillaBear column, and it says what the code declares.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use adapter_billabear::capabilities;
use billing_core::CustomerDeletion;

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

#[test]
fn the_readme_column_matches_the_declared_capabilities() {
    let readme = include_str!("../../README.md");
    let c = capabilities();
    let lag = c.usage_read_lag.as_secs();
    let expected = [
        ("customer update", yes(c.customer_update).to_owned()),
        (
            "customer delete",
            match c.customer_delete {
                Some(CustomerDeletion::Close) => "close (disable)".to_owned(),
                other => panic!("update the README for {other:?}"),
            },
        ),
        (
            "customer metadata",
            format!("{} entries", c.customer_metadata.unwrap().max_entries),
        ),
        (
            "customer email required",
            yes(c.customer_email_required).to_owned(),
        ),
        (
            "cancel now / at period end",
            format!("{} / {}", yes(c.cancel_now), yes(c.cancel_at_period_end)),
        ),
        (
            "change plan now / at period end / vendor default",
            format!(
                "{} / {} / {}",
                yes(c.change_plan_now),
                yes(c.change_plan_at_period_end),
                yes(c.change_plan_vendor_default)
            ),
        ),
        ("usage events per request", c.usage_batch_max.to_string()),
        (
            "usage dedup by event id",
            yes(c.usage_dedup_by_event_id).to_owned(),
        ),
        (
            "usage with client timestamps",
            yes(c.usage_backdated).to_owned(),
        ),
        (
            "usage query: current period / range",
            format!("{} / {}", yes(c.usage_current_period), yes(c.usage_range)),
        ),
        (
            "usage per subscription",
            format!("{}⁵", yes(c.usage_per_subscription)),
        ),
        (
            "usage lines priced (`amount`)",
            yes(c.usage_amounts).to_owned(),
        ),
        ("usage read lag", format!("{lag} s")),
    ];
    let rows: Vec<Vec<&str>> = readme
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|l| {
            l.trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect()
        })
        .collect();
    let header = rows
        .iter()
        .find(|r| r.first() == Some(&"capability"))
        .expect("the capability table");
    let column = header
        .iter()
        .position(|h| *h == "BillaBear")
        .expect("a BillaBear column");
    for (name, value) in expected {
        let row = rows
            .iter()
            .find(|r| r.first() == Some(&name))
            .unwrap_or_else(|| panic!("README row {name:?}"));
        assert_eq!(row.get(column).copied(), Some(value.as_str()), "{name}");
    }
}
