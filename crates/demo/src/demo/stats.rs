//! Request counters by service and status class, and the process's memory
//! as the kernel reports it, for `/metrics` and `/api/metrics`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::DemoState;

/// The parts of the demo target, as labelled in `/metrics`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Service {
    Shop,
    Flash,
    Tasks,
    /// `/admin`, `/health`, `/metrics`, `/api/metrics`.
    Ops,
}

impl Service {
    pub(crate) const ALL: [Service; 4] =
        [Service::Shop, Service::Flash, Service::Tasks, Service::Ops];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Service::Shop => "shop",
            Service::Flash => "flash",
            Service::Tasks => "tasks",
            Service::Ops => "ops",
        }
    }
}

/// Status classes counted: 1xx/2xx, 3xx, 4xx, 5xx.
pub(crate) const CLASSES: [&str; 4] = ["2xx", "3xx", "4xx", "5xx"];

/// Requests answered, by service and status class.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    answered: [[AtomicU64; 4]; 4],
}

impl Stats {
    fn record(&self, service: Service, status: u16) {
        let class = match status {
            0..=299 => 0,
            300..=399 => 1,
            400..=499 => 2,
            _ => 3,
        };
        self.answered[service as usize][class].fetch_add(1, Ordering::Relaxed);
    }

    /// Requests of `service` answered with status class `CLASSES[class]`.
    pub(crate) fn answered(&self, service: Service, class: usize) -> u64 {
        self.answered[service as usize][class].load(Ordering::Relaxed)
    }

    /// All requests answered so far.
    pub(crate) fn total(&self) -> u64 {
        self.answered
            .iter()
            .flatten()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }
}

/// Middleware: counts the request under `service` once it is answered.
pub(crate) async fn count(
    State((state, service)): State<(Arc<DemoState>, Service)>,
    req: Request,
    next: Next,
) -> Response {
    let res = next.run(req).await;
    state.stats.record(service, res.status().as_u16());
    res
}

/// Memory of this process from `/proc/self/status` (Linux); zeros where
/// the kernel does not say.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ProcessMemory {
    /// Resident set size.
    pub(crate) rss_bytes: u64,
    /// Peak resident set size.
    pub(crate) peak_rss_bytes: u64,
    /// Virtual memory size.
    pub(crate) virtual_bytes: u64,
    /// OS threads.
    pub(crate) threads: u64,
}

impl ProcessMemory {
    pub(crate) fn read() -> ProcessMemory {
        std::fs::read_to_string("/proc/self/status")
            .map(|s| Self::parse(&s))
            .unwrap_or_default()
    }

    fn parse(status: &str) -> ProcessMemory {
        let mut m = ProcessMemory::default();
        for line in status.lines() {
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let number = value
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
            let kib = number * 1024;
            match key {
                "VmRSS" => m.rss_bytes = kib,
                "VmHWM" => m.peak_rss_bytes = kib,
                "VmSize" => m.virtual_bytes = kib,
                "Threads" => m.threads = number,
                _ => {}
            }
        }
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_status() {
        let m = ProcessMemory::parse(
            "Name:\tx\nVmHWM:\t   2048 kB\nVmRSS:\t    1024 kB\nVmSize:\t 4096 kB\nThreads:\t3\n",
        );
        assert_eq!(m.rss_bytes, 1024 * 1024);
        assert_eq!(m.peak_rss_bytes, 2048 * 1024);
        assert_eq!(m.virtual_bytes, 4096 * 1024);
        assert_eq!(m.threads, 3);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn reads_this_process() {
        assert!(ProcessMemory::read().rss_bytes > 0);
    }
}
