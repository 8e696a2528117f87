//! A realistic synthetic run, deterministic: three minutes of a ramping
//! load on the test plan's endpoints (two scenarios, a latency spike,
//! failed orders), as the engine would hand the samples to outputs.

use stampede_metrics::thresholds::ThresholdSpec;
use stampede_metrics::{Builtin, Registry, Sample, TagSet};

/// xorshift64*: reproducible noise without a dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The run's samples and its thresholds.
pub struct LoadRun {
    pub registry: Registry,
    pub samples: Vec<Sample>,
    pub thresholds: Vec<ThresholdSpec>,
    pub start_ns: u64,
    pub end_ns: u64,
}

struct Ep {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    base_ms: f64,
    ok: &'static str,
}

const BROWSE: [(Ep, f64); 2] = [
    (
        Ep {
            name: "products_list",
            method: "GET",
            path: "/api/products?page=1",
            base_ms: 45.0,
            ok: "200",
        },
        0.6,
    ),
    (
        Ep {
            name: "products_search",
            method: "GET",
            path: "/api/products/search?q=shoes",
            base_ms: 90.0,
            ok: "200",
        },
        0.4,
    ),
];

const CHECKOUT: [(Ep, f64); 3] = [
    (
        Ep {
            name: "login",
            method: "POST",
            path: "/api/login",
            base_ms: 70.0,
            ok: "200",
        },
        0.2,
    ),
    (
        Ep {
            name: "orders_create",
            method: "POST",
            path: "/api/orders",
            base_ms: 140.0,
            ok: "201",
        },
        0.6,
    ),
    (
        Ep {
            name: "reports_generate",
            method: "GET",
            path: "/api/reports/inventory",
            base_ms: 1100.0,
            ok: "200",
        },
        0.2,
    ),
];

/// VUs at second `t` of a 180 s run: ramp to 40, hold, ramp down.
fn vus_at(t: f64) -> f64 {
    if t < 50.0 {
        (t / 50.0 * 40.0).round()
    } else if t < 130.0 {
        40.0
    } else {
        ((180.0 - t) / 50.0 * 40.0).round().max(0.0)
    }
}

/// Three minutes from 2026-11-23T22:05:25Z, about 25,000 requests.
pub fn realistic_run() -> LoadRun {
    let registry = Registry::new();
    let start_ns: u64 = 1_795_471_525_000_000_000;
    let mut rng = Rng::new(42);
    let mut samples = Vec::new();
    let mut push = |metric: Builtin, tags: &TagSet, value: f64, time_ns: u64| {
        samples.push(Sample {
            metric: metric.metric(),
            tags: tags.clone(),
            value,
            time_ns,
        });
    };
    let base = "http://127.0.0.1:3000";
    for sec in 0..180u64 {
        let t = sec as f64;
        let vus = vus_at(t);
        let at = start_ns + sec * 1_000_000_000;
        push(Builtin::Vus, &TagSet::empty(), vus, at + 999_000_000);
        push(Builtin::VusMax, &TagSet::empty(), 40.0, at + 999_000_000);
        let load = vus / 40.0;
        let spike = if (100.0..112.0).contains(&t) {
            2.6
        } else {
            1.0
        };
        let requests = (vus * 3.5) as u64;
        for i in 0..requests {
            let time = at + (i * 1_000_000_000) / requests.max(1);
            let browse = rng.next_f64() < 0.7;
            let (scenario, table): (&str, &[(Ep, f64)]) = if browse {
                ("browse", &BROWSE)
            } else {
                ("checkout", &CHECKOUT)
            };
            let mut pick = rng.next_f64();
            let ep = table
                .iter()
                .find(|(_, w)| {
                    pick -= w;
                    pick < 0.0
                })
                .map(|(e, _)| e)
                .unwrap_or(&table[table.len() - 1].0);
            // Log-normal-ish noise with a long tail.
            let noise = (-(1.0 - rng.next_f64()).ln()).powf(1.3) * 0.45 + 0.7;
            let ms = ep.base_ms * (1.0 + 0.8 * load * load) * spike * noise;
            let fail_p = match (ep.name, spike > 1.0) {
                ("orders_create", true) => 0.12,
                ("orders_create", false) => 0.01,
                _ => 0.001,
            };
            let failed = rng.next_f64() < fail_p;
            let status = if failed { "500" } else { ep.ok };
            let group = if browse { "" } else { "::checkout" };
            let url = format!("{base}{}", ep.path);
            let tags = TagSet::from_pairs([
                ("expected_response", if failed { "false" } else { "true" }),
                ("group", group),
                ("method", ep.method),
                ("name", ep.name),
                ("proto", "HTTP/1.1"),
                ("scenario", scenario),
                ("status", status),
                ("url", url.as_str()),
            ]);
            push(Builtin::HttpReqs, &tags, 1.0, time);
            push(Builtin::HttpReqDuration, &tags, ms, time);
            push(Builtin::HttpReqWaiting, &tags, ms * 0.92, time);
            push(Builtin::HttpReqFailed, &tags, failed as u8 as f64, time);
            let check = TagSet::from_pairs([
                (
                    "check",
                    if browse {
                        "status is 200"
                    } else {
                        "order accepted"
                    },
                ),
                ("group", group),
                ("scenario", scenario),
            ]);
            push(Builtin::Checks, &check, (!failed) as u8 as f64, time);
            let it = TagSet::from_pairs([("group", ""), ("scenario", scenario)]);
            push(Builtin::Iterations, &it, 1.0, time);
            push(Builtin::IterationDuration, &it, ms + 1000.0, time);
            push(Builtin::DataSent, &it, 180.0, time);
            push(Builtin::DataReceived, &it, 2400.0, time);
        }
    }
    let thresholds = vec![
        ThresholdSpec::new("http_req_duration", "p(95)<2000"),
        ThresholdSpec::new("http_req_failed", "rate<0.05"),
        ThresholdSpec::new("http_req_duration{name:reports_generate}", "p(95)<1500"),
        ThresholdSpec::new("checks", "rate>0.95"),
    ];
    LoadRun {
        registry,
        samples,
        thresholds,
        start_ns,
        end_ns: start_ns + 180 * 1_000_000_000,
    }
}
