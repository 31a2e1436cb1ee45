//! Shared code of the examples: the application logic that does not know which vendor it talks
//! to.
#![deny(missing_docs)]

pub mod cutover_demo;
pub mod demo;

use std::fmt::Write as _;

use billing::catalog::sample;
use billing::rust_decimal::Decimal;
use billing::{
    BillingBackend, BillingExt, CustomerKey, EventId, MetricCode, NewCustomer, NewSubscription,
    PlanCode, Result, SubscriptionKey, UsageEvent, UsageQuery,
};
use futures::TryStreamExt;

/// Onboards one customer, meters some usage and reports it: the same code for every backend.
/// Returns the report as text.
///
/// # Errors
/// Whatever the backend reports; usage rejections are reported in the text, not as errors.
pub async fn onboard_and_meter(backend: &dyn BillingBackend, run: &str) -> Result<String> {
    let mut out = String::new();
    let info = backend.info();
    let _ = writeln!(out, "backend: {}", info.name);

    let customer_key = CustomerKey::new(format!("{run}-acme"))?;
    let customer = backend
        .ensure_customer(
            &NewCustomer::new(customer_key.clone())
                .name("Acme Corp")
                .email(format!("billing+{run}@acme.example"))
                .currency(billing::Currency::USD),
        )
        .await?;
    let _ = writeln!(
        out,
        "customer: {} (vendor id {})",
        customer.key, customer.vendor_id
    );

    let sub_key = SubscriptionKey::new(format!("{run}-acme-main"))?;
    let subscription = match backend.get_subscription(&sub_key).await {
        Ok(s) => s,
        Err(e) if e.is_not_found() => {
            backend
                .create_subscription(
                    &NewSubscription::new(
                        sub_key.clone(),
                        customer_key.clone(),
                        PlanCode::new(sample::STARTER)?,
                    )
                    .currency(billing::Currency::USD),
                )
                .await?
        }
        Err(e) => return Err(e),
    };
    let _ = writeln!(
        out,
        "subscription: {} on {} ({:?})",
        subscription.key, subscription.plan, subscription.status
    );

    let metric = MetricCode::new(sample::API_CALLS)?;
    let events: Vec<UsageEvent> = [("1", "120"), ("2", "80.5"), ("3", "0.25"), ("1", "120")]
        .iter()
        .map(|(id, qty)| {
            Ok(UsageEvent::new(
                EventId::new(format!("{run}-call-{id}"))?,
                sub_key.clone(),
                metric.clone(),
                qty.parse::<Decimal>()
                    .map_err(|e| billing::Error::invalid_input(e.to_string()))?,
            ))
        })
        .collect::<Result<_>>()?;
    let outcomes = backend.record_usage(&events).await;
    for (event, outcome) in events.iter().zip(&outcomes) {
        let _ = writeln!(
            out,
            "  event {} qty {:>6}: {}",
            event.id,
            event.quantity,
            match outcome {
                billing::EventOutcome::Accepted => "accepted".to_owned(),
                billing::EventOutcome::Duplicate => "duplicate (not counted again)".to_owned(),
                billing::EventOutcome::Rejected(e) => format!("rejected: {e}"),
            }
        );
    }

    if backend.capabilities().usage_current_period {
        let usage = backend.usage(&UsageQuery::current(sub_key.clone())).await?;
        let _ = writeln!(
            out,
            "usage {} .. {}:",
            usage.period.start.format("%Y-%m-%d"),
            usage.period.end.format("%Y-%m-%d")
        );
        for line in &usage.lines {
            let amount = line
                .amount
                .map(|m| m.to_string())
                .unwrap_or_else(|| "-".into());
            let _ = writeln!(out, "  {:<12} {:>8}  {amount}", line.metric, line.quantity);
        }
    }

    let mine: Vec<_> = backend
        .customers(100)
        .try_filter(|c| futures::future::ready(c.key.as_str().starts_with(run)))
        .try_collect()
        .await?;
    let _ = writeln!(out, "customers of this run: {}", mine.len());
    Ok(out)
}
