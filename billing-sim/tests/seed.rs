//! Bulk seeding: seeded customers are listed over HTTP like created ones.
#![allow(clippy::unwrap_used)]

use billing_sim::SimOptions;
use billing_sim::billabear::BillaBearSim;
use billing_sim::killbill::KillBillSim;
use billing_sim::lago::LagoSim;
use serde_json::Value;

#[tokio::test]
async fn lago_lists_seeded_customers_newest_first() {
    let sim = LagoSim::start(SimOptions::default()).await.unwrap();
    sim.seed_customers(250, "seed-");
    sim.seed_customers(250, "seed-");
    assert_eq!(sim.customer_count(), 250, "keys in use are skipped");
    let page: Value = reqwest::Client::new()
        .get(format!("{}/customers?per_page=100", sim.api_url()))
        .bearer_auth(LagoSim::API_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["meta"]["total_count"], 250);
    let first = &page["customers"][0];
    assert_eq!(first["external_id"], "seed-0000249");
    assert_eq!(first["email"], "seed-0000249@example.com");
    assert_eq!(first["currency"], "USD");
    // 50 ms apart, shown in whole seconds: 100 customers span about 5 seconds.
    let last = page["customers"][99]["created_at"].as_str().unwrap();
    assert!(first["created_at"].as_str().unwrap() > last);
}

#[tokio::test]
async fn killbill_pages_through_seeded_accounts() {
    let sim = KillBillSim::start(SimOptions::default()).await.unwrap();
    sim.seed_accounts(250, "seed-");
    assert_eq!(sim.account_count(), 250);
    let response = reqwest::Client::new()
        .get(format!(
            "{}/1.0/kb/accounts/pagination?offset=200&limit=100",
            sim.base_url()
        ))
        .basic_auth(KillBillSim::USERNAME, Some(KillBillSim::PASSWORD))
        .header("X-Killbill-ApiKey", KillBillSim::API_KEY)
        .header("X-Killbill-ApiSecret", KillBillSim::API_SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["x-killbill-pagination-totalnbrecords"],
        "250"
    );
    let accounts: Vec<Value> = response.json().await.unwrap();
    assert_eq!(accounts.len(), 50);
    assert_eq!(accounts[0]["externalKey"], "seed-0000200");
    assert_eq!(accounts[0]["currency"], "USD");
}

#[tokio::test]
async fn billabear_lists_seeded_customers() {
    let sim = BillaBearSim::start(SimOptions::default()).await.unwrap();
    sim.seed_customers(150, "seed-");
    assert_eq!(sim.customer_count(), 150);
    let client = reqwest::Client::new();
    let get = |last: Option<String>| {
        let mut url = format!("{}/customer?limit=100", sim.api_url());
        if let Some(k) = last {
            url.push_str(&format!("&last_key={k}"));
        }
        client
            .get(url)
            .header("X-API-Key", BillaBearSim::API_KEY)
            .send()
    };
    let first: Value = get(None).await.unwrap().json().await.unwrap();
    assert_eq!(first["data"].as_array().unwrap().len(), 100);
    assert_eq!(first["has_more"], true);
    let c = &first["data"][0];
    assert!(c["reference"].as_str().unwrap().starts_with("seed-"));
    let last = first["last_key"].as_str().unwrap().to_owned();
    let second: Value = get(Some(last)).await.unwrap().json().await.unwrap();
    assert_eq!(second["data"].as_array().unwrap().len(), 50);
    assert_eq!(second["has_more"], false);
}
