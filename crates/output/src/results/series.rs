//! Per-interval figures for charts, built from samples that arrive roughly
//! in time order (each scheduler thread flushes about once a second).
//!
//! Only the last few intervals are open, with full histograms; an interval
//! is closed (its percentiles computed, its histograms dropped) once samples
//! [`LAG`] intervals newer have arrived, so memory stays flat however long
//! the test runs. A sample for an interval already closed still adds to its
//! counts, not to its percentiles.

use std::collections::{BTreeMap, HashMap};

use stampede_metrics::TrendAgg;

use super::{Point, PointLatency, ScenarioPoint, Series};

/// How many intervals behind the newest sample an interval stays open.
const LAG: u64 = 5;

/// Intervals past this many are folded into the last one (about 11 days of
/// one-second intervals), so a clock jump cannot allocate without bound.
const MAX_POINTS: u64 = 1_000_000;

#[derive(Default)]
struct Open {
    vus: Option<(u64, f64)>,
    requests: u64,
    failed: u64,
    iterations: u64,
    duration: TrendAgg,
    scenarios: HashMap<Box<str>, OpenScenario>,
}

#[derive(Default)]
struct OpenScenario {
    requests: u64,
    failed: u64,
    iterations: u64,
    duration: TrendAgg,
}

/// What one sample adds to its interval.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Add {
    Vus(f64),
    Requests(f64),
    Failed(bool),
    Iterations(f64),
    Duration(f64),
}

/// Builds a [`Series`].
pub(crate) struct SeriesAcc {
    interval_ns: u64,
    open: BTreeMap<u64, Open>,
    closed: Vec<Option<Point>>,
    newest: u64,
}

impl SeriesAcc {
    pub(crate) fn new(interval_ns: u64) -> Self {
        SeriesAcc {
            interval_ns: interval_ns.max(1),
            open: BTreeMap::new(),
            closed: Vec::new(),
            newest: 0,
        }
    }

    /// Adds one sample, `offset_ns` after the start of the test.
    pub(crate) fn add(&mut self, offset_ns: u64, time_ns: u64, scenario: Option<&str>, add: Add) {
        let index = (offset_ns / self.interval_ns).min(MAX_POINTS);
        if (index as usize) < self.closed.len() {
            if let Some(p) = self.closed[index as usize].as_mut() {
                late(p, scenario, add);
                return;
            }
        }
        let open = self.open.entry(index).or_default();
        if let Some(s) = scenario {
            if !open.scenarios.contains_key(s) {
                open.scenarios.insert(s.into(), OpenScenario::default());
            }
        }
        let sc = scenario;
        match add {
            Add::Vus(v) => {
                if open.vus.is_none_or(|(t, _)| time_ns >= t) {
                    open.vus = Some((time_ns, v));
                }
            }
            Add::Requests(n) => {
                open.requests += n as u64;
                if let Some(s) = sc {
                    open.scenarios.get_mut(s).expect("inserted").requests += n as u64;
                }
            }
            Add::Failed(f) => {
                if f {
                    open.failed += 1;
                    if let Some(s) = sc {
                        open.scenarios.get_mut(s).expect("inserted").failed += 1;
                    }
                }
            }
            Add::Iterations(n) => {
                open.iterations += n as u64;
                if let Some(s) = sc {
                    open.scenarios.get_mut(s).expect("inserted").iterations += n as u64;
                }
            }
            Add::Duration(ms) => {
                open.duration.add(ms);
                if let Some(s) = sc {
                    open.scenarios
                        .get_mut(s)
                        .expect("inserted")
                        .duration
                        .add(ms);
                }
            }
        }
        if index > self.newest {
            self.newest = index;
            self.close_before(self.newest.saturating_sub(LAG));
        }
    }

    /// Closes every open interval before `index`.
    fn close_before(&mut self, index: u64) {
        while let Some(entry) = self.open.first_entry() {
            if *entry.key() >= index {
                break;
            }
            let (i, open) = entry.remove_entry();
            let i = i as usize;
            if self.closed.len() <= i {
                self.closed.resize_with(i + 1, || None);
            }
            self.closed[i] = Some(close(i as u64, self.interval_ns, open));
        }
    }

