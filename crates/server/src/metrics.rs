//! The server's Prometheus metrics (`GET /metrics`): seed 002's
//! `loadtest_*` names, fed from the merged interval snapshots of the runs
//! this server supervises, and the server's own (API requests and latency,
//! runs by state, queue depth, WebSocket subscribers).
//!
//! Plain atomics and a text renderer: a Prometheus client crate would add
//! a dependency for a dozen lines of exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use stampede_metrics::{Aggregate, WireSnapshot};

/// Totals of the load the runs generated.
#[derive(Default)]
pub struct LoadMetrics {
    inner: Mutex<LoadTotals>,
}

#[derive(Default)]
struct LoadTotals {
    requests: f64,
    errors: u64,
    latency_sum_s: f64,
    latency_count: u64,
    /// p50, p95, p99 of the latest interval, in seconds.
    latest_quantiles: Option<[f64; 3]>,
}

impl LoadMetrics {
    /// Adds one merged interval of a run.
    pub fn observe(&self, snap: &WireSnapshot) {
        let mut t = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut latency: Option<stampede_metrics::TrendAgg> = None;
        for e in &snap.entries {
            let Some(m) = snap.metrics.get(e.metric as usize) else {
                continue;
            };
            match (m.name.as_str(), &e.agg) {
                ("http_reqs", Aggregate::Counter(c)) => t.requests += c.sum,
                ("http_req_failed", Aggregate::Rate(r)) => t.errors += r.passes,
                ("http_req_duration", Aggregate::Trend(tr)) => match &mut latency {
                    Some(l) => l.merge(tr),
                    None => latency = Some(tr.clone()),
                },
                _ => {}
            }
        }
        if let Some(l) = latency.filter(|l| l.count() > 0) {
            t.latency_sum_s += l.sum() / 1000.0;
            t.latency_count += l.count();
            t.latest_quantiles = Some([
                l.percentile(50.0) / 1000.0,
                l.percentile(95.0) / 1000.0,
                l.percentile(99.0) / 1000.0,
            ]);
        }
    }
}

/// API request counters and latency histogram.
#[derive(Default)]
pub struct ServerMetrics {
    /// Load totals of the runs.
    pub load: Arc<LoadMetrics>,
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    latency_buckets: [AtomicU64; BUCKETS.len()],
    latency_sum_us: AtomicU64,
    latency_count: AtomicU64,
}

const BUCKETS: [f64; 8] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

/// Gauges read at scrape time.
pub struct Gauges {
    /// Runs per state (every state listed).
    pub runs_by_state: Vec<(&'static str, u64)>,
    /// Runs waiting to start.
    pub queue_depth: u64,
    /// Segments running now (in-process workers busy).
    pub active_workers: u64,
    /// WebSocket subscribers connected.
    pub ws_subscribers: u64,
}

impl ServerMetrics {
    /// Records one API request.
    pub fn observe_request(&self, method: &str, status: u16, seconds: f64) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((method.to_string(), status))
            .or_default() += 1;
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                self.latency_buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_sum_us
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        self.latency_count.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self, g: &Gauges) -> String {
        let mut out = String::new();
        let load = self.load.inner.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(out, "# HELP loadtest_requests_total HTTP requests sent by runs of this server.\n# TYPE loadtest_requests_total counter\nloadtest_requests_total {}", load.requests);
        let _ = writeln!(out, "# HELP loadtest_errors_total Failed HTTP requests (http_req_failed) of runs of this server.\n# TYPE loadtest_errors_total counter\nloadtest_errors_total {}", load.errors);
        let _ = writeln!(out, "# HELP loadtest_latency_seconds HTTP request duration of runs (quantiles of the latest interval).\n# TYPE loadtest_latency_seconds summary");
        if let Some([p50, p95, p99]) = load.latest_quantiles {
            for (q, v) in [("0.5", p50), ("0.95", p95), ("0.99", p99)] {
                let _ = writeln!(out, "loadtest_latency_seconds{{quantile=\"{q}\"}} {v}");
            }
        }
        let _ = writeln!(
            out,
            "loadtest_latency_seconds_sum {}\nloadtest_latency_seconds_count {}",
            load.latency_sum_s, load.latency_count
        );
        drop(load);
        let _ = writeln!(out, "# HELP loadtest_active_workers Workers running a segment now.\n# TYPE loadtest_active_workers gauge\nloadtest_active_workers {}", g.active_workers);
        let _ = writeln!(
            out,
            "# HELP stampede_runs Runs by state.\n# TYPE stampede_runs gauge"
        );
        for (s, n) in &g.runs_by_state {
            let _ = writeln!(out, "stampede_runs{{state=\"{s}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP stampede_run_queue_depth Runs queued.\n# TYPE stampede_run_queue_depth gauge\nstampede_run_queue_depth {}", g.queue_depth);
        let _ = writeln!(out, "# HELP stampede_ws_subscribers WebSocket subscribers connected.\n# TYPE stampede_ws_subscribers gauge\nstampede_ws_subscribers {}", g.ws_subscribers);
        let _ = writeln!(out, "# HELP stampede_http_requests_total API requests by method and status.\n# TYPE stampede_http_requests_total counter");
        for ((m, s), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "stampede_http_requests_total{{method=\"{m}\",status=\"{s}\"}} {n}"
            );
        }
        let _ = writeln!(out, "# HELP stampede_http_request_duration_seconds API request latency.\n# TYPE stampede_http_request_duration_seconds histogram");
        let count = self.latency_count.load(Ordering::Relaxed);
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "stampede_http_request_duration_seconds_bucket{{le=\"{b}\"}} {}",
                self.latency_buckets[i].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "stampede_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "stampede_http_request_duration_seconds_sum {}",
            self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "stampede_http_request_duration_seconds_count {count}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::{Builtin, Registry, Sink, TagSet};

    #[test]
    fn load_totals_come_from_snapshots() {
        let reg = Registry::new();
        let mut sink = Sink::new();
        let none = TagSet::empty();
        for (ms, fail) in [(10.0, 0.0), (20.0, 1.0), (30.0, 0.0)] {
            sink.add(Builtin::HttpReqs.metric(), &none, 1.0, 0);
            sink.add(Builtin::HttpReqDuration.metric(), &none, ms, 0);
            sink.add(Builtin::HttpReqFailed.metric(), &none, fail, 0);
        }
        let m = ServerMetrics::default();
        m.load.observe(&sink.take(0, 1).to_wire(&reg));
        m.observe_request("GET", 200, 0.002);
        let text = m.render(&Gauges {
            runs_by_state: vec![("running", 1)],
            queue_depth: 0,
            active_workers: 1,
            ws_subscribers: 2,
        });
        assert!(text.contains("loadtest_requests_total 3\n"), "{text}");
        assert!(text.contains("loadtest_errors_total 1\n"), "{text}");
        assert!(
            text.contains("loadtest_latency_seconds_count 3\n"),
            "{text}"
        );
        assert!(text.contains("loadtest_active_workers 1\n"), "{text}");
        assert!(
            text.contains("stampede_runs{state=\"running\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("stampede_http_request_duration_seconds_bucket{le=\"0.005\"} 1\n"),
            "{text}"
        );
    }
}
