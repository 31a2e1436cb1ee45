//! The vendors' simulators behind one interface, so that a reliability test (soak, hostile keys,
//! secrets) is written once and runs against every adapter.
//!
//! Every simulator is started with distinctive credentials of its own (never the simulators'
//! defaults, whose Kill Bill password is the common word `password`), so a test can search its
//! output for them.

use std::str::FromStr;
use std::sync::Arc;

use billing::chrono::{Datelike, Duration, Utc};
use billing::rust_decimal::Decimal;
use billing::{BillingBackend, BillingConfig, Subscription};
use billing_sim::billabear::{BillaBearSim, BillaBearSimConfig};
use billing_sim::killbill::{KillBillCredentials, KillBillSim};
use billing_sim::lago::LagoSim;
use billing_sim::{SimOptions, SimServer};

use crate::ctx::Ctx;

/// A vendor with an adapter and a simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    /// Lago.
    Lago,
    /// Kill Bill.
    KillBill,
    /// BillaBear.
    BillaBear,
}

impl Vendor {
    /// Every vendor.
    pub const ALL: [Vendor; 3] = [Vendor::Lago, Vendor::KillBill, Vendor::BillaBear];

    /// The backend's name (`BackendInfo::name`).
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Lago => "lago",
            Vendor::KillBill => "killbill",
            Vendor::BillaBear => "billabear",
        }
    }
}

/// Lago's API key in these tests.
const LAGO_KEY: &str = "lago-k3y-5e1f0c2a9b";
/// Kill Bill's basic-auth user, password, tenant key and tenant secret in these tests.
const KB_USER: &str = "kb-op3rator-71d4";
const KB_PASSWORD: &str = "s3cr3t-kb-pass-9f2c";
const KB_API_KEY: &str = "kb-t3nant-key-4a7e";
const KB_API_SECRET: &str = "kb-t3nant-s3cret-c0d8";
/// BillaBear's API key in these tests.
const BB_KEY: &str = "bb-k3y-0e9d2f6a1c";

enum Sim {
    Lago(LagoSim),
    KillBill(KillBillSim),
    BillaBear(BillaBearSim),
}

/// A running simulator of one vendor, with the credentials the adapter must use.
pub struct SimTarget {
    vendor: Vendor,
    sim: Sim,
}

impl std::fmt::Debug for SimTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimTarget")
            .field("vendor", &self.vendor)
            .field("base_url", &self.server().base_url())
            .finish()
    }
}

impl SimTarget {
    /// Starts `vendor`'s simulator on an ephemeral port.
    ///
    /// # Panics
    /// If the simulator cannot start.
    pub async fn start(vendor: Vendor, options: SimOptions) -> Self {
        let sim = match vendor {
            Vendor::Lago => {
                let sim = LagoSim::start(options).await.expect("start the Lago sim");
                sim.add_api_key(LAGO_KEY);
                // Lago refuses an `ending_at` on today's date: keep the simulator off the last
                // day of a month so the cancel-at-period-end scenario is not flaky.
                let today = Utc::now();
                if (today + Duration::days(1)).month() != today.month() {
                    sim.advance_clock(-Duration::days(1));
                }
                Sim::Lago(sim)
            }
            Vendor::KillBill => {
                let credentials = KillBillCredentials {
                    username: KB_USER.to_owned(),
                    password: KB_PASSWORD.to_owned(),
                    api_key: KB_API_KEY.to_owned(),
                    api_secret: KB_API_SECRET.to_owned(),
                };
                let sim = KillBillSim::start_with_credentials(options, credentials)
                    .await
                    .expect("start the Kill Bill sim");
                Sim::KillBill(sim)
            }
            Vendor::BillaBear => {
                let config = BillaBearSimConfig {
                    api_key: BB_KEY.to_owned(),
                    ..BillaBearSimConfig::default()
                };
                let sim = BillaBearSim::start_with(options, config)
                    .await
                    .expect("start the BillaBear sim");
                Sim::BillaBear(sim)
            }
        };
        Self { vendor, sim }
    }

    /// The vendor.
    pub fn vendor(&self) -> Vendor {
        self.vendor
    }

    /// The HTTP server: request log and fault injection.
    pub fn server(&self) -> &SimServer {
        match &self.sim {
            Sim::Lago(s) => s.server(),
            Sim::KillBill(s) => s.server(),
            Sim::BillaBear(s) => s.server(),
        }
    }

