//! The conformance suite against a real Kill Bill server (tier 3/4). Set
//! `BILLING_TEST_KILLBILL_URL` (the server root, e.g. `http://127.0.0.1:8080`) and, unless the
//! defaults `admin`/`password`/`bob`/`lazar` apply, `BILLING_TEST_KILLBILL_USERNAME`,
//! `_PASSWORD`, `_API_KEY` and `_API_SECRET`; `scripts/killbill-server.sh env` prints them for a
//! local server. The tenant needs the catalog of `scripts/killbill/catalog.xml`. Without the URL
//! every case is reported as ignored (and `tests/prerequisites.rs` fails with `CI=true`). Keys
//! carry a random prefix, so runs never collide with what the server already holds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use billing::BillingConfig;
use billing_conformance::{Ctx, conformance_suite};

fn setting(name: &str, default: &str) -> String {
    std::env::var(format!("BILLING_TEST_KILLBILL_{name}")).unwrap_or_else(|_| default.to_owned())
}

async fn real_server() -> Ctx {
    let url = std::env::var("BILLING_TEST_KILLBILL_URL")
        .expect("BILLING_TEST_KILLBILL_URL names the Kill Bill server");
    let toml = format!(
        "provider = \"killbill\"\n\n[http]\ntotal_budget_ms = 120000\n\n[killbill]\n\
         base_url = {url:?}\nusername = {:?}\npassword = {:?}\napi_key = {:?}\napi_secret = {:?}\n\
         created_by = \"billing-conformance\"\n",
        setting("USERNAME", "admin"),
        setting("PASSWORD", "password"),
        setting("API_KEY", "bob"),
        setting("API_SECRET", "lazar"),
    );
    let config = BillingConfig::from_toml_str(&toml).expect("BILLING_TEST_KILLBILL_* settings");
    let backend = billing::connect(&config).expect("a Kill Bill backend");
    Ctx::new(backend)
}

conformance_suite!(
    real_server(),
    #[cfg_attr(
        not(killbill_real),
        ignore = "needs a Kill Bill server: set BILLING_TEST_KILLBILL_URL (scripts/killbill-server.sh start; eval \"$(scripts/killbill-server.sh env)\")"
    )]
);
