//! The scripts in `examples/` run against the demo target and pass: each
//! example gets a fresh `DemoTarget` on a free loopback port and runs
//! through the `stampede` binary with short settings (environment variables
//! the scripts document), then the exit code and the `--summary-export`
//! results are checked. The tests are split so the harness runs about two
//! examples at a time.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use stampede_demo::{DemoConfig, DemoTarget};

/// Longest any one example may run before it is killed.
const RUN_LIMIT: Duration = Duration::from_secs(90);

/// Latency thresholds are the seeds' targets for a release build on an idle
/// machine; the tests run debug builds of the generator and the target on a
/// shared CPU, so every latency limit is multiplied by this.
const LATENCY_FACTOR: &str = "10";

/// Products in the test targets' catalogues (1000 by default): the
/// inventory report hashes every product, and a debug build on a busy
/// machine makes it slow enough to dominate the latency percentiles.
const PRODUCTS: usize = 200;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples")
}

/// A demo target of its own for one example, on a free loopback port.
fn fresh_target() -> DemoTarget {
    DemoTarget::start_in_background(DemoConfig {
        addr: "127.0.0.1:0".parse().expect("an address"),
        products: PRODUCTS,
        ..DemoConfig::default()
    })
    .expect("the demo target starts")
}

/// One finished run of an example.
struct Run {
    name: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    export: Value,
}

impl Run {
    fn context(&self) -> String {
        format!(
            "{} exited {:?}\n--- stderr ---\n{}\n--- stdout ---\n{}",
            self.name, self.code, self.stderr, self.stdout
        )
    }

    fn assert_passed(&self) {
        assert_eq!(self.code, Some(0), "{}", self.context());
        // Exit 0 already means no threshold failed; the export agrees.
        for (name, m) in self.metrics() {
            if let Some(t) = m.get("thresholds").and_then(Value::as_object) {
                for (expr, failed) in t {
                    assert_eq!(
                        failed,
                        &Value::Bool(false),
                        "{}: {name} {expr} failed",
                        self.name
                    );
                }
            }
        }
    }

    fn metrics(&self) -> &serde_json::Map<String, Value> {
        self.export["metrics"]
            .as_object()
            .unwrap_or_else(|| panic!("no metrics in the export\n{}", self.context()))
    }

    fn metric(&self, name: &str) -> &Value {
        self.metrics().get(name).unwrap_or_else(|| {
            panic!(
                "{}: no metric {name} in the export\n{}",
                self.name,
                self.context()
            )
        })
    }

    /// A field of a metric (`count`, `passes`, `max`, ...).
    fn field(&self, metric: &str, field: &str) -> f64 {
        self.metric(metric)[field].as_f64().unwrap_or_else(|| {
            panic!(
                "{}: {metric} has no {field}: {}",
                self.name,
                self.metric(metric)
            )
        })
    }

    fn count(&self, metric: &str) -> f64 {
        self.field(metric, "count")
    }

    /// Passes and fails of the checks named `name` anywhere in the groups.
    fn check(&self, name: &str) -> (u64, u64) {
        fn walk(group: &Value, name: &str, acc: &mut (u64, u64)) {
            if let Some(c) = group["checks"].get(name) {
                acc.0 += c["passes"].as_u64().unwrap_or(0);
                acc.1 += c["fails"].as_u64().unwrap_or(0);
            }
            if let Some(groups) = group["groups"].as_object() {
                for g in groups.values() {
                    walk(g, name, acc);
                }
            }
        }
        let mut acc = (0, 0);
        walk(&self.export["root_group"], name, &mut acc);
        acc
    }

    fn assert_check_passed(&self, name: &str) {
        let (passes, fails) = self.check(name);
        assert!(
            passes > 0 && fails == 0,
            "{}: check {name:?} passed {passes} and failed {fails} times\n{}",
            self.name,
            self.context()
        );
    }
}

