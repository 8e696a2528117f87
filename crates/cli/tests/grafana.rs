//! The Grafana dashboards in `deploy/grafana/dashboards/` against real
//! data: `stampede run` drives the demo target for a few seconds with
//! `--out experimental-prometheus-rw` into a real Prometheus (one run with
//! trend stats, one with native histograms, side by side) and
//! `--out influxdb` into a real InfluxDB 1.x; then every template variable
//! query and every panel target is run, variables substituted as Grafana
//! substitutes them, against the servers' HTTP query APIs, and each must
//! return data. A panel whose query returns nothing fails the test.
//!
//! The server's dashboard (`stampede-server.json`) is checked the same way
//! against a real Prometheus scraping a real `stampede server` once a
//! second while it runs a test and answers API calls.
//!
//! Servers are Debian's `prometheus` and `influxdb`, started on free
//! loopback ports (`common/servers.rs` of the output crate's tests); the
//! test skips without them unless `STAMPEDE_REQUIRE_SERVERS` is set.

#[path = "server/harness.rs"]
mod harness;
#[allow(dead_code)]
#[path = "../../output/tests/integration/common/servers.rs"]
mod servers;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use servers::{http, start_influxdb, start_prometheus, urlencode};

/// Two scenarios, three named endpoints, one of them failing (404), checks.
const SCRIPT: &str = r#"
import http from 'k6/http';
import { check, sleep } from 'k6';
export const options = {
  scenarios: {
    browse: { executor: 'constant-vus', vus: 2, duration: '3s', exec: 'browse' },
    probe: { executor: 'constant-arrival-rate', rate: 5, timeUnit: '1s', duration: '3s',
             preAllocatedVUs: 1, exec: 'probe' },
  },
};
export function browse() {
  const r = http.get(`${__ENV.BASE}/api/products?page=1`, { tags: { name: 'products_list' } });
  check(r, { 'list is 200': (x) => x.status === 200 });
  http.get(`${__ENV.BASE}/api/products/1`, { tags: { name: 'product_get' } });
  sleep(0.1);
}
export function probe() {
  const r = http.get(`${__ENV.BASE}/api/products/999999`, { tags: { name: 'product_missing' } });
  check(r, { 'missing is 404': (x) => x.status === 404 });
}
"#;

fn dashboards_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/grafana/dashboards")
}

fn dashboard(file: &str) -> Value {
    let path = dashboards_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Starts `stampede run t.js` in `dir` with `args` and `envs`, output to `log`.
fn stampede(dir: &Path, log: &str, args: &[String], envs: &[(&str, &str)]) -> Child {
    let out = std::fs::File::create(dir.join(log)).unwrap();
    Command::new(env!("CARGO_BIN_EXE_stampede"))
        .args(["run", "--address", "", "--no-summary"])
        .args(args)
        .arg("t.js")
        .current_dir(dir)
        .env("K6_NO_USAGE_REPORT", "true")
        .envs(envs.iter().copied())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("start stampede")
}

/// Waits (polling, up to a deadline) for `child` to exit 0; kills it otherwise.
fn wait_ok(mut child: Child, dir: &Path, log: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("stampede did not finish: {}", read(dir, log));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = read(dir, log);
    assert!(status.success(), "stampede exited with {status}:\n{out}");
    assert!(
        !out.to_ascii_lowercase().contains("failed to send"),
        "an output failed:\n{out}"
    );
}

fn read(dir: &Path, log: &str) -> String {
    std::fs::read_to_string(dir.join(log)).unwrap_or_default()
}

/// One substitution of a dashboard's template variables.
struct Vars<'a> {
    testid: &'a str,
    scenario: &'a str,
    endpoint: &'a str,
}

impl Vars<'_> {
    /// The query with the variables (and Grafana's built-ins) replaced;
    /// panics on a variable the dashboard does not define.
    fn apply(&self, q: &str, builtins: &[(&str, &str)]) -> String {
        let mut out = q
            .replace("$testid", self.testid)
            .replace("$scenario", self.scenario)
            .replace("$endpoint", self.endpoint);
        for (k, v) in builtins {
            out = out.replace(k, v);
        }
        let bytes = out.as_bytes();
        for (i, b) in bytes.iter().enumerate() {
            let next = bytes.get(i + 1).copied().unwrap_or(b'/');
            assert!(
                !(*b == b'$' && (next.is_ascii_alphabetic() || next == b'_' || next == b'{')),
                "an unknown variable in {q:?}"
            );
        }
        out
    }
}

