//! The whole flow on the embedded default (no server): customer, subscription, usage (directly,
//! and durably through the outbox), usage query, listing.
//!
//! Run with `cargo run --example quickstart`.
#![allow(clippy::print_stdout)]

use std::time::Duration;

use billing::catalog::sample;
use billing::outbox::{Destination, Outbox, OutboxConfig};
use billing::rust_decimal::Decimal;
use billing::{
    BillingConfig, BillingExt, CancelAt, ChangeAt, Currency, CustomerKey, EventId, EventOutcome,
    MetricCode, NewCustomer, NewSubscription, PlanCode, SubscriptionKey, UsageEvent, UsageQuery,
};
use futures::TryStreamExt;

#[tokio::main]
async fn main() -> billing::Result<()> {
    // The embedded default: an in-memory backend with a sample catalog.
    let config = BillingConfig::memory();
    let backend = billing::connect(&config)?;
    println!("Using the `{}` backend\n", backend.info().name);

    // 1. Customers are addressed by your own keys.
    let acme = CustomerKey::new("acme")?;
    let customer = backend
        .create_customer(
            &NewCustomer::new(acme.clone())
                .name("Acme Corp")
                .email("billing@acme.example")
                .currency(Currency::USD)
                .metadata("segment", "enterprise"),
        )
        .await?;
    println!("Created customer {} ({})", customer.key, customer.vendor_id);

    // 2. Subscribe it to a plan: get-or-create, safe to run at every start (a key held by another
    //    customer, or on another plan, is a Conflict naming it).
    let sub_key = SubscriptionKey::new("acme-main")?;
    let sub = backend
        .ensure_subscription(&NewSubscription::new(
            sub_key.clone(),
            acme.clone(),
            PlanCode::new(sample::STARTER)?,
        ))
        .await?;
    let period = sub.current_period.map_or_else(String::new, |p| {
        format!(
            ", period {} .. {}",
            p.start.format("%Y-%m-%d"),
            p.end.format("%Y-%m-%d")
        )
    });
    println!("Subscribed to {} ({:?}{period})", sub.plan, sub.status);

    // 3. Record usage in one batch: one outcome per event, in order. Event ids make retries safe.
    let api_calls = MetricCode::new(sample::API_CALLS)?;
    let event = |id: &str, qty: &str| -> billing::Result<UsageEvent> {
        let quantity: Decimal = qty
            .parse()
            .map_err(|e| billing::Error::invalid_input(format!("{qty}: {e}")))?;
        Ok(UsageEvent::new(
            EventId::new(id)?,
            sub_key.clone(),
            api_calls.clone(),
            quantity,
        ))
    };
    let batch = vec![
        event("req-1", "0.1")?,
        event("req-2", "0.2")?,
        event("req-3", "1250")?,
        event("req-4", "-5")?,  // invalid: rejected, the others still count
        event("req-1", "0.1")?, // a retry of req-1: recognised, not counted twice
    ];
    println!("\nRecording {} usage events:", batch.len());
    for (e, outcome) in batch.iter().zip(backend.record_usage(&batch).await) {
        let text = match outcome {
            EventOutcome::Accepted => "accepted".to_owned(),
            EventOutcome::Duplicate => "duplicate, not counted again".to_owned(),
            EventOutcome::Rejected(err) => format!("rejected ({})", err.kind()),
            // The answer was lost after the request may have been applied (never on the
            // in-memory backend). Resend only where the vendor deduplicates by event id.
            EventOutcome::Unknown(err) if backend.capabilities().usage_dedup_by_event_id => {
                format!("unknown ({}): resend, it counts once", err.kind())
            }
            EventOutcome::Unknown(err) => format!("unknown ({}): hold for a decision", err.kind()),
        };
        println!("  {:<6} {:>5}  {text}", e.id, e.quantity);
    }

    // 4. Durable usage: the outbox commits events to a local store (a SQLite file here; a
    //    PostgreSQL database for applications on many machines) and delivers them in the
    //    background, so a crash or a vendor outage loses nothing.
    let dir = std::env::temp_dir().join(format!("billing-quickstart-{}", std::process::id()));
    let outbox = Outbox::open(
        &OutboxConfig::sqlite(dir.join("outbox.db")),
        vec![Destination::new("memory", backend.clone())],
    )
    .await?;
    let delivery = outbox.start();
    let committed = outbox
        .record(&[event("req-5", "40")?, event("req-6", "60")?])
        .await?; // on disk when this returns
    println!(
        "\nOutbox: {} events committed to {}",
        committed.stored,
        dir.join("outbox.db").display()
    );
    // At shutdown: deliver what can be delivered within 10 s; the rest waits for the next start.
    let left = delivery.drain(Duration::from_secs(10)).await?;
    println!(
        "Outbox: {} delivered; pending {}, dead letters {}, held unknown {}",
        outbox.counters().delivered,
        left.pending,
        left.dead_letters,
        left.held_unknown
    );
    let _ = std::fs::remove_dir_all(&dir);

    // 5. Ask for the usage of the current period: exact decimals, priced by the plan.
    let usage = backend.usage(&UsageQuery::current(sub_key.clone())).await?;
    println!("\nUsage this period:");
    for line in &usage.lines {
        let amount = line
            .amount
            .map_or_else(|| "-".to_owned(), |m| m.to_string());
        println!("  {:<10} {:>5}  {amount}", line.metric, line.quantity);
    }

    // 6. Upgrade now, then cancel at the end of the period.
    let upgraded = backend
        .change_plan(&sub_key, &PlanCode::new(sample::PRO)?, ChangeAt::Now)
        .await?;
    println!("\nUpgraded to {}", upgraded.plan);
    let canceled = backend
        .cancel_subscription(&sub_key, CancelAt::PeriodEnd)
        .await?;
    if let Some(ends) = canceled.ends_at {
        println!(
            "Cancels at {} ({:?})",
            ends.format("%Y-%m-%d"),
            canceled.status
        );
    }

    // 7. List every customer as a stream, one page at a time.
    for name in ["globex", "initech", "umbrella"] {
        backend
            .ensure_customer(&NewCustomer::new(CustomerKey::new(name)?).name(name))
            .await?;
    }
    let keys: Vec<String> = backend
        .customers(2)
        .map_ok(|c| c.key.to_string())
        .try_collect()
        .await?;
    println!("\nAll customers, 2 per page: {}", keys.join(", "));

    // What this backend can do is data, not guesswork.
    let caps = backend.capabilities();
    println!(
        "\nCapabilities: usage range queries {}, dedup by event id {}",
        caps.usage_range, caps.usage_dedup_by_event_id
    );
    Ok(())
}
