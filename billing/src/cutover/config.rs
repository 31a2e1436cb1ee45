//! The `[cutover]` configuration section.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::Provider;

/// `[cutover]`: which configured vendors to cut over between, and the plan file.
///
/// ```toml
/// provider = "cutover"
///
/// [cutover]
/// source = "lago"              # the vendor billing until each instant: its [lago] section
/// target = "killbill"          # the vendor billing from then on: its [killbill] section
/// plan = "cutover-plan.json"   # written by `CutoverPlan::save` (the migrate example's `plan`)
/// ```
///
/// From the environment: `BILLING_CUTOVER_SOURCE`, `BILLING_CUTOVER_TARGET`,
/// `BILLING_CUTOVER_PLAN`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CutoverConfig {
    /// The vendor billing until each subscription's instant; configured by its own section.
    pub source: Provider,
    /// The vendor billing from then on; configured by its own section.
    pub target: Provider,
    /// The plan file.
    pub plan: PathBuf,
}

impl CutoverConfig {
    /// A cutover from `source` to `target` by the plan at `plan`.
    pub fn new(source: Provider, target: Provider, plan: impl Into<PathBuf>) -> Self {
        Self {
            source,
            target,
            plan: plan.into(),
        }
    }
}
