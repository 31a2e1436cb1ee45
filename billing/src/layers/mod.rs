//! Layers that wrap any backend: [`TracingLayer`], [`ConcurrencyLimit`], or your own [`Layer`].
//!
//! ```
//! use billing::layers::{ConcurrencyLimit, Layered};
//! use billing::InMemoryBackend;
//!
//! let backend = Layered::new(InMemoryBackend::default(), ConcurrencyLimit::new(4));
//! ```

mod layered;
mod limit;
mod tracing;

pub use self::tracing::{Traced, TracingLayer};
pub use layered::{Call, CallOutcome, Layer, Layered};
pub use limit::ConcurrencyLimit;