    /// The configuration an application would write for this simulator, with `http` (TOML
    /// lines of the `[http]` section, possibly empty).
    pub fn toml(&self, http: &str) -> String {
        let section = match &self.sim {
            Sim::Lago(s) => s.billing_toml().replace(LagoSim::API_KEY, LAGO_KEY),
            Sim::KillBill(s) => s.billing_toml(),
            Sim::BillaBear(s) => s.billing_toml(),
        };
        format!("{section}[http]\n{http}\n")
    }

    /// [`SimTarget::toml`] for a client that reaches the simulator through `origin` (a proxy
    /// in front of it).
    pub fn toml_via(&self, origin: &str, http: &str) -> String {
        self.toml(http).replace(&self.server().base_url(), origin)
    }

    /// [`SimTarget::toml`], parsed.
    ///
    /// # Panics
    /// If the configuration is refused.
    pub fn config(&self, http: &str) -> BillingConfig {
        BillingConfig::from_toml_str(&self.toml(http)).expect("valid configuration")
    }

    /// The backend, through the facade, as an application builds it.
    ///
    /// # Panics
    /// If `connect` fails.
    pub fn connect(&self, http: &str) -> Arc<dyn BillingBackend> {
        billing::connect(&self.config(http)).expect("connect to the simulator")
    }

    /// A conformance context over `backend` that counts this simulator's requests. The
    /// target must outlive the context (hold it in an `Arc`).
    pub fn ctx(self: &Arc<Self>, backend: Arc<dyn BillingBackend>) -> Ctx {
        let me = Arc::clone(self);
        Ctx::new(backend).with_request_counter(Arc::new(move || me.server().log().len()))
    }

    /// Every secret the adapter was configured with, as configured and in the forms it may
    /// travel in (the basic-auth header's base64).
    pub fn secrets(&self) -> Vec<String> {
        match self.vendor {
            Vendor::Lago => vec![LAGO_KEY.to_owned()],
            Vendor::KillBill => vec![
                KB_PASSWORD.to_owned(),
                KB_API_SECRET.to_owned(),
                base64(&format!("{KB_USER}:{KB_PASSWORD}")),
                base64(KB_PASSWORD),
            ],
            Vendor::BillaBear => vec![BB_KEY.to_owned()],
        }
    }

    /// The event ids the simulator stored for `subscription`, once per stored copy, in
    /// storage order.
    pub fn stored_event_ids(&self, subscription: &Subscription) -> Vec<String> {
        match &self.sim {
            Sim::Lago(s) => s
                .events_for(subscription.key.as_str())
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
            Sim::KillBill(s) => s
                .usage_records_for(&subscription.vendor_id)
                .into_iter()
                .map(|(id, _, _)| id)
                .collect(),
            Sim::BillaBear(s) => s
                .events_for(&subscription.vendor_id)
                .into_iter()
                .map(|(id, _, _)| id)
                .collect(),
        }
    }
}

impl SimTarget {
    /// The `(event id, quantity)` of every event the simulator stored for `subscription`, the
    /// quantity as the vendor stored it (Lago's property text or number, Kill Bill's
    /// `decimal(18,9)`, BillaBear's float in its shortest exact decimal form).
    pub fn stored_quantities(&self, subscription: &Subscription) -> Vec<(String, Decimal)> {
        let parse = |text: &str| {
            Decimal::from_str(text)
                .or_else(|_| Decimal::from_scientific(text))
                .unwrap_or_else(|e| panic!("stored quantity {text:?}: {e}"))
        };
        match &self.sim {
            Sim::Lago(s) => s
                .events_for(subscription.key.as_str())
                .into_iter()
                .map(|(id, props)| {
                    let q = match &props["quantity"] {
                        serde_json::Value::String(t) => t.clone(),
                        other => other.to_string(),
                    };
                    (id, parse(&q))
                })
                .collect(),
            Sim::KillBill(s) => s
                .usage_records_for(&subscription.vendor_id)
                .into_iter()
                .map(|(id, _, amount)| (id, amount))
                .collect(),
            Sim::BillaBear(s) => s
                .events_for(&subscription.vendor_id)
                .into_iter()
                .map(|(id, _, value)| (id, parse(&value.to_string())))
                .collect(),
        }
    }
}

/// Standard base64 with padding (the basic-auth form of a secret).
pub fn base64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_basic_auth_form() {
        assert_eq!(super::base64("admin:password"), "YWRtaW46cGFzc3dvcmQ=");
    }
}