/// Runs `examples/<script>` against `target` with `-e` variables.
fn run_example(script: &str, target: &DemoTarget, vars: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let export = dir.path().join("summary.json");
    let (out_path, err_path) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stampede"));
    cmd.arg("run")
        .arg("--quiet")
        .arg("--summary-export")
        .arg(&export)
        .arg("-e")
        .arg(format!("BASE_URL={}", target.url()))
        .arg("-e")
        .arg(format!("LATENCY_FACTOR={LATENCY_FACTOR}"))
        .arg("-e")
        .arg(format!("PRODUCTS={PRODUCTS}"));
    for (k, v) in vars {
        cmd.arg("-e").arg(format!("{k}={v}"));
    }
    cmd.arg(examples_dir().join(script))
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"));
    let started = Instant::now();
    let mut child = cmd.spawn().expect("the stampede binary starts");
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for stampede") {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{script} still running after {RUN_LIMIT:?}; stderr:\n{}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let run = Run {
        name: script.to_string(),
        code: status.code(),
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
        export: std::fs::read(&export)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or(Value::Null),
    };
    eprintln!(
        "{script}: exit {:?} in {:.1}s",
        run.code,
        started.elapsed().as_secs_f64()
    );
    run
}

/// GET `path` from the target as JSON (plain HTTP/1.1 over std's TCP).
fn get_json(target: &DemoTarget, path: &str) -> Value {
    let mut s = TcpStream::connect(target.addr()).expect("connect to the target");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        target.addr()
    )
    .unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read the response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_string()
    };
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        body = &rest[n + 2..];
    }
    out
}

#[test]
fn smoke_load_stress_and_breaking_point() {
    let target = fresh_target();
    let run = run_example("smoke.js", &target, &[("DURATION", "3s")]);
    run.assert_passed();
    for group in ["shop", "flash sale", "task service", "ops"] {
        assert!(
            run.export["root_group"]["groups"].get(group).is_some(),
            "smoke.js has no group {group:?}"
        );
    }
    for check in [
        "products: 200 with 5 items",
        "order: 201 with an id",
        "order beyond stock: 409",
        "inventory report: 200",
        "verify: nothing oversold",
        "task: readable by its owner",
        "refreshed-away token: 401",
        "metrics: Prometheus text",
    ] {
        run.assert_check_passed(check);
    }
    assert_eq!(run.field("checks", "fails"), 0.0);

    let target = fresh_target();
    let run = run_example(
        "load.js",
        &target,
        &[
            ("TIME_SCALE", "0.015"),
            ("SLEEP_MIN", "0.2"),
            ("SLEEP_MAX", "0.6"),
        ],
    );
    run.assert_passed();
    let reads = run.count("http_reqs{kind:read}");
    let writes = run.count("http_reqs{kind:write}");
    assert!(
        writes > 0.0 && reads > writes,
        "reads {reads}, writes {writes}"
    );
    assert!(run.count("orders_created") > 0.0);
    assert_eq!(run.field("vus_max", "value"), 10.0);

    let target = fresh_target();
    let run = run_example(
        "stress.js",
        &target,
        &[
            ("STAGE_DURATION", "1s"),
            ("SLEEP_MIN", "0.2"),
            ("SLEEP_MAX", "0.6"),
        ],
    );
    run.assert_passed();
    assert_eq!(
        run.field("vus_max", "value"),
        20.0,
        "the last step is 400 x 0.05"
    );

    let target = fresh_target();
    let run = run_example(
        "breaking-point.js",
        &target,
        &[("SCALE", "0.004"), ("STAGE_DURATION", "1s")],
    );
    run.assert_passed();
    assert_eq!(
        run.field("vus_max", "value"),
        20.0,
        "the last step is 5000 x 0.004"
    );
    assert!(run.count("http_reqs") > 0.0);
}

