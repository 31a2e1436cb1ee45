//! Kill Bill-specific rules of the adapter, checked against the Kill Bill simulator: what is
//! sent (and what is not), how many requests each operation costs, and how the server's
//! particular answers (empty 201s, 409/3000, 500/1031, 400/50000, HTML 400s) come back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use adapter_killbill::{KillBillBackend, KillBillConfig};
use billing_core::chrono::{Months, Utc};
use billing_core::rust_decimal::Decimal;
use billing_core::{
    CancelAt, ChangeAt, Currency, CustomerKey, CustomerPatch, CustomerStatus, CustomerStore,
    ErrorKind, EventId, EventOutcome, MetricCode, NewCustomer, NewSubscription, PageRequest,
    PlanCode, SubscriptionKey, SubscriptionStatus, SubscriptionStore, UsageEvent, UsageQuery,
    UsageReader, UsageRecorder,
};
use billing_http::{HttpConfig, SecretString};
use billing_sim::killbill::KillBillSim;
use billing_sim::{FaultConfig, RecordedRequest, SimOptions};

struct Env {
    sim: KillBillSim,
    kb: KillBillBackend,
}

fn config(sim: &KillBillSim) -> KillBillConfig {
    KillBillConfig::new(
        sim.base_url(),
        KillBillSim::USERNAME,
        SecretString::from(KillBillSim::PASSWORD),
        KillBillSim::API_KEY,
        SecretString::from(KillBillSim::API_SECRET),
    )
    .created_by("adapter-tests")
}

impl Env {
    async fn start() -> Self {
        Self::with(|c| c, HttpConfig::default()).await
    }

    async fn with(edit: impl FnOnce(KillBillConfig) -> KillBillConfig, http: HttpConfig) -> Self {
        let sim = KillBillSim::start(SimOptions::default()).await.unwrap();
        let kb = KillBillBackend::new(&edit(config(&sim)), &http).unwrap();
        Env { sim, kb }
    }

    fn sent(&self) -> usize {
        self.sim.server().log().len()
    }

    fn since(&self, mark: usize) -> Vec<RecordedRequest> {
        self.sim.server().log().snapshot().split_off(mark)
    }

    async fn customer(&self, key: &str) -> CustomerKey {
        let key = CustomerKey::new(key).unwrap();
        let new = NewCustomer::new(key.clone())
            .name("Test")
            .currency(Currency::USD);
        self.kb.create_customer(&new).await.unwrap();
        key
    }

    async fn subscribed(&self, customer: &str, sub: &str, plan: &str) -> SubscriptionKey {
        let customer = match self
            .kb
            .get_customer(&CustomerKey::new(customer).unwrap())
            .await
        {
            Ok(c) => c.key,
            Err(_) => self.customer(customer).await,
        };
        let key = SubscriptionKey::new(sub).unwrap();
        let new = NewSubscription::new(key.clone(), customer, PlanCode::new(plan).unwrap());
        self.kb.create_subscription(&new).await.unwrap();
        key
    }

    async fn subscription_id(&self, key: &SubscriptionKey) -> String {
        self.kb.get_subscription(key).await.unwrap().vendor_id
    }
}

fn event(id: &str, sub: &SubscriptionKey, metric: &str, quantity: &str) -> UsageEvent {
    UsageEvent::new(
        EventId::new(id).unwrap(),
        sub.clone(),
        MetricCode::new(metric).unwrap(),
        quantity.parse().unwrap(),
    )
}

fn describe(outcomes: &[EventOutcome]) -> Vec<String> {
    outcomes
        .iter()
        .map(|o| match o {
            EventOutcome::Accepted => "accepted".to_owned(),
            EventOutcome::Duplicate => "duplicate".to_owned(),
            EventOutcome::Rejected(e) => format!("rejected:{:?}", e.kind()),
            EventOutcome::Unknown(e) => format!("unknown:{:?}", e.kind()),
        })
        .collect()
}

fn query(r: &RecordedRequest) -> String {
    r.raw_query.clone().unwrap_or_default()
}

