//! The official Lago client this repository uses (`lago-client`, also in the benchmark) works
//! against the Lago simulator serving a custom catalog: it reads the file's metrics, creates a
//! customer and a subscription on one of its plans, sends events and reads the aggregated
//! usage back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use billing_sim::lago::{LagoSim, LagoSimConfig};
use billing_sim::{Catalog, SimOptions};
use lago_client::{Config, Credentials, LagoClient, Region, RetryConfig, RetryMode};
use lago_types::models::billable_metric::BillableMetricAggregationType;
use lago_types::requests::billable_metric::GetBillableMetricRequest;
use lago_types::requests::customer::{CreateCustomerInput, CreateCustomerRequest};
use lago_types::requests::customer_usage::GetCustomerCurrentUsageRequest;
use lago_types::requests::event::{CreateEventInput, CreateEventRequest};
use lago_types::requests::subscription::{CreateSubscriptionInput, CreateSubscriptionRequest};

#[tokio::test]
async fn lago_client_against_a_custom_catalog() {
    let catalog =
        Catalog::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("catalogs/example.toml"))
            .unwrap();
    let config = LagoSimConfig {
        api_key: "official-client-k3y".to_owned(),
        catalog,
    };
    let sim = LagoSim::start_with(SimOptions::default(), config)
        .await
        .unwrap();
    let client = LagoClient::new(
        Config::builder()
            .credentials(Credentials::new("official-client-k3y".to_owned()))
            .region(Region::Custom(sim.api_url()))
            .timeout(Duration::from_secs(10))
            .retry_config(RetryConfig::builder().mode(RetryMode::Off).build())
            .build(),
    );

    let metric = client
        .get_billable_metric(GetBillableMetricRequest::new("active_users".to_owned()))
        .await
        .unwrap()
        .billable_metric;
    assert!(matches!(
        metric.aggregation_type,
        BillableMetricAggregationType::UniqueCountAgg
    ));
    assert_eq!(metric.field_name.as_deref(), Some("user_id"));
    let weighted = client
        .get_billable_metric(GetBillableMetricRequest::new("storage_gb_time".to_owned()))
        .await
        .unwrap()
        .billable_metric;
    assert!(matches!(
        weighted.aggregation_type,
        BillableMetricAggregationType::WeightedSumAgg
    ));
    assert!(weighted.weighted_interval.is_some());

    client
        .create_customer(CreateCustomerRequest::new(CreateCustomerInput::new(
            "acme".to_owned(),
        )))
        .await
        .unwrap();
    let sub = client
        .create_subscription(CreateSubscriptionRequest::new(
            CreateSubscriptionInput::new("acme".to_owned(), "growth-monthly".to_owned())
                .with_external_id("g1".to_owned()),
        ))
        .await
        .unwrap()
        .subscription;
    assert_eq!(sub.plan_code, "growth-monthly");
    for (i, user) in ["alice", "bob", "alice"].iter().enumerate() {
        let input = CreateEventInput::for_subscription(
            format!("tx-{i}"),
            "g1".to_owned(),
            "active_users".to_owned(),
        )
        .with_properties(serde_json::json!({ "user_id": user }));
        client
            .create_event(CreateEventRequest::new(input))
            .await
            .unwrap();
    }
    let usage = client
        .get_customer_current_usage(GetCustomerCurrentUsageRequest::new(
            "acme".to_owned(),
            "g1".to_owned(),
        ))
        .await
        .unwrap()
        .customer_usage;
    let line = usage
        .charges_usage
        .iter()
        .find(|c| c.billable_metric.code == "active_users")
        .unwrap();
    assert_eq!((line.units.as_str(), line.events_count), ("2.0", 2));
    assert_eq!(line.amount_cents, 800);
}