    /// The series, every interval from the start to the last one with samples.
    pub(crate) fn finish(mut self) -> Series {
        self.close_before(u64::MAX);
        let interval_ns = self.interval_ns;
        let points = self
            .closed
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                p.unwrap_or_else(|| Point {
                    t: t_of(i as u64, interval_ns),
                    ..Point::default()
                })
            })
            .collect();
        Series {
            interval_ms: interval_ns / 1_000_000,
            points,
        }
    }
}

fn t_of(index: u64, interval_ns: u64) -> f64 {
    (index as f64 * interval_ns as f64) / 1e9
}

fn close(index: u64, interval_ns: u64, open: Open) -> Point {
    let latency = (open.duration.count() > 0).then(|| PointLatency {
        avg: open.duration.avg(),
        p50: open.duration.percentile(50.0),
        p90: open.duration.percentile(90.0),
        p95: open.duration.percentile(95.0),
        p99: open.duration.percentile(99.0),
        max: open.duration.max(),
    });
    let scenarios = open
        .scenarios
        .into_iter()
        .map(|(name, s)| {
            let p95 = (s.duration.count() > 0).then(|| s.duration.percentile(95.0));
            (
                name.into_string(),
                ScenarioPoint {
                    requests: s.requests,
                    failed: s.failed,
                    iterations: s.iterations,
                    p95,
                },
            )
        })
        .collect();
    Point {
        t: t_of(index, interval_ns),
        vus: open.vus.map(|(_, v)| v),
        requests: open.requests,
        failed: open.failed,
        iterations: open.iterations,
        latency,
        scenarios,
    }
}

/// A sample for a closed interval: counts still add up; percentiles stay.
fn late(p: &mut Point, scenario: Option<&str>, add: Add) {
    let sc = scenario.map(|s| p.scenarios.entry(s.to_owned()).or_default());
    match add {
        Add::Vus(_) | Add::Duration(_) => {}
        Add::Requests(n) => {
            p.requests += n as u64;
            if let Some(s) = sc {
                s.requests += n as u64;
            }
        }
        Add::Failed(f) => {
            if f {
                p.failed += 1;
                if let Some(s) = sc {
                    s.failed += 1;
                }
            }
        }
        Add::Iterations(n) => {
            p.iterations += n as u64;
            if let Some(s) = sc {
                s.iterations += n as u64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn intervals_with_gaps_and_late_samples() {
        let mut acc = SeriesAcc::new(S);
        acc.add(100, 100, Some("a"), Add::Requests(1.0));
        acc.add(200, 200, Some("a"), Add::Duration(10.0));
        acc.add(S / 2, S / 2, Some("a"), Add::Duration(30.0));
        acc.add(3 * S + 1, 3 * S + 1, Some("b"), Add::Requests(1.0));
        acc.add(3 * S + 2, 3 * S + 2, None, Add::Vus(4.0));
        // Interval 0 closes once interval 6 is seen...
        acc.add(6 * S, 6 * S, None, Add::Vus(5.0));
        // ... and a late sample still counts.
        acc.add(10, 10, Some("a"), Add::Requests(1.0));
        acc.add(10, 10, Some("a"), Add::Failed(true));
        acc.add(10, 10, Some("a"), Add::Duration(1000.0));
        let s = acc.finish();
        assert_eq!(s.interval_ms, 1000);
        assert_eq!(s.points.len(), 7);
        let p0 = &s.points[0];
        assert_eq!((p0.requests, p0.failed), (2, 1));
        let lat = p0.latency.unwrap();
        assert_eq!((lat.avg, lat.max), (20.0, 30.0));
        assert_eq!(p0.scenarios["a"].requests, 2);
        assert_eq!(
            s.points[1],
            Point {
                t: 1.0,
                ..Point::default()
            }
        );
        assert_eq!(s.points[3].vus, Some(4.0));
        assert_eq!(s.points[3].scenarios["b"].requests, 1);
        assert_eq!(s.points[6].vus, Some(5.0));
        assert_eq!(s.points[6].t, 6.0);
    }
}