fn dec(s: &str) -> Decimal {
    s.parse().unwrap()
}

#[tokio::test]
async fn a_create_takes_the_id_from_location_in_one_request() {
    let env = Env::start().await;
    let mark = env.sent();
    let key = CustomerKey::new("acme").unwrap();
    let created = env
        .kb
        .create_customer(&NewCustomer::new(key.clone()).email("billing@acme.example"))
        .await
        .unwrap();
    let sent = env.since(mark);
    assert_eq!(sent.len(), 1, "no second request after the 201");
    assert_eq!(
        (sent[0].method.as_str(), sent[0].raw_path.as_str()),
        ("POST", "/1.0/kb/accounts")
    );
    assert_eq!(
        sent[0].json().unwrap(),
        serde_json::json!({"externalKey": "acme", "email": "billing@acme.example"})
    );
    assert_eq!(created.status, CustomerStatus::Active);
    let got = env.kb.get_customer(&key).await.unwrap();
    assert_eq!(got.vendor_id, created.vendor_id);
    assert_eq!(got.email.as_deref(), Some("billing@acme.example"));
}

#[tokio::test]
async fn a_taken_key_is_409_3000_already_exists() {
    let env = Env::start().await;
    let key = env.customer("dup").await;
    let e = env
        .kb
        .create_customer(&NewCustomer::new(key).name("Other"))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    let vendor = e.vendor().unwrap();
    assert_eq!(
        (vendor.status, vendor.code.as_deref()),
        (Some(409), Some("3000"))
    );
    assert_eq!(e.backend(), Some("killbill"));
}

#[tokio::test]
async fn a_set_currency_is_refused_before_the_update_is_sent() {
    let env = Env::start().await;
    let key = env.customer("cur").await;
    let mark = env.sent();
    let e = env
        .kb
        .update_customer(&key, &CustomerPatch::new().currency(Currency::EUR))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        env.since(mark).iter().all(|r| r.method.as_str() == "GET"),
        "no PUT"
    );
    // Without a currency, one can be set (once), and the update is partial.
    let bare = CustomerKey::new("bare").unwrap();
    env.kb
        .create_customer(&NewCustomer::new(bare.clone()).name("Bare"))
        .await
        .unwrap();
    let mark = env.sent();
    let updated = env
        .kb
        .update_customer(&bare, &CustomerPatch::new().currency(Currency::EUR))
        .await
        .unwrap();
    assert_eq!(updated.currency, Some(Currency::EUR));
    assert_eq!(updated.name.as_deref(), Some("Bare"));
    let put = env
        .since(mark)
        .into_iter()
        .find(|r| r.method.as_str() == "PUT")
        .unwrap();
    assert_eq!(put.json().unwrap(), serde_json::json!({"currency": "EUR"}));
    assert!(put.headers.contains_key("x-killbill-createdby"));
}

#[tokio::test]
async fn metadata_is_unsupported_before_any_request() {
    let env = Env::start().await;
    let mark = env.sent();
    let new = NewCustomer::new(CustomerKey::new("m").unwrap()).metadata("tier", "gold");
    let e = env.kb.create_customer(&new).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let long_name = NewCustomer::new(CustomerKey::new("n").unwrap()).name("n".repeat(101));
    let e = env.kb.create_customer(&long_name).await.unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::InvalidInput,
        "accounts.name is varchar(100)"
    );
    assert_eq!(env.sent(), mark);
}

