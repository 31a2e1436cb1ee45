//! One measured run: wall time, the client's CPU time, the simulator's CPU time, and what was
//! done (items, requests, failures). Samples of several rounds add up.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cpu::{self, CpuTime};
use crate::simproc::SimProcess;

/// What one side of a comparison measured, summed over its rounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Sample {
    /// Items handled: events sent, or customers listed.
    pub items: usize,
    /// HTTP requests sent.
    pub requests: usize,
    /// Items or requests that failed (should be 0).
    pub failed: usize,
    /// Wall-clock seconds.
    pub wall_s: f64,
    /// The bench process's user CPU seconds.
    pub client_user_s: f64,
    /// The bench process's system CPU seconds.
    pub client_sys_s: f64,
    /// The simulator process's CPU seconds (10 ms resolution).
    pub sim_cpu_s: f64,
}

impl Sample {
    /// Adds another round.
    pub fn add(&mut self, other: &Sample) {
        self.items += other.items;
        self.requests += other.requests;
        self.failed += other.failed;
        self.wall_s += other.wall_s;
        self.client_user_s += other.client_user_s;
        self.client_sys_s += other.client_sys_s;
        self.sim_cpu_s += other.sim_cpu_s;
    }

    /// Items per second.
    pub fn items_per_s(&self) -> f64 {
        per(self.items as f64, self.wall_s)
    }

    /// Requests per second.
    pub fn requests_per_s(&self) -> f64 {
        per(self.requests as f64, self.wall_s)
    }

    /// The client's CPU (user + system) per item, in microseconds.
    pub fn client_us_per_item(&self) -> f64 {
        per(
            (self.client_user_s + self.client_sys_s) * 1e6,
            self.items as f64,
        )
    }

    /// The client's CPU per request, in microseconds.
    pub fn client_us_per_request(&self) -> f64 {
        per(
            (self.client_user_s + self.client_sys_s) * 1e6,
            self.requests as f64,
        )
    }

    /// The simulator's CPU per request, in microseconds.
    pub fn sim_us_per_request(&self) -> f64 {
        per(self.sim_cpu_s * 1e6, self.requests as f64)
    }

    /// How busy the simulator was: its CPU seconds per wall second (1.0 = one core).
    pub fn sim_cores(&self) -> f64 {
        per(self.sim_cpu_s, self.wall_s)
    }

    /// How busy the client was, in cores.
    pub fn client_cores(&self) -> f64 {
        per(self.client_user_s + self.client_sys_s, self.wall_s)
    }
}

/// `a / b`, or 0 when `b` is 0.
pub fn per(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// The median of `values` (the mean of the middle two for an even count), 0 when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// A running measurement.
#[derive(Debug)]
pub struct Stopwatch {
    wall: Instant,
    client: CpuTime,
    sim: CpuTime,
}

impl Stopwatch {
    /// Starts measuring now.
    pub fn start(sim: Option<&SimProcess>) -> Self {
        Self {
            sim: sim.map(SimProcess::cpu).unwrap_or_default(),
            client: cpu::this_process(),
            wall: Instant::now(),
        }
    }

    /// Stops, and returns a sample with the given counts.
    pub fn stop(
        self,
        sim: Option<&SimProcess>,
        items: usize,
        requests: usize,
        failed: usize,
    ) -> Sample {
        let wall = self.wall.elapsed();
        let client = cpu::this_process().since(&self.client);
        let sim = sim.map(|s| s.cpu().since(&self.sim)).unwrap_or_default();
        Sample {
            items,
            requests,
            failed,
            wall_s: secs(wall),
            client_user_s: secs(client.user),
            client_sys_s: secs(client.system),
            sim_cpu_s: secs(sim.total()),
        }
    }
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_sums() {
        let mut a = Sample {
            items: 100,
            requests: 10,
            wall_s: 2.0,
            client_user_s: 0.5,
            client_sys_s: 0.5,
            sim_cpu_s: 1.0,
            ..Sample::default()
        };
        a.add(&a.clone());
        assert_eq!(a.items, 200);
        assert!((a.items_per_s() - 50.0).abs() < 1e-9);
        assert!((a.client_us_per_item() - 10_000.0).abs() < 1e-6);
        assert!((a.sim_cores() - 0.5).abs() < 1e-9);
        assert_eq!(Sample::default().items_per_s(), 0.0);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), 0.0);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[f64::NAN, 1.0]), 1.0);
    }
}