/// Every `(panel title, query)` of a dashboard; checks the panel's
/// datasource is the dashboard's `datasource` variable.
fn targets(d: &Value, field: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        if p["type"] == "row" {
            continue;
        }
        let title = p["title"].as_str().unwrap().to_owned();
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{title}");
        let ts = p["targets"].as_array().unwrap();
        assert!(!ts.is_empty(), "{title}: no target");
        for t in ts {
            assert_eq!(t["datasource"]["uid"], "${datasource}", "{title}");
            let q = t[field].as_str().unwrap_or_else(|| panic!("{title}: {t}"));
            out.push((title.clone(), q.to_owned()));
        }
    }
    out
}

/// The dashboard's query variables: `(name, query)`.
fn variables(d: &Value, ds_type: &str) -> Vec<(String, String)> {
    let list = d["templating"]["list"].as_array().unwrap();
    assert_eq!(list[0]["type"], "datasource");
    assert_eq!(list[0]["query"], ds_type);
    list.iter()
        .filter(|v| v["type"] == "query")
        .map(|v| {
            let q = v["query"].as_str().unwrap().to_owned();
            assert_eq!(v["definition"], v["query"]);
            (v["name"].as_str().unwrap().to_owned(), q)
        })
        .collect()
}

struct Prometheus {
    port: u16,
    start: f64,
    end: f64,
}

impl Prometheus {
    fn get(&self, path: &str) -> Value {
        let (status, body) = http("GET", self.port, path, b"", &[]).expect("prometheus answers");
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// `label_values(selector, label)`, as Grafana runs it.
    fn label_values(&self, q: &str) -> Vec<String> {
        let inner = q
            .strip_prefix("label_values(")
            .and_then(|r| r.strip_suffix(')'))
            .unwrap_or_else(|| panic!("{q}"));
        let (selector, label) = inner.rsplit_once(',').unwrap();
        let path = format!(
            "/api/v1/label/{}/values?match[]={}&start={}&end={}",
            label.trim(),
            urlencode(selector.trim()),
            self.start,
            self.end
        );
        let v = self.get(&path);
        let values = v["data"].as_array().unwrap();
        values
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect()
    }

    /// A range query over the run; the number of finite points.
    fn points(&self, q: &str) -> usize {
        let path = format!(
            "/api/v1/query_range?query={}&start={}&end={}&step=1",
            urlencode(q),
            self.start,
            self.end
        );
        let v = self.get(&path);
        v["data"]["result"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["values"].as_array().unwrap().iter())
            .filter(|p| p[1].as_str().unwrap().parse::<f64>().unwrap().is_finite())
            .count()
    }
}

struct Influx {
    port: u16,
    start_ms: u64,
    end_ms: u64,
}

impl Influx {
    /// The series a query returns (panics on an error).
    fn series(&self, q: &str) -> Vec<Value> {
        let path = format!("/query?db=k6&epoch=ms&q={}", urlencode(q));
        let (status, body) = http("GET", self.port, &path, b"", &[]).expect("influxd answers");
        assert_eq!(status, 200, "{q}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let r = &v["results"][0];
        assert!(r["error"].is_null(), "{q}: {body}");
        r["series"].as_array().cloned().unwrap_or_default()
    }

    fn time_filter(&self) -> String {
        format!("time >= {}ms and time <= {}ms", self.start_ms, self.end_ms)
    }
}

/// The substitutions every panel is checked with: "All", and one value of
/// each variable (`testid` as Grafana formats two selected values).
const SUBSTITUTIONS: [Vars<'static>; 2] = [
    Vars {
        testid: ".*",
        scenario: ".*",
        endpoint: ".*",
    },
    Vars {
        testid: "(grafana-stats|grafana-native)",
        scenario: "browse",
        endpoint: "products_list",
    },
];

#[test]
fn every_dashboard_panel_returns_data() {
    let dir = tempfile::tempdir().unwrap();
    let prom_dir = dir.path().join("prometheus");
    let influx_dir = dir.path().join("influxdb");
    std::fs::create_dir_all(&prom_dir).unwrap();
    std::fs::create_dir_all(&influx_dir).unwrap();
    let Some((_prom_server, prom_port)) = start_prometheus(&prom_dir) else {
        return;
    };
    let Some((_influx_server, influx_port)) = start_influxdb(&influx_dir) else {
        return;
    };
    let target = stampede_demo::DemoTarget::start_in_background(stampede_demo::DemoConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    })
    .expect("demo target");
    let work = dir.path();
    std::fs::write(work.join("t.js"), SCRIPT).unwrap();
    let base = target.url();
    let rw = format!("experimental-prometheus-rw=http://127.0.0.1:{prom_port}/api/v1/write");
    let start = now_secs() - 1.0;
    let stats = stampede(
        work,
        "stats.log",
        &[
            "--out".into(),
            rw.clone(),
            "--out".into(),
            format!("influxdb=http://127.0.0.1:{influx_port}/k6"),
            "--tag".into(),
            "testid=grafana-stats".into(),
        ],
        &[
            ("BASE", &base),
            ("K6_PROMETHEUS_RW_PUSH_INTERVAL", "500ms"),
            ("K6_PROMETHEUS_RW_TREND_STATS", "p(95),p(99),avg,max"),
            ("K6_INFLUXDB_PUSH_INTERVAL", "200ms"),
        ],
    );
    let native = stampede(
        work,
        "native.log",
        &[
            "--out".into(),
            rw,
            "--tag".into(),
            "testid=grafana-native".into(),
        ],
        &[
            ("BASE", &base),
            ("K6_PROMETHEUS_RW_PUSH_INTERVAL", "500ms"),
            ("K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM", "true"),
        ],
    );
    wait_ok(stats, work, "stats.log");
    wait_ok(native, work, "native.log");
    let end = now_secs() + 1.0;