#[test]
fn spike_soak_memory_and_database() {
    let target = fresh_target();
    let run = run_example(
        "spike.js",
        &target,
        &[("TIME_SCALE", "0.015"), ("FLASH_TIME_SCALE", "0.2")],
    );
    run.assert_passed();
    for phase in ["normal", "spike", "recovery"] {
        let m = run.metric(&format!("http_req_failed{{phase:{phase}}}"));
        let n = m["passes"].as_u64().unwrap_or(0) + m["fails"].as_u64().unwrap_or(0);
        assert!(n > 0, "no requests in the {phase} phase: {m}");
    }
    assert!(run.field("checks{scenario:flash_spike}", "passes") > 0.0);

    let target = fresh_target();
    let run = run_example(
        "soak.js",
        &target,
        &[
            ("VUS", "5"),
            ("SOAK_DURATION", "4s"),
            ("RAMP_DURATION", "1s"),
            ("SLEEP_MIN", "0.2"),
            ("SLEEP_MAX", "0.6"),
        ],
    );
    run.assert_passed();
    assert!(run.count("iterations") > 10.0);

    // The target lives in this test process, whose memory other tests'
    // targets share: the growth limit is generous here.
    let target = fresh_target();
    let run = run_example(
        "memory-leak.js",
        &target,
        &[
            ("VUS", "3"),
            ("DURATION", "4s"),
            ("SLEEP", "0.01"),
            ("MAX_GROWTH_MB", "512"),
        ],
    );
    run.assert_passed();
    assert!(run.field("memory_usage_mb", "max") > 0.0);
    assert!(run.metrics().contains_key("memory_growth_mb"));

    let target = fresh_target();
    let run = run_example(
        "database-load.js",
        &target,
        &[("VUS", "3"), ("DURATION", "4s"), ("SLEEP", "0.01")],
    );
    run.assert_passed();
    for query in ["simple", "aggregation", "join", "write"] {
        let m = format!("http_req_duration{{query:{query}}}");
        assert!(run.field(&m, "max") > 0.0, "no {query} queries");
    }
    run.assert_check_passed("status is 200");
}

#[test]
fn flash_sales() {
    // Seed 001's flash sale on the shop: exactly the product's 100 units sold.
    let target = fresh_target();
    let run = run_example(
        "flash-sale-001.js",
        &target,
        &[("VUS", "10"), ("DURATION", "3s")],
    );
    run.assert_passed();
    assert_eq!(
        run.count("flash_orders_created"),
        100.0,
        "the demo product's stock"
    );
    assert!(
        run.count("flash_orders_sold_out") > 0.0,
        "no 409 after the sale sold out"
    );
    run.assert_check_passed("verify: sold out");
    let product = get_json(&target, "/api/products/flash-sale-product-001");
    assert_eq!(product["stock"], 0);

    // Seed 003's script, smaller and quicker.
    let target = fresh_target();
    let run = run_example(
        "flash-sale.js",
        &target,
        &[("PEAK_VUS", "20"), ("TIME_SCALE", "0.2")],
    );
    run.assert_passed();
    assert_eq!(run.count("orders_accepted"), 100.0);
    assert!(
        run.count("orders_rejected") > 0.0,
        "no 409 sold-out answers"
    );
    assert_eq!(run.field("checks{phase:verify}", "fails"), 0.0);
    run.assert_check_passed("verify: nothing oversold");
    run.assert_check_passed("verify: accepted orders == initial stock - remaining");
    let sale = get_json(&target, "/verify?productId=iphone-15");
    assert_eq!(sale["orders_accepted"], 100, "{sale}");
    assert_eq!(sale["remaining"], 0, "{sale}");
    assert_eq!(sale["oversold"], false, "{sale}");
}

#[test]
fn flash_sale_verification_with_a_tiny_stock() {
    let target = fresh_target();
    let vars = [("STOCK", "3"), ("PEAK_VUS", "4"), ("TIME_SCALE", "0.1")];
    let run = run_example("flash-sale.js", &target, &vars);
    run.assert_passed();
    assert_eq!(run.count("orders_accepted"), 3.0);
    run.assert_check_passed("verify: exactly 3 orders accepted");
    let sale = get_json(&target, "/verify?productId=iphone-15");
    assert_eq!(sale["orders_accepted"], 3, "{sale}");
    assert_eq!(sale["initial"], 3, "{sale}");
}

#[test]
fn flash_sale_verification_fails_when_its_expectation_is_wrong() {
    // The target sold 3 of 3 units, but the verification expects 4: the
    // run must fail, from teardown(), with the reason.
    let target = fresh_target();
    let vars = [
        ("STOCK", "3"),
        ("EXPECTED_STOCK", "4"),
        ("PEAK_VUS", "4"),
        ("TIME_SCALE", "0.1"),
    ];
    let run = run_example("flash-sale.js", &target, &vars);
    assert_ne!(run.code, Some(0), "{}", run.context());
    assert!(
        run.stderr
            .contains("verification failed: exactly 4 orders accepted"),
        "{}",
        run.context()
    );
    let (_, fails) = run.check("verify: exactly 4 orders accepted");
    assert_eq!(fails, 1, "{}", run.context());
    run.assert_check_passed("verify: nothing oversold");
}

