//! Simulators inside the bench process, for what is counted rather than timed: requests per
//! operation, and the checks that the baseline sends what the adapter sends.

use billing_sim::billabear::BillaBearSim;
use billing_sim::killbill::KillBillSim;
use billing_sim::lago::LagoSim;
use billing_sim::{RecordedRequest, RequestLog, SimOptions};

use crate::vendor::Vendor;

/// A simulator running on this process's runtime, with its request log at hand.
#[derive(Debug)]
pub enum InProcess {
    /// Lago.
    Lago(LagoSim),
    /// Kill Bill.
    Killbill(KillBillSim),
    /// BillaBear.
    Billabear(BillaBearSim),
}

impl InProcess {
    /// Starts the vendor's simulator on an ephemeral port.
    pub async fn start(vendor: Vendor) -> anyhow::Result<Self> {
        let options = SimOptions::default();
        Ok(match vendor {
            Vendor::Lago => Self::Lago(LagoSim::start(options).await?),
            Vendor::Killbill => Self::Killbill(KillBillSim::start(options).await?),
            Vendor::Billabear => Self::Billabear(BillaBearSim::start(options).await?),
        })
    }

    /// The URL the facade is configured with.
    pub fn url(&self) -> String {
        match self {
            Self::Lago(s) => s.api_url(),
            Self::Killbill(s) => s.base_url(),
            Self::Billabear(s) => s.api_url(),
        }
    }

    /// Every request received so far.
    pub fn log(&self) -> &RequestLog {
        match self {
            Self::Lago(s) => s.server().log(),
            Self::Killbill(s) => s.server().log(),
            Self::Billabear(s) => s.server().log(),
        }
    }

    /// Adds `count` customers keyed `<prefix><n>`.
    pub fn seed_customers(&self, count: usize, prefix: &str) {
        match self {
            Self::Lago(s) => s.seed_customers(count, prefix),
            Self::Killbill(s) => s.seed_accounts(count, prefix),
            Self::Billabear(s) => s.seed_customers(count, prefix),
        }
    }
}

/// `METHOD /path?query` of a recorded request.
pub fn request_line(r: &RecordedRequest) -> String {
    match &r.raw_query {
        Some(q) => format!("{} {}?{q}", r.method, r.raw_path),
        None => format!("{} {}", r.method, r.raw_path),
    }
}