    // Prometheus: the variables list what the runs wrote, then every panel.
    let prom = Prometheus {
        port: prom_port,
        start,
        end,
    };
    let d = dashboard("stampede-prometheus-rw.json");
    let builtins = [("$__rate_interval", "5s"), ("$__interval", "1s")];
    let want: [(&str, &[&str]); 3] = [
        ("testid", &["grafana-native", "grafana-stats"]),
        ("scenario", &["browse", "probe"]),
        (
            "endpoint",
            &["product_get", "product_missing", "products_list"],
        ),
    ];
    let vars = variables(&d, "prometheus");
    assert_eq!(vars.len(), want.len());
    for ((name, q), (want_name, want_values)) in vars.iter().zip(want) {
        assert_eq!(name, want_name);
        let all = SUBSTITUTIONS[0].apply(q, &[]);
        assert_eq!(prom.label_values(&all), want_values, "{q}");
    }
    let panels = targets(&d, "expr");
    assert!(panels.len() >= 20, "{}", panels.len());
    let mut empty = Vec::new();
    for vars in &SUBSTITUTIONS {
        for (title, q) in &panels {
            let q = vars.apply(q, &builtins);
            if prom.points(&q) == 0 {
                empty.push(format!("{title}: {q}"));
            }
        }
    }
    assert!(
        empty.is_empty(),
        "Prometheus panels without data:\n{}",
        empty.join("\n")
    );