#[tokio::test]
async fn delete_closes_ends_every_subscription_and_can_be_repeated() {
    let env = Env::start().await;
    let running = env
        .subscribed("gone", "gone-running", "starter-monthly")
        .await;
    let scheduled = env
        .subscribed("gone", "gone-scheduled", "starter-monthly")
        .await;
    let s = env
        .kb
        .cancel_subscription(&scheduled, CancelAt::PeriodEnd)
        .await
        .unwrap();
    assert_eq!(s.status, SubscriptionStatus::CancelScheduled);
    let key = CustomerKey::new("gone").unwrap();
    env.kb.delete_customer(&key).await.unwrap();
    for sub in [&running, &scheduled] {
        let s = env.kb.get_subscription(sub).await.unwrap();
        assert_eq!(s.status, SubscriptionStatus::Canceled, "{sub}");
    }
    assert_eq!(
        env.kb.get_customer(&key).await.unwrap().status,
        CustomerStatus::Closed
    );
    env.kb.delete_customer(&key).await.unwrap();
    let again = env.kb.create_customer(&NewCustomer::new(key.clone())).await;
    assert_eq!(again.unwrap_err().kind(), ErrorKind::AlreadyExists);
    let page = env
        .kb
        .list_customers(&PageRequest::first(10))
        .await
        .unwrap();
    let listed = page.items.iter().find(|c| c.key == key).unwrap();
    assert_eq!(
        listed.status,
        CustomerStatus::Closed,
        "listing reads the close too"
    );
    let unknown = CustomerKey::new("never").unwrap();
    assert_eq!(
        env.kb.delete_customer(&unknown).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn cancelling_twice_meets_1031_and_succeeds() {
    let env = Env::start().await;
    let sub = env.subscribed("c", "c-sub", "starter-monthly").await;
    let first = env
        .kb
        .cancel_subscription(&sub, CancelAt::Now)
        .await
        .unwrap();
    assert_eq!(first.status, SubscriptionStatus::Canceled);
    let mark = env.sent();
    let second = env
        .kb
        .cancel_subscription(&sub, CancelAt::Now)
        .await
        .unwrap();
    let sent = env.since(mark);
    assert_eq!(
        sent.len(),
        2,
        "DELETE (answered 500/1031), then the read back"
    );
    assert_eq!(sent[0].method.as_str(), "DELETE");
    assert_eq!(
        query(&sent[0]),
        "entitlementPolicy=IMMEDIATE&billingPolicy=IMMEDIATE"
    );
    assert_eq!(second.status, SubscriptionStatus::Canceled);
    assert_eq!(second.ends_at, first.ends_at);
    let at_end = env
        .kb
        .cancel_subscription(&sub, CancelAt::PeriodEnd)
        .await
        .unwrap();
    assert_eq!(at_end.status, SubscriptionStatus::Canceled);
}

#[tokio::test]
async fn cancel_at_period_end_uses_end_of_term_or_the_computed_period_end() {
    let env = Env::start().await;
    let sub = env.subscribed("p", "p-starter", "starter-monthly").await;
    let mark = env.sent();
    let s = env
        .kb
        .cancel_subscription(&sub, CancelAt::PeriodEnd)
        .await
        .unwrap();
    let delete = env
        .since(mark)
        .into_iter()
        .find(|r| r.method.as_str() == "DELETE")
        .unwrap();
    assert_eq!(
        query(&delete),
        "entitlementPolicy=END_OF_TERM&billingPolicy=END_OF_TERM"
    );
    assert_eq!(s.status, SubscriptionStatus::CancelScheduled);
    let start = s.started_at.unwrap();
    let expected = start.checked_add_months(Months::new(1)).unwrap();
    assert_eq!(s.ends_at.unwrap().date_naive(), expected.date_naive());

    // A usage-only plan has no chargedThroughDate: END_OF_TERM would cancel at once, so the
    // period's end goes as requestedDate.
    let free = env.subscribed("p", "p-free", "free-usage").await;
    let mark = env.sent();
    let s = env
        .kb
        .cancel_subscription(&free, CancelAt::PeriodEnd)
        .await
        .unwrap();
    let delete = env
        .since(mark)
        .into_iter()
        .find(|r| r.method.as_str() == "DELETE")
        .unwrap();
    let q = query(&delete);
    assert!(
        q.contains(&format!("requestedDate={}", expected.date_naive())),
        "{q}"
    );
    assert!(
        q.contains("useRequestedDateForBilling=true") && !q.contains("entitlementPolicy"),
        "{q}"
    );
    assert_eq!(s.status, SubscriptionStatus::CancelScheduled);
    assert_eq!(s.ends_at.unwrap().date_naive(), expected.date_naive());
    assert_eq!(
        s.current_period.unwrap().end.date_naive(),
        expected.date_naive()
    );
}

#[tokio::test]
async fn a_change_at_period_end_is_read_back_and_happens_at_the_end() {
    let env = Env::start().await;
    let sub = env.subscribed("ch", "ch-sub", "starter-monthly").await;
    let pro = PlanCode::new("pro-monthly").unwrap();
    let mark = env.sent();
    let s = env
        .kb
        .change_plan(&sub, &pro, ChangeAt::PeriodEnd)
        .await
        .unwrap();
    let put = env
        .since(mark)
        .into_iter()
        .find(|r| r.method.as_str() == "PUT")
        .unwrap();
    assert_eq!(query(&put), "billingPolicy=END_OF_TERM");
    assert_eq!(
        put.json().unwrap(),
        serde_json::json!({"planName": "pro-monthly"})
    );
    assert_eq!(s.plan.as_str(), "starter-monthly");
    let change = s.scheduled_change.unwrap();
    assert_eq!(change.plan, pro);
    assert_eq!(
        change.at.map(|a| a.date_naive()),
        s.current_period.map(|p| p.end.date_naive())
    );
    env.sim
        .advance_clock(billing_core::chrono::Duration::days(32));
    let later = env.kb.get_subscription(&sub).await.unwrap();
    assert_eq!(later.plan, pro);
    assert!(later.scheduled_change.is_none());
    // Now: IMMEDIATE, whatever the clocks say.
    let mark = env.sent();
    let back = env
        .kb
        .change_plan(
            &sub,
            &PlanCode::new("starter-monthly").unwrap(),
            ChangeAt::Now,
        )
        .await
        .unwrap();
    let put = env
        .since(mark)
        .into_iter()
        .find(|r| r.method.as_str() == "PUT")
        .unwrap();
    assert_eq!(query(&put), "billingPolicy=IMMEDIATE");
    assert_eq!(back.plan.as_str(), "starter-monthly");
    let unknown = env
        .kb
        .change_plan(&sub, &PlanCode::new("gold").unwrap(), ChangeAt::Now)
        .await;
    assert_eq!(
        unknown.unwrap_err().kind(),
        ErrorKind::NotFound,
        "2021 is NotFound"
    );
}

#[tokio::test]
async fn each_event_is_one_post_and_a_resent_event_of_a_batch_is_a_duplicate() {
    let env = Env::start().await;
    let sub = env.subscribed("u", "u-sub", "starter-monthly").await;
    let batch = [
        event("e-a", &sub, "api_calls", "1"),
        event("e-b", &sub, "api_calls", "2.5"),
        event("e-c", &sub, "storage_gb", "0.125"),
    ];
    let mark = env.sent();
    let outcomes = env.kb.record_usage(&batch).await;
    assert_eq!(describe(&outcomes), ["accepted", "accepted", "accepted"]);
    let posts: Vec<serde_json::Value> = env
        .since(mark)
        .into_iter()
        .filter(|r| r.method.as_str() == "POST")
        .map(|r| r.json().unwrap())
        .collect();
    assert_eq!(posts.len(), 3, "one POST per event");
    let mut tracking: Vec<&str> = posts
        .iter()
        .map(|p| p["trackingId"].as_str().unwrap())
        .collect();
    tracking.sort_unstable();
    assert_eq!(
        tracking,
        ["e-a", "e-b", "e-c"],
        "trackingId is the event id"
    );
    assert!(posts.iter().all(|p| {
        p["unitUsageRecords"][0]["usageRecords"]
            .as_array()
            .unwrap()
            .len()
            == 1
    }));

    // Resending one event of the earlier batch, alone or with a new one.
    let again = [
        event("e-b", &sub, "api_calls", "2.5"),
        event("e-d", &sub, "api_calls", "4"),
    ];
    let outcomes = env.kb.record_usage(&again).await;
    assert_eq!(describe(&outcomes), ["duplicate", "accepted"]);
    let id = env.subscription_id(&sub).await;
    assert_eq!(
        env.sim.usage_records_for(&id).len(),
        4,
        "the duplicate was not stored"
    );
    let usage = env
        .kb
        .usage(&UsageQuery::current(sub.clone()).metric(MetricCode::new("api_calls").unwrap()))
        .await
        .unwrap();
    assert_eq!(usage.lines[0].quantity, dec("7.5"), "1 + 2.5 + 4, e-b once");
}

#[tokio::test]
async fn with_warm_caches_an_event_costs_one_request() {
    let env = Env::start().await;
    let sub = env.subscribed("w", "w-sub", "starter-monthly").await;
    let cold = env.sent();
    let first = env
        .kb
        .record_usage(&[event("w-1", &sub, "api_calls", "1")])
        .await;
    assert!(first[0].is_recorded());
    assert!(
        env.sent() - cold <= 3,
        "at most the catalog, the key lookup and the POST"
    );
    let mark = env.sent();
    let outcomes = env
        .kb
        .record_usage(&[
            event("w-2", &sub, "api_calls", "1"),
            event("w-3", &sub, "storage_gb", "1"),
        ])
        .await;
    assert_eq!(describe(&outcomes), ["accepted", "accepted"]);
    assert_eq!(env.sent() - mark, 2, "one request per event");
    let now = Utc::now();
    let mark = env.sent();
    env.kb
        .usage(&UsageQuery::range(
            sub.clone(),
            now - billing_core::chrono::Duration::hours(1),
            now,
        ))
        .await
        .unwrap();
    assert_eq!(env.sent() - mark, 1, "a range: the sums only");
    let mark = env.sent();
    env.kb
        .usage(&UsageQuery::current(sub.clone()))
        .await
        .unwrap();
    assert_eq!(
        env.sent() - mark,
        2,
        "the current period: the subscription, then the sums"
    );
    let mark = env.sent();
    env.kb.get_subscription(&sub).await.unwrap();
    assert_eq!(env.sent() - mark, 1);
}

#[tokio::test]
async fn quantities_must_fit_decimal_18_9_and_are_never_rounded() {
    let env = Env::start().await;
    let sub = env.subscribed("d", "d-sub", "starter-monthly").await;
    env.kb
        .record_usage(&[event("warm", &sub, "storage_gb", "0")])
        .await;
    let mark = env.sent();
    let outcomes = env
        .kb
        .record_usage(&[
            event("d-1", &sub, "api_calls", "0.0000000001"),
            event("d-2", &sub, "api_calls", "1000000000"),
        ])
        .await;
    assert_eq!(
        describe(&outcomes),
        ["rejected:InvalidInput", "rejected:InvalidInput"]
    );
    assert_eq!(env.sent(), mark, "refused before sending");
    let outcomes = env
        .kb
        .record_usage(&[
            event("d-3", &sub, "api_calls", "999999999.999999999"),
            event("d-4", &sub, "api_calls", "0.000000001"),
        ])
        .await;
    assert_eq!(describe(&outcomes), ["accepted", "accepted"]);
    let usage = env
        .kb
        .usage(&UsageQuery::current(sub).metric(MetricCode::new("api_calls").unwrap()))
        .await
        .unwrap();
    assert_eq!(usage.lines[0].quantity, dec("1000000000.000000000"));
}

#[tokio::test]
async fn unknown_metrics_and_subscriptions_store_nothing() {
    let env = Env::start().await;
    let sub = env.subscribed("x", "x-sub", "starter-monthly").await;
    let ghost = SubscriptionKey::new("ghost").unwrap();
    let outcomes = env
        .kb
        .record_usage(&[
            event("x-1", &sub, "bananas", "1"),
            event("x-2", &ghost, "api_calls", "1"),
            event("x-3", &sub, "api_calls", "1"),
        ])
        .await;
    assert_eq!(
        describe(&outcomes),
        ["rejected:NotFound", "rejected:NotFound", "accepted"]
    );
    assert_eq!(
        env.sim.usage_record_count(),
        1,
        "Kill Bill would have stored bananas"
    );
    let e = env
        .kb
        .usage(&UsageQuery::current(sub).metric(MetricCode::new("bananas").unwrap()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn an_event_after_the_subscription_ended_is_a_conflict() {
    let env = Env::start().await;
    let sub = env.subscribed("late", "late-sub", "starter-monthly").await;
    env.kb
        .cancel_subscription(&sub, CancelAt::Now)
        .await
        .unwrap();
    let later = event("late-1", &sub, "api_calls", "1")
        .at(Utc::now().checked_add_months(Months::new(1)).unwrap());
    let outcomes = env.kb.record_usage(&[later]).await;
    match &outcomes[..] {
        [EventOutcome::Rejected(e)] => {
            assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
            assert_eq!(e.vendor().and_then(|v| v.status), Some(400));
        }
        other => panic!("{:?}", describe(other)),
    }
}

#[tokio::test]
async fn a_post_whose_answer_was_lost_is_counted_once() {
    let http = HttpConfig::default()
        .with_max_retries(1)
        .with_retry_base_delay(std::time::Duration::from_millis(10))
        .with_max_retry_delay(std::time::Duration::from_millis(20));
    let env = Env::with(|c| c, http).await;
    let sub = env.subscribed("lost", "lost-sub", "starter-monthly").await;
    env.kb
        .record_usage(&[event("lost-0", &sub, "api_calls", "0")])
        .await;
    env.sim.server().faults().set(FaultConfig {
        drop_after: 1.0,
        only_paths_containing: Some("/usages".into()),
        ..FaultConfig::none()
    });
    let e = event("lost-1", &sub, "api_calls", "5");
    let sent = env.sent();
    let outcomes = env.kb.record_usage(std::slice::from_ref(&e)).await;
    // Every attempt's answer was lost after the write: the outcome is unknown, never a
    // rejection, and resending is safe (the trackingId deduplicates).
    match &outcomes[..] {
        [EventOutcome::Unknown(err)] => assert!(err.is_temporary(), "{err}"),
        other => panic!("{:?}", describe(other)),
    }
    let posts = env
        .since(sent)
        .iter()
        .filter(|r| r.method.as_str() == "POST")
        .count();
    assert_eq!(
        posts, 2,
        "the client resent it within its budget (max_retries = 1)"
    );
    env.sim.server().faults().set(FaultConfig::none());
    let outcomes = env.kb.record_usage(&[e]).await;
    assert_eq!(
        describe(&outcomes),
        ["duplicate"],
        "the first attempt was stored"
    );
    let id = env.subscription_id(&sub).await;
    let rows: Vec<_> = env
        .sim
        .usage_records_for(&id)
        .into_iter()
        .filter(|(tracking, _, _)| tracking == "lost-1")
        .collect();
    assert_eq!(rows.len(), 1);
}

#[tokio::test]
async fn writes_carry_the_audit_headers() {
    let env = Env::with(
        |c| c.reason("sync").comment("nightly run"),
        HttpConfig::default(),
    )
    .await;
    let mark = env.sent();
    env.subscribed("audit", "audit-sub", "starter-monthly")
        .await;
    for r in env.since(mark) {
        let header = |name: &str| r.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
        if r.method.as_str() == "GET" {
            assert!(header("x-killbill-createdby").is_none());
            continue;
        }
        assert_eq!(
            header("x-killbill-createdby").as_deref(),
            Some("adapter-tests")
        );
        assert_eq!(header("x-killbill-reason").as_deref(), Some("sync"));
        assert_eq!(header("x-killbill-comment").as_deref(), Some("nightly run"));
    }
}

#[tokio::test]
async fn wrong_credentials_and_a_wrong_base_url_are_told_apart() {
    let env = Env::with(
        |mut c| {
            c.api_secret = SecretString::from("not-the-secret");
            c
        },
        HttpConfig::default(),
    )
    .await;
    let e = env
        .kb
        .get_customer(&CustomerKey::new("any").unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Unauthenticated,
        "the tenant filter's HTML 401"
    );
    assert!(e.message().contains("killbill.api_secret"), "{e}");
    assert!(!format!("{e} {e:?}").contains("not-the-secret"));

    let sim = KillBillSim::start(SimOptions::default()).await.unwrap();
    let mut c = config(&sim);
    c.base_url = format!("{}/billing", sim.base_url());
    let kb = KillBillBackend::new(&c, &HttpConfig::default()).unwrap();
    let e = kb
        .get_customer(&CustomerKey::new("any").unwrap())
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Config,
        "an HTML 404 is not a missing customer"
    );
    assert!(e.message().contains("killbill.base_url"), "{e}");
}

#[tokio::test]
async fn the_current_period_follows_the_bill_cycle() {
    let env = Env::start().await;
    let sub = env.subscribed("bc", "bc-sub", "starter-monthly").await;
    let s = env.kb.get_subscription(&sub).await.unwrap();
    let period = s.current_period.unwrap();
    let start = s.started_at.unwrap();
    assert_eq!(period.start, start);
    // The period ends on the bill-cycle day (the start's day) at the account's reference time
    // of day: when the account was created, just before the subscription.
    let customer = env
        .kb
        .get_customer(&CustomerKey::new("bc").unwrap())
        .await
        .unwrap();
    let reference = customer.raw.as_ref().unwrap()["referenceTime"]
        .as_str()
        .map(|t| {
            billing_core::chrono::DateTime::parse_from_rfc3339(t)
                .unwrap()
                .to_utc()
        })
        .unwrap();
    assert!(reference <= start);
    assert_eq!(
        period.end,
        reference.checked_add_months(Months::new(1)).unwrap()
    );
    env.kb
        .record_usage(&[event("bc-1", &sub, "api_calls", "3")])
        .await;
    let usage = env.kb.usage(&UsageQuery::current(sub)).await.unwrap();
    assert_eq!(usage.period, period);
    assert_eq!(usage.lines.len(), 1);
}

#[tokio::test]
async fn listing_pages_by_offset() {
    let env = Env::start().await;
    for i in 0..5 {
        env.customer(&format!("list-{i}")).await;
    }
    let mut page = PageRequest::first(2);
    let mut keys = Vec::new();
    loop {
        let p = env.kb.list_customers(&page).await.unwrap();
        assert!(p.items.len() <= 2);
        keys.extend(p.items.into_iter().map(|c| c.key.as_str().to_owned()));
        match p.next {
            Some(next) => page = PageRequest::after(next, 2),
            None => break,
        }
    }
    assert_eq!(keys, ["list-0", "list-1", "list-2", "list-3", "list-4"]);
    let e = env
        .kb
        .list_customers(&PageRequest::after(billing_core::Cursor::new("7"), 2))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

#[tokio::test]
async fn a_listed_page_needs_no_account_lookup_afterwards() {
    let env = Env::start().await;
    for i in 0..3 {
        env.customer(&format!("walk-{i}")).await;
    }
    // A backend that never saw these keys: what it knows comes from the listing.
    let fresh = KillBillBackend::new(&config(&env.sim), &HttpConfig::default()).unwrap();
    let page = fresh.list_customers(&PageRequest::first(3)).await.unwrap();
    assert_eq!(page.items.len(), 3);
    let mark = env.sent();
    fresh
        .list_subscriptions(&page.items[1].key, &PageRequest::first(10))
        .await
        .unwrap();
    let sent = env.since(mark);
    let paths: Vec<&str> = sent.iter().map(|r| r.raw_path.as_str()).collect();
    assert_eq!(sent.len(), 1, "only the bundles: {paths:?}");
    assert!(sent[0].raw_path.ends_with("/bundles"));
}
