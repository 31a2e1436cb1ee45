//! Switching a running application from one vendor to another with every usage event billed
//! exactly once.
//!
//! After [`crate::migrate`], each subscription lives in both vendors: the source bills it until
//! its current period ends (the cutover instant) and the target from then on (its billing
//! anchor). A [`CutoverBackend`] over both, routed by a [`CutoverPlan`], sends each usage event
//! to the vendor that bills its timestamp, reads usage from whichever bills the window, and
//! keeps customer and subscription writes in step on both sides. [`reconcile`] proves the result
//! afterwards: per subscription and metric, what each side counted against what was sent.
//!
//! A live switch is three configuration steps, with no code change:
//!
//! ```toml
//! # 1. before: provider = "lago" and its [lago] section
//! # 2. during: migrate, write the plan, then
//! provider = "cutover"
//! [cutover]
//! source = "lago"
//! target = "killbill"
//! plan = "cutover-plan.json"
//! # (the [lago] and [killbill] sections stay)
//! # 3. once every instant has passed: provider = "killbill"
//! ```

mod backend;
mod capabilities;
mod config;
mod plan;
mod reconcile;
mod usage;

pub use backend::{CutoverBackend, NAME};
pub use capabilities::intersect;
pub use config::CutoverConfig;
pub use plan::{CutoverPlan, Side};
pub use reconcile::{MetricReconciliation, Reconciliation, SentEvent, SideCount, reconcile};
