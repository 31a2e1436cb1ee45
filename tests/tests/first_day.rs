//! A newcomer's first day (issue 15), as an application that depends only on `billing` meets
//! it: configured from the environment line each simulator prints, checked at start-up with
//! `billing::connect_checked`, with the common mistakes made on purpose. Each mistake gets an
//! error of the right kind naming the setting to fix: a wrong key (or password, tenant key or
//! tenant secret), a wrong base URL without and with its vendor's suffix, a server that is not
//! there, a missing setting. And `ensure_customer` against a wrong base URL never creates
//! anything: a route that does not exist is never taken for a customer that does not.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::result_large_err
)]

use billing::{BillingConfig, BillingExt, CustomerKey, ErrorKind, NewCustomer, PageRequest};
use billing_sim::billabear::BillaBearSim;
use billing_sim::killbill::KillBillSim;
use billing_sim::lago::LagoSim;
use billing_sim::{SimInfo, SimOptions};
use figment::Jail;

/// The environment a simulator prints: `BILLING_PROVIDER=lago BILLING_LAGO_BASE_URL=...`.
fn pasted(info: &SimInfo) -> Vec<(String, String)> {
    info.env
        .split_whitespace()
        .map(|pair| {
            let (k, v) = pair.split_once('=').expect("NAME=value");
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// One mistake: the variable changed (`Some`) or removed (`None`), and what must come of it.
struct Mistake {
    what: &'static str,
    variable: &'static str,
    value: Option<String>,
    kind: ErrorKind,
    setting: &'static str,
}

fn set(what: &'static str, variable: &'static str, value: impl Into<String>) -> Mistake {
    Mistake {
        what,
        variable,
        value: Some(value.into()),
        kind: ErrorKind::Config,
        setting: "",
    }
}

fn unset(what: &'static str, variable: &'static str) -> Mistake {
    Mistake {
        what,
        variable,
        value: None,
        kind: ErrorKind::Config,
        setting: "",
    }
}

impl Mistake {
    fn gives(mut self, kind: ErrorKind, setting: &'static str) -> Self {
        self.kind = kind;
        self.setting = setting;
        self
    }
}

/// `BillingConfig::from_env()` with exactly `vars` set (the process's other `BILLING_*`
/// variables are not touched by the jail, and none are set in this test binary).
async fn from_env(vars: Vec<(String, String)>) -> billing::Result<BillingConfig> {
    tokio::task::spawn_blocking(move || {
        let mut result = None;
        Jail::expect_with(|jail| {
            for (k, v) in &vars {
                jail.set_env(k, v);
            }
            result = Some(BillingConfig::from_env());
            Ok(())
        });
        result.expect("the jail ran")
    })
    .await
    .expect("the jail's thread")
}

/// What an application does at start-up: read the environment, connect, check.
async fn start_up(vars: Vec<(String, String)>) -> billing::Result<()> {
    let config = from_env(vars).await?;
    billing::connect_checked(&config).await.map(|_| ())
}

/// A URL on 127.0.0.1 where nothing listens.
async fn closed_port() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

async fn check_mistakes(info: &SimInfo, mistakes: Vec<Mistake>) {
    let vars = pasted(info);
    start_up(vars.clone())
        .await
        .unwrap_or_else(|e| panic!("{}: the pasted line works: {e}", info.vendor));
    for mistake in mistakes {
        let mut vars = vars.clone();
        vars.retain(|(k, _)| k != mistake.variable);
        if let Some(value) = &mistake.value {
            vars.push((mistake.variable.to_owned(), value.clone()));
        }
        let e = start_up(vars)
            .await
            .expect_err(&format!("{}: {} is refused", info.vendor, mistake.what));
        assert_eq!(
            e.kind(),
            mistake.kind,
            "{}: {}: {e}",
            info.vendor,
            mistake.what
        );
        assert!(
            e.message().contains(&format!("`{}`", mistake.setting)),
            "{}: {} names `{}`: {e}",
            info.vendor,
            mistake.what,
            mistake.setting
        );
    }
}

#[tokio::test]
async fn lago_from_the_environment() {
    let sim = LagoSim::start(SimOptions::default()).await.unwrap();
    let info = sim.info();
    let root = info.url.trim_end_matches("/api/v1").to_owned();
    let dead = closed_port().await;
    let url = "BILLING_LAGO_BASE_URL";
    check_mistakes(
        &info,
        vec![
            set("a wrong key", "BILLING_LAGO_API_KEY", "not-the-key")
                .gives(ErrorKind::Unauthenticated, "lago.api_key"),
            set("a base URL without /api/v1", url, root.clone())
                .gives(ErrorKind::Config, "lago.base_url"),
            set(
                "a base URL at another path",
                url,
                format!("{root}/lago/api/v1"),
            )
            .gives(ErrorKind::Config, "lago.base_url"),
            set(
                "no server there",
                url,
                format!("http://127.0.0.1:{dead}/api/v1"),
            )
            .gives(ErrorKind::Unavailable, "lago.base_url"),
            unset("a missing key", "BILLING_LAGO_API_KEY").gives(ErrorKind::Config, "lago.api_key"),
        ],
    )
    .await;
}

#[tokio::test]
async fn kill_bill_from_the_environment() {
    let sim = KillBillSim::start(SimOptions::default()).await.unwrap();
    let info = sim.info();
    let root = info.url.clone();
    let dead = closed_port().await;
    let url = "BILLING_KILLBILL_BASE_URL";
    check_mistakes(
        &info,
        vec![
            set("a wrong password", "BILLING_KILLBILL_PASSWORD", "not-it")
                .gives(ErrorKind::Unauthenticated, "killbill.password"),
            set("an unknown tenant", "BILLING_KILLBILL_API_KEY", "nobody")
                .gives(ErrorKind::Unauthenticated, "killbill.api_key"),
            set(
                "a wrong tenant secret",
                "BILLING_KILLBILL_API_SECRET",
                "not-it",
            )
            .gives(ErrorKind::Unauthenticated, "killbill.api_secret"),
            set("a base URL with /1.0/kb", url, format!("{root}/1.0/kb"))
                .gives(ErrorKind::Config, "killbill.base_url"),
            set(
                "a base URL at another path",
                url,
                format!("{root}/killbill"),
            )
            .gives(ErrorKind::Config, "killbill.base_url"),
            set("no server there", url, format!("http://127.0.0.1:{dead}"))
                .gives(ErrorKind::Unavailable, "killbill.base_url"),
            unset("a missing secret", "BILLING_KILLBILL_API_SECRET")
                .gives(ErrorKind::Config, "killbill.api_secret"),
        ],
    )
    .await;
}

#[tokio::test]
async fn billabear_from_the_environment() {
    let sim = BillaBearSim::start(SimOptions::default()).await.unwrap();
    let info = sim.info();
    let root = info.url.trim_end_matches("/api/v1").to_owned();
    let dead = closed_port().await;
    let url = "BILLING_BILLABEAR_BASE_URL";
    check_mistakes(
        &info,
        vec![
            set("a wrong key", "BILLING_BILLABEAR_API_KEY", "not-the-key")
                .gives(ErrorKind::Unauthenticated, "billabear.api_key"),
            set("a base URL without /api/v1", url, root.clone())
                .gives(ErrorKind::Config, "billabear.base_url"),
            set(
                "a base URL at another path",
                url,
                format!("{root}/bb/api/v1"),
            )
            .gives(ErrorKind::Config, "billabear.base_url"),
            set(
                "no server there",
                url,
                format!("http://127.0.0.1:{dead}/api/v1"),
            )
            .gives(ErrorKind::Unavailable, "billabear.base_url"),
            unset("a missing base URL", url).gives(ErrorKind::Config, "billabear.base_url"),
        ],
    )
    .await;
}

/// The bug that started it: a route that does not exist taken for a customer that does not,
/// and `ensure_customer` creating one. Against a base URL at the wrong path, every vendor's
/// `ensure_customer` fails with the `Config` error naming the base URL, and nothing is created.
#[tokio::test]
async fn ensure_customer_never_creates_through_a_wrong_base_url() {
    let lago = LagoSim::start(SimOptions::default()).await.unwrap();
    let killbill = KillBillSim::start(SimOptions::default()).await.unwrap();
    let billabear = BillaBearSim::start(SimOptions::default()).await.unwrap();
    let cases = [
        (
            lago.info(),
            "BILLING_LAGO_BASE_URL",
            "/api/v1",
            "/x/api/v1",
            "lago.base_url",
        ),
        (
            killbill.info(),
            "BILLING_KILLBILL_BASE_URL",
            "",
            "/x",
            "killbill.base_url",
        ),
        (
            billabear.info(),
            "BILLING_BILLABEAR_BASE_URL",
            "/api/v1",
            "/x/api/v1",
            "billabear.base_url",
        ),
    ];
    for (info, variable, suffix, wrong, setting) in cases {
        let good = pasted(&info);
        let root = info.url.trim_end_matches(suffix);
        let mut vars = good.clone();
        vars.retain(|(k, _)| k != variable);
        vars.push((variable.to_owned(), format!("{root}{wrong}")));
        let backend = billing::connect(&from_env(vars).await.unwrap()).unwrap();
        let new = NewCustomer::new(CustomerKey::new("acme").unwrap()).email("billing@acme.example");
        let e = backend.ensure_customer(&new).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config, "{}: {e}", info.vendor);
        assert!(e.message().contains(setting), "{}: {e}", info.vendor);
        let right = billing::connect(&from_env(good).await.unwrap()).unwrap();
        let customers = right.list_customers(&PageRequest::first(10)).await.unwrap();
        assert!(
            customers.items.is_empty(),
            "{}: nothing was created",
            info.vendor
        );
    }
}