    // InfluxDB 1.x: the same.
    let influx = Influx {
        port: influx_port,
        start_ms: (start * 1000.0) as u64,
        end_ms: (end * 1000.0) as u64,
    };
    let d = dashboard("stampede-influxdb.json");
    let tf = influx.time_filter();
    let builtins = [("$timeFilter", tf.as_str()), ("$__interval", "1s")];
    let want: [(&str, &[&str]); 3] = [
        ("testid", &["grafana-stats"]),
        ("scenario", &["browse", "probe"]),
        (
            "endpoint",
            &["product_get", "product_missing", "products_list"],
        ),
    ];
    let vars = variables(&d, "influxdb");
    assert_eq!(vars.len(), want.len());
    for ((name, q), (want_name, want_values)) in vars.iter().zip(want) {
        assert_eq!(name, want_name);
        let series = influx.series(&SUBSTITUTIONS[0].apply(q, &[]));
        let got: Vec<&str> = series
            .iter()
            .flat_map(|s| s["values"].as_array().unwrap().iter())
            .map(|kv| kv[1].as_str().unwrap())
            .collect();
        assert_eq!(got, want_values, "{q}");
    }
    let panels = targets(&d, "query");
    assert!(panels.len() >= 15, "{}", panels.len());
    let mut empty = Vec::new();
    let with_stats = Vars {
        testid: "grafana-stats",
        ..SUBSTITUTIONS[1]
    };
    for vars in [&SUBSTITUTIONS[0], &with_stats] {
        for (title, q) in &panels {
            let q = vars.apply(q, &builtins);
            let points: usize = influx
                .series(&q)
                .iter()
                .flat_map(|s| s["values"].as_array().unwrap().iter())
                .filter(|row| row.as_array().unwrap()[1..].iter().any(|v| !v.is_null()))
                .count();
            if points == 0 {
                empty.push(format!("{title}: {q}"));
            }
        }
    }
    assert!(
        empty.is_empty(),
        "InfluxDB panels without data:\n{}",
        empty.join("\n")
    );
}

/// A test the server runs while Prometheus scrapes it.
const SERVER_SCRIPT: &str = r#"
import http from 'k6/http';
export default function () { http.get(`${__ENV.BASE}/get`); }
"#;

#[test]
fn the_server_dashboard_returns_data_from_a_scraped_server() {
    let Some(prometheus) = servers::binary("prometheus", "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("server");
    std::fs::create_dir_all(&data).unwrap();
    let target = stampede_demo::TestServer::start_in_background();
    let server = harness::ServerProc::start(&data, None, &[]);
    let addr = server.addr.clone();

    // Prometheus scrapes the server's /metrics every second.
    let port = servers::free_port();
    let conf = dir.path().join("prometheus.yml");
    std::fs::write(
        &conf,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: stampede\n    \
             scrape_interval: 1s\n    static_configs:\n      - targets: ['{addr}']\n"
        ),
    )
    .unwrap();
    let mut cmd = Command::new(prometheus);
    cmd.arg(format!("--config.file={}", conf.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"));
    let mut prom_proc = servers::Proc::spawn("prometheus", cmd, &dir.path().join("prom.log"));
    prom_proc.wait_until("ready", Duration::from_secs(60), || {
        servers::http("GET", port, "/-/ready", b"", &[]).is_some_and(|(s, _)| s == 200)
    });
    let start = now_secs() - 1.0;
    let prom = |path: &str| -> Value {
        let (status, body) = http("GET", port, path, b"", &[]).expect("prometheus answers");
        assert_eq!(status, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    };

    // A run, and API traffic (some of it 404s) until Prometheus has taken
    // a few scrapes of it.
    let token = harness::login(&addr, "admin", harness::ADMIN_PASSWORD);
    let scenario = harness::create_scenario(&addr, &token, "dashboard", SERVER_SCRIPT);
    let run = harness::start_run(
        &addr,
        &token,
        scenario,
        serde_json::json!({"vus": 1, "iterations": 20, "env": {"BASE": target.url()}}),
    );
    harness::wait_final(&addr, &token, run);
    let scrapes = format!(
        "/api/v1/query?query={}",
        urlencode("count_over_time(stampede_http_requests_total{status=\"404\"}[1m])")
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for _ in 0..5 {
            harness::call(&addr, "GET", "/api/v1/runs", Some(&token), None);
            harness::call(&addr, "GET", "/api/v1/no-such-thing", Some(&token), None);
        }
        let v = prom(&scrapes);
        let n = v["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|x| x.parse::<f64>().ok())
            .unwrap_or(0.0);
        if n >= 6.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape the server: {v}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let end = now_secs() + 1.0;
    let prom = Prometheus { port, start, end };

    let d = dashboard("stampede-server.json");
    let vars = variables(&d, "prometheus");
    assert_eq!(vars.len(), 1);
    assert_eq!(vars[0].0, "instance");
    assert_eq!(
        prom.label_values(&vars[0].1),
        vec![addr.clone()],
        "{}",
        vars[0].1
    );
    let panels = targets(&d, "expr");
    assert!(panels.len() >= 12, "{}", panels.len());
    let mut empty = Vec::new();
    for instance in [".*", addr.as_str()] {
        for (title, q) in &panels {
            let q = q
                .replace("$instance", instance)
                .replace("$__rate_interval", "5s");
            assert!(!q.contains('$'), "an unknown variable in {q:?}");
            if prom.points(&q) == 0 {
                empty.push(format!("{title}: {q}"));
            }
        }
    }
    assert!(
        empty.is_empty(),
        "server dashboard panels without data:\n{}",
        empty.join("\n")
    );
}