#[test]
fn tenants_rate_limits_and_user_pool() {
    let target = fresh_target();
    let run = run_example(
        "multi-tenant.js",
        &target,
        &[
            ("TIME_SCALE", "0.006"),
            ("SLEEP_MIN", "0.2"),
            ("SLEEP_MAX", "0.6"),
        ],
    );
    run.assert_passed();
    for tier in ["free", "starter", "professional"] {
        let m = run.metric(&format!("http_req_failed{{tier:{tier}}}"));
        let n = m["passes"].as_u64().unwrap_or(0) + m["fails"].as_u64().unwrap_or(0);
        assert!(n > 0, "no {tier} requests: {m}");
    }

    // A generator on a busy debug build may not outpace the professional
    // tier's 2000 requests/s from one VU, so only free and starter here.
    let target = fresh_target();
    let run = run_example("rate-limit.js", &target, &[("TIERS", "free,starter")]);
    run.assert_passed();
    assert!(run.count("rate_limited{tier:free}") >= 50.0);
    assert!(run.count("rate_limited{tier:starter}") > 0.0);
    run.assert_check_passed("rate limit accurate");
    run.assert_check_passed("429 has Retry-After in seconds");

    let target = fresh_target();
    let run = run_example(
        "user-pool.js",
        &target,
        &[
            ("VUS", "4"),
            ("DURATION", "4s"),
            ("TOKEN_LIFETIME", "1"),
            ("THINK_TIME", "0.005"),
        ],
    );
    run.assert_passed();
    assert!(run.count("tasks_created") > 0.0);
    assert!(
        run.count("token_refreshes") > 0.0,
        "TOKEN_LIFETIME=1 refreshes tokens"
    );
    assert_eq!(run.count("auth_failures"), 0.0);
    let (logged_out, failed) = run.check("logged out");
    assert_eq!(
        (logged_out, failed),
        (20, 0),
        "teardown logs out the pool of 20"
    );
}

#[test]
fn user_pool_websockets() {
    let target = fresh_target();
    let run = run_example(
        "user-pool-ws.js",
        &target,
        &[("VUS", "2"), ("DURATION", "4s"), ("USERS", "4")],
    );
    run.assert_passed();
    assert!(run.count("ws_sessions") > 0.0);
    assert!(run.count("task_status_updates") > 0.0);
}

#[test]
fn declarative_scenarios() {
    // Seed 001's load test as data (examples/load.yaml), run natively.
    let target = fresh_target();
    let run = run_example("load.yaml", &target, &[]);
    run.assert_passed();
    run.assert_check_passed("login: status is 200");
    run.assert_check_passed("login: extract token");
    assert!(run.count("http_reqs{kind:read}") > 0.0);
    assert!(run.count("http_reqs{kind:write}") > 0.0);

    // Seed 003's flash sale as data, its stages shortened (as the
    // flash-sale.js test does with TIME_SCALE): 100 units, none oversold.
    let target = fresh_target();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let yaml = std::fs::read_to_string(examples_dir().join("flash-sale.yaml"))
        .expect("examples/flash-sale.yaml")
        .replace("duration: 10s, target: 50", "duration: 2s, target: 10")
        .replace("duration: 10s, target: 100", "duration: 2s, target: 20")
        .replace("duration: 5s, target: 0", "duration: 1s, target: 0");
    let short = dir.path().join("flash-sale.yaml");
    std::fs::write(&short, yaml).expect("a shortened copy");
    let run = run_example(short.to_str().expect("a UTF-8 path"), &target, &[]);
    run.assert_passed();
    run.assert_check_passed("init: status is 200");
    run.assert_check_passed("order: status is 200 or 302 or 409");
    let sale = get_json(&target, "/verify?productId=iphone-15");
    assert_eq!(sale["oversold"], false, "{sale}");
    assert_eq!(sale["orders_accepted"], 100, "{sale}");
}
