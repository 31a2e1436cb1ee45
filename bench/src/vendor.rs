//! The three vendors: how to configure the facade for a simulator at a given URL.

use anyhow::Context;
use billing::BillingConfig;
use billing_sim::billabear::BillaBearSim;
use billing_sim::killbill::KillBillSim;
use billing_sim::lago::LagoSim;
use clap::ValueEnum;
use serde::Serialize;

/// A vendor with an adapter and a simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// Lago: batches of up to 100 events.
    Lago,
    /// Kill Bill: one event per request.
    Killbill,
    /// BillaBear: one event per request.
    Billabear,
}

impl Vendor {
    /// Every vendor, in report order.
    pub const ALL: [Vendor; 3] = [Vendor::Lago, Vendor::Killbill, Vendor::Billabear];

    /// The short name (also `billing-sim --vendor`).
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Lago => "lago",
            Vendor::Killbill => "killbill",
            Vendor::Billabear => "billabear",
        }
    }

    /// The facade configuration for the simulator at `url` (what the simulator prints: Lago's and
    /// BillaBear's API base, Kill Bill's server root), with `concurrency` requests in flight.
    pub fn config(self, url: &str, concurrency: usize) -> anyhow::Result<BillingConfig> {
        let section = match self {
            Vendor::Lago => format!(
                "provider = \"lago\"\n[lago]\nbase_url = \"{url}\"\napi_key = \"{}\"\n",
                LagoSim::API_KEY
            ),
            Vendor::Killbill => format!(
                "provider = \"killbill\"\n[killbill]\nbase_url = \"{url}\"\nusername = \"{}\"\n\
                 password = \"{}\"\napi_key = \"{}\"\napi_secret = \"{}\"\n",
                KillBillSim::USERNAME,
                KillBillSim::PASSWORD,
                KillBillSim::API_KEY,
                KillBillSim::API_SECRET
            ),
            Vendor::Billabear => format!(
                "provider = \"billabear\"\n[billabear]\nbase_url = \"{url}\"\napi_key = \"{}\"\n",
                BillaBearSim::API_KEY
            ),
        };
        let toml = format!("{section}[http]\nconcurrency = {concurrency}\n");
        BillingConfig::from_toml_str(&toml)
            .with_context(|| format!("configuration for the {} simulator", self.name()))
    }

    /// Connects the facade to the simulator at `url`.
    pub fn connect(
        self,
        url: &str,
        concurrency: usize,
    ) -> anyhow::Result<std::sync::Arc<dyn billing::BillingBackend>> {
        billing::connect(&self.config(url, concurrency)?)
            .with_context(|| format!("connect to the {} simulator", self.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendor_has_a_valid_configuration() {
        for v in Vendor::ALL {
            let config = v.config("http://127.0.0.1:9/api/v1", 8);
            assert!(config.is_ok(), "{}: {config:?}", v.name());
        }
    }
}
