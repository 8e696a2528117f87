//! Recovery time: how long after a fault ended the service met its SLO
//! again, measured as the seed asks — from the end of the fault until the
//! SLO holds for `k` consecutive intervals (the first of those intervals
//! marks the recovery). Pure, over per-interval figures, so it serves the
//! run summary, the report and the pipeline's gate alike.

use serde::{Deserialize, Serialize};

/// One interval's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Interval {
    /// Seconds from the start of the test to the start of the interval.
    pub t: f64,
    /// Requests that ended in it.
    pub requests: u64,
    /// Of those, failed.
    pub failed: u64,
    /// Its p95 latency in ms, if it had requests.
    pub p95_ms: Option<f64>,
}

/// The service level an interval must meet.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Largest acceptable p95 latency (ms).
    #[serde(default)]
    pub p95_ms: Option<f64>,
    /// Largest acceptable error rate (0..1).
    #[serde(default)]
    pub error_rate: Option<f64>,
}

impl Slo {
    /// Whether `i` meets the SLO; an interval without requests does not
    /// (a service that answers nothing has not recovered).
    pub fn holds(&self, i: &Interval) -> bool {
        if i.requests == 0 {
            return false;
        }
        let rate = i.failed as f64 / i.requests as f64;
        self.error_rate.is_none_or(|max| rate <= max)
            && self
                .p95_ms
                .is_none_or(|max| i.p95_ms.is_some_and(|p| p <= max))
    }
}

/// The recovery measured after a fault.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// When the fault ended (s from the start of the test).
    pub fault_end_s: f64,
    /// Seconds from the end of the fault to the first of the `k` good
    /// intervals; `None` when the SLO never held `k` intervals in a row.
    pub recovery_s: Option<f64>,
    /// The `k` used.
    pub k: usize,
}

/// Measures the recovery after a fault that ended at `fault_end_s`.
/// Intervals starting before the end of the fault are ignored.
pub fn recovery(intervals: &[Interval], fault_end_s: f64, slo: &Slo, k: usize) -> Recovery {
    let k = k.max(1);
    let mut run = 0usize;
    let mut first = None;
    let mut found = None;
    for i in intervals.iter().filter(|i| i.t + 1e-9 >= fault_end_s) {
        if slo.holds(i) {
            if run == 0 {
                first = Some(i.t);
            }
            run += 1;
            if run >= k {
                found = first;
                break;
            }
        } else {
            run = 0;
        }
    }
    Recovery {
        fault_end_s,
        recovery_s: found.map(|t| (t - fault_end_s).max(0.0)),
        k,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(t: f64, requests: u64, failed: u64, p95: f64) -> Interval {
        Interval {
            t,
            requests,
            failed,
            p95_ms: Some(p95),
        }
    }

    const SLO: Slo = Slo {
        p95_ms: Some(100.0),
        error_rate: Some(0.01),
    };

    #[test]
    fn counts_from_fault_end_to_the_first_of_k_good_intervals() {
        let pts = vec![
            iv(0.0, 10, 0, 20.0),
            iv(1.0, 10, 9, 20.0),  // inject
            iv(2.0, 10, 5, 20.0),  // fault ended at 2: still failing
            iv(3.0, 10, 0, 300.0), // slow
            iv(4.0, 10, 0, 50.0),
            iv(5.0, 10, 1, 50.0), // 10% errors breaks the run
            iv(6.0, 10, 0, 50.0),
            iv(7.0, 10, 0, 50.0),
            iv(8.0, 10, 0, 50.0),
        ];
        let r = recovery(&pts, 2.0, &SLO, 3);
        assert_eq!(r.recovery_s, Some(4.0));
        assert_eq!(recovery(&pts, 2.0, &SLO, 1).recovery_s, Some(2.0));
        assert_eq!(recovery(&pts, 2.0, &SLO, 4).recovery_s, None);
    }

    #[test]
    fn empty_intervals_are_not_recovered() {
        let pts = vec![iv(0.0, 0, 0, 0.0), iv(1.0, 5, 0, 10.0)];
        let r = recovery(&pts, 0.0, &SLO, 1);
        assert_eq!(r.recovery_s, Some(1.0));
    }
}
