//! The network outputs against real servers: a run's samples go through
//! `from_spec` outputs exactly as the engine hands them over, to a real
//! InfluxDB 1.x and a real Prometheus (remote-write receiver, native
//! histograms), each started here on loopback with a temporary data
//! directory; the stored data is queried back over their HTTP APIs and
//! compared with the run's summary. InfluxDB's v2 API and OTLP (HTTP and
//! gRPC) go to small servers in the test that record what they receive.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use stampede_metrics::{Builtin, Sample, Sink, Store, TagSet, TrendAgg};
use stampede_output::out::OutputContext;
use stampede_output::{from_spec, Report, SummaryInput};

use crate::common::load::{realistic_run, LoadRun};
use crate::common::protodec::Msg;
use crate::common::servers::{
    free_port, http, start_influxdb, start_prometheus, urlencode, Capture,
};

/// The realistic run moved to end two seconds ago (Prometheus refuses
/// samples far from now), with an extra tag on every sample.
fn recent_run(tag: (&str, &str)) -> LoadRun {
    let mut run = realistic_run();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let shift = now - 2_000_000_000 - run.end_ns;
    for s in &mut run.samples {
        s.time_ns = s.time_ns.wrapping_add(shift);
        s.tags = s.tags.with(tag.0, tag.1);
    }
    run.start_ns = run.start_ns.wrapping_add(shift);
    run.end_ns = run.end_ns.wrapping_add(shift);
    run
}

fn store(samples: &[Sample]) -> Store {
    let mut sink = Sink::new();
    for s in samples {
        sink.add(s.metric, &s.tags, s.value, s.time_ns);
    }
    let mut store = Store::new();
    store.apply(&sink.take(0, 1));
    store
}

/// The run's `handleSummary` metrics, as the end-of-test summary has them.
fn summary(run: &LoadRun) -> Value {
    let store = store(&run.samples);
    let report = Report::new(SummaryInput {
        store: &store,
        registry: &run.registry,
        thresholds: None,
        duration: Duration::from_nanos(run.end_ns - run.start_ns),
        trend_stats: vec![],
        time_unit: None,
        setup_data: None,
        no_color: true,
        stdout_tty: false,
        stderr_tty: false,
    });
    report.handle_summary_data()["metrics"].clone()
}

fn trend(run: &LoadRun, selector: &TagSet) -> TrendAgg {
    match store(&run.samples).get(Builtin::HttpReqDuration.id(), selector) {
        Some(stampede_metrics::Aggregate::Trend(t)) => t,
        other => panic!("{other:?}"),
    }
}

/// Sends the run through `--out SPEC` with `env`, in engine-sized batches.
fn send(spec: &str, env: &[(&str, &str)], run: &LoadRun) {
    let ctx = OutputContext {
        env: env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..OutputContext::default()
    };
    let mut out = from_spec(spec, &ctx).unwrap();
    out.start().unwrap();
    for batch in run.samples.chunks(2000) {
        out.add_samples(batch, &run.registry).unwrap();
    }
    out.stop().unwrap();
}

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-12)
}

#[test]
fn influxdb_1x_stores_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_server, port)) = start_influxdb(dir.path()) else {
        return;
    };

    let run = recent_run(("testid", "influx"));
    send(
        &format!("influxdb=http://127.0.0.1:{port}/k6run"),
        &[("K6_INFLUXDB_PUSH_INTERVAL", "200ms")],
        &run,
    );
    let query = |q: &str| -> Value {
        let path = format!("/query?db=k6run&epoch=ns&q={}", urlencode(q));
        let (status, body) = http("GET", port, &path, b"", &[]).expect("influxd answers");
        assert_eq!(status, 200, "{q}: {body}");
        serde_json::from_str(&body).unwrap()
    };
    let values = |v: &Value| v["results"][0]["series"][0]["values"][0].clone();
    let m = summary(&run);

    // Counters and rates: every sample stored.
    let v = values(&query(
        "SELECT count(\"value\"), sum(\"value\") FROM \"http_reqs\"",
    ));
    assert_eq!(v[1], m["http_reqs"]["values"]["count"], "{v}");
    assert_eq!(v[2], m["http_reqs"]["values"]["count"], "{v}");
    let v = values(&query(
        "SELECT sum(\"value\"), count(\"value\") FROM \"checks\"",
    ));
    let checks = &m["checks"]["values"];
    assert_eq!(v[1], checks["passes"]);
    assert_eq!(
        v[2].as_f64().unwrap(),
        checks["passes"].as_f64().unwrap() + checks["fails"].as_f64().unwrap()
    );
    let v = values(&query("SELECT sum(\"value\") FROM \"data_received\""));
    assert_eq!(v[1], m["data_received"]["values"]["count"]);
    // Trends: the summary's exact statistics.
    let d = &m["http_req_duration"]["values"];
    let v = values(&query(
        "SELECT count(\"value\"), min(\"value\"), max(\"value\"), mean(\"value\") FROM \"http_req_duration\"",
    ));
    assert_eq!(v[1], m["http_reqs"]["values"]["count"]);
    assert_eq!(v[2], d["min"]);
    assert_eq!(v[3], d["max"]);
    assert!(
        close(v[4].as_f64().unwrap(), d["avg"].as_f64().unwrap(), 1e-9),
        "{v} vs {d}"
    );
    // Gauges: the last value.
    let v = values(&query("SELECT last(\"value\") FROM \"vus\""));
    assert_eq!(v[1], m["vus"]["values"]["value"]);
    // k6's layout: tags as tags, url as a string field, metadata left out.
    let r = query("SHOW TAG KEYS FROM \"http_req_duration\"");
    let keys: Vec<&str> = r["results"][0]["series"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k[0].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "expected_response",
            "group",
            "method",
            "name",
            "proto",
            "scenario",
            "status",
            "testid"
        ]
    );
    let r = query("SHOW FIELD KEYS FROM \"http_req_duration\"");
    assert_eq!(
        r["results"][0]["series"][0]["values"],
        serde_json::json!([["url", "string"], ["value", "float"]])
    );
    // Per endpoint, as the report's table.
    let r = query("SELECT count(\"value\") FROM \"http_req_duration\" GROUP BY \"name\"");
    let series = r["results"][0]["series"].as_array().unwrap();
    assert_eq!(series.len(), 5);
    for s in series {
        let name = s["tags"]["name"].as_str().unwrap();
        let want = trend(&run, &TagSet::from_pairs([("name", name)])).count();
        assert_eq!(s["values"][0][1].as_u64(), Some(want), "{name}");
    }
}

#[test]
fn prometheus_stores_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let Some((server, port)) = start_prometheus(dir.path()) else {
        return;
    };
    let url = format!("http://127.0.0.1:{port}/api/v1/write");

    // Trends as gauges of their statistics.
    let run = recent_run(("testid", "gauges"));
    send(
        "experimental-prometheus-rw",
        &[
            ("K6_PROMETHEUS_RW_SERVER_URL", url.as_str()),
            ("K6_PROMETHEUS_RW_PUSH_INTERVAL", "300ms"),
            (
                "K6_PROMETHEUS_RW_TREND_STATS",
                "p(95),p(99),min,max,avg,med,count,sum",
            ),
        ],
        &run,
    );
    // Trends as native histograms.
    let native = recent_run(("testid", "native"));
    send(
        "experimental-prometheus-rw",
        &[
            ("K6_PROMETHEUS_RW_SERVER_URL", url.as_str()),
            ("K6_PROMETHEUS_RW_PUSH_INTERVAL", "300ms"),
            ("K6_PROMETHEUS_RW_TREND_AS_NATIVE_HISTOGRAM", "true"),
        ],
        &native,
    );
    let at = format!("{:.3}", native.end_ns as f64 / 1e9);
    let query = |q: &str| -> Vec<Value> {
        let path = format!("/api/v1/query?query={}&time={at}", urlencode(q));
        let (status, body) = http("GET", port, &path, b"", &[]).expect("prometheus answers");
        assert_eq!(status, 200, "{q}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["data"]["result"].as_array().unwrap().clone()
    };
    let scalar = |q: &str| -> f64 {
        let r = query(q);
        assert_eq!(r.len(), 1, "{q}: {r:?}");
        r[0]["value"][1].as_str().unwrap().parse().unwrap()
    };
    let m = summary(&run);
    let count = m["http_reqs"]["values"]["count"].as_f64().unwrap();
    let d = &m["http_req_duration"]["values"];

    // k6's names: counters `_total`, rates `_rate`, trends `_<stat>` in seconds.
    assert_eq!(scalar("sum(k6_http_reqs_total{testid=\"gauges\"})"), count);
    assert_eq!(
        scalar("sum(k6_http_req_duration_count{testid=\"gauges\"})"),
        count
    );
    assert_eq!(
        scalar("sum(k6_data_sent_total{testid=\"gauges\"})"),
        m["data_sent"]["values"]["count"].as_f64().unwrap()
    );
    assert_eq!(
        scalar("max(k6_http_req_duration_max{testid=\"gauges\"})"),
        d["max"].as_f64().unwrap() / 1000.0
    );
    assert_eq!(
        scalar("min(k6_http_req_duration_min{testid=\"gauges\"})"),
        d["min"].as_f64().unwrap() / 1000.0
    );
    assert!(close(
        scalar("sum(k6_http_req_duration_sum{testid=\"gauges\"}) / sum(k6_http_req_duration_count{testid=\"gauges\"})"),
        d["avg"].as_f64().unwrap() / 1000.0,
        1e-9
    ));
    assert_eq!(
        scalar("k6_vus{testid=\"gauges\"}"),
        m["vus"]["values"]["value"].as_f64().unwrap()
    );
    // One series: its labels and its p95 as the summary computes a p95.
    let sel = "name=\"products_list\",status=\"200\",testid=\"gauges\"";
    let r = query(&format!("k6_http_req_duration_p95{{{sel}}}"));
    assert_eq!(r.len(), 1, "{r:?}");
    let labels: Vec<&str> = r[0]["metric"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        labels,
        [
            "__name__",
            "expected_response",
            "method",
            "name",
            "proto",
            "scenario",
            "status",
            "testid",
            "url"
        ]
    );
    let t = trend(
        &run,
        &TagSet::from_pairs([
            ("name", "products_list"),
            ("status", "200"),
            ("testid", "gauges"),
        ]),
    );
    let p95: f64 = r[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert_eq!(p95, t.percentile(95.0) / 1000.0);
    let failed =
        scalar("k6_http_req_failed_rate{name=\"orders_create\",status=\"500\",testid=\"gauges\"}");
    assert_eq!(failed, 1.0);

    // Native histograms: count and sum exact, quantiles within a bucket.
    let hist = "sum(k6_http_req_duration_seconds{testid=\"native\"})";
    assert_eq!(scalar(&format!("histogram_count({hist})")), count);
    assert!(close(
        scalar(&format!("histogram_sum({hist})")),
        d["avg"].as_f64().unwrap() * count / 1000.0,
        1e-9
    ));
    let q95 = scalar(&format!("histogram_quantile(0.95, {hist})"));
    let want = d["p(95)"].as_f64().unwrap() / 1000.0;
    assert!(close(q95, want, 0.1), "p95 {q95} vs the summary's {want}");
    assert!(query("k6_http_req_duration_p99{testid=\"native\"}").is_empty());
    assert!(!server.log().contains("level=error"), "{}", server.log());
}

#[test]
fn influxdb_v2_api_gets_org_bucket_and_token() {
    let cap = Capture::start(204);
    let run = realistic_run();
    send(
        &format!("xk6-influxdb=http://127.0.0.1:{}/loadtests", cap.port),
        &[
            ("K6_INFLUXDB_ORGANIZATION", "acme"),
            ("K6_INFLUXDB_TOKEN", "s3cret"),
            ("K6_INFLUXDB_PUSH_INTERVAL", "100ms"),
        ],
        &run,
    );
    let reqs = cap.take();
    assert!(!reqs.is_empty());
    let mut lines = 0;
    for r in &reqs {
        assert_eq!(
            r.line,
            "POST /api/v2/write?org=acme&bucket=loadtests&precision=ns HTTP/1.1"
        );
        assert_eq!(r.header("authorization"), Some("Token s3cret"));
        lines += r.body.iter().filter(|b| **b == b'\n').count();
    }
    assert_eq!(lines, run.samples.len());
}

/// Sums OTLP data points of metric `name` in an export request.
fn otlp_metric(req: &Msg, name: &str) -> Option<Msg> {
    req.msgs(1)
        .iter()
        .flat_map(|rm| rm.msgs(2))
        .flat_map(|sm| sm.msgs(2))
        .find(|m| m.string(1) == name)
}

fn check_otlp(body: &[u8], run: &LoadRun) {
    let req = Msg::parse(body);
    let m = summary(run);
    let res = req.msgs(1)[0].msg(1).unwrap();
    let attrs: Vec<(String, String)> = res
        .msgs(1)
        .iter()
        .map(|kv| (kv.string(1), kv.msg(2).unwrap().string(1)))
        .collect();
    assert!(
        attrs.contains(&("service.name".into(), "k6".into())),
        "{attrs:?}"
    );
    // A counter: a cumulative monotonic sum of doubles.
    let reqs = otlp_metric(&req, "http_reqs").unwrap();
    let sum = reqs.msg(7).unwrap();
    assert_eq!((sum.uint(2), sum.uint(3)), (2, 1));
    let total: f64 = sum.msgs(1).iter().map(|dp| dp.double(4).unwrap()).sum();
    assert_eq!(total, m["http_reqs"]["values"]["count"].as_f64().unwrap());
    // A trend: histograms in ms, with exact count, min and max.
    let dur = otlp_metric(&req, "http_req_duration").unwrap();
    assert_eq!(dur.string(3), "ms");
    let points = dur.msg(9).unwrap().msgs(1);
    let count: u64 = points.iter().map(|dp| dp.uint(4)).sum();
    assert_eq!(
        count as f64,
        m["http_reqs"]["values"]["count"].as_f64().unwrap()
    );
    let max = points
        .iter()
        .map(|dp| dp.double(12).unwrap())
        .fold(f64::MIN, f64::max);
    assert_eq!(
        max,
        m["http_req_duration"]["values"]["max"].as_f64().unwrap()
    );
    for dp in &points {
        let buckets = dp.packed_u64(6);
        assert_eq!(buckets.len(), 16);
        assert_eq!(buckets.iter().sum::<u64>(), dp.uint(4));
        let keys: Vec<String> = dp.msgs(9).iter().map(|kv| kv.string(1)).collect();
        assert!(
            keys.contains(&"name".to_owned()) && !keys.contains(&"vu".to_owned()),
            "{keys:?}"
        );
    }
    // A rate: `.occurred` and `.total` integer counters.
    let ints = |name: &str| -> i64 {
        otlp_metric(&req, name)
            .unwrap()
            .msg(7)
            .unwrap()
            .msgs(1)
            .iter()
            .map(|dp| dp.uint(6) as i64)
            .sum()
    };
    let checks = &m["checks"]["values"];
    assert_eq!(ints("checks.occurred"), checks["passes"].as_i64().unwrap());
    assert_eq!(
        ints("checks.total"),
        checks["passes"].as_i64().unwrap() + checks["fails"].as_i64().unwrap()
    );
    // A gauge: the last value.
    let vus = otlp_metric(&req, "vus").unwrap().msg(5).unwrap().msgs(1);
    assert_eq!(vus[0].double(4), m["vus"]["values"]["value"].as_f64());
}

#[test]
fn otlp_over_http() {
    let cap = Capture::start(200);
    let run = realistic_run();
    let endpoint = format!("127.0.0.1:{}", cap.port);
    send(
        "experimental-opentelemetry",
        &[
            ("K6_OTEL_EXPORTER_TYPE", "http"),
            ("K6_OTEL_HTTP_EXPORTER_INSECURE", "true"),
            ("K6_OTEL_HTTP_EXPORTER_ENDPOINT", endpoint.as_str()),
            ("K6_OTEL_EXPORT_INTERVAL", "100ms"),
            ("K6_OTEL_HEADERS", "X-Tenant=team%20a"),
        ],
        &run,
    );
    let reqs = cap.take();
    let last = reqs.last().expect("an export");
    assert_eq!(last.line, "POST /v1/metrics HTTP/1.1");
    assert_eq!(last.header("content-type"), Some("application/x-protobuf"));
    assert_eq!(last.header("x-tenant"), Some("team a"));
    // Cumulative: the last export has the whole run.
    check_otlp(&last.body, &run);
}

#[test]
fn otlp_over_grpc() {
    let (port, bodies) = grpc_server::start();
    let run = realistic_run();
    let endpoint = format!("127.0.0.1:{port}");
    send(
        "opentelemetry",
        &[
            ("K6_OTEL_GRPC_EXPORTER_INSECURE", "true"),
            ("K6_OTEL_GRPC_EXPORTER_ENDPOINT", endpoint.as_str()),
            ("K6_OTEL_EXPORT_INTERVAL", "100ms"),
            ("K6_OTEL_HEADERS", "authorization=Bearer%20x"),
        ],
        &run,
    );
    let got = bodies.lock().unwrap().clone();
    let (path, auth, body) = got.last().expect("an export").clone();
    assert_eq!(
        path,
        "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
    );
    assert_eq!(auth.as_deref(), Some("Bearer x"));
    check_otlp(&body, &run);
}

/// An OTLP/gRPC metrics receiver (HTTP/2 with prior knowledge).
mod grpc_server {
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::sync::{Arc, Mutex};
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use http_body_util::BodyExt;
    use hyper::body::Frame;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    pub type Received = Arc<Mutex<Vec<(String, Option<String>, Vec<u8>)>>>;

    struct Reply {
        data: Option<Bytes>,
        trailers: Option<http::HeaderMap>,
    }

    impl hyper::body::Body for Reply {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            if let Some(d) = self.data.take() {
                return Poll::Ready(Some(Ok(Frame::data(d))));
            }
            if let Some(t) = self.trailers.take() {
                return Poll::Ready(Some(Ok(Frame::trailers(t))));
            }
            Poll::Ready(None)
        }
    }

    pub fn start() -> (u16, Received) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let received: Received = Arc::default();
        let store = received.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        return;
                    };
                    let store = store.clone();
                    tokio::spawn(async move {
                        let svc = hyper::service::service_fn(
                            move |req: http::Request<hyper::body::Incoming>| {
                                let store = store.clone();
                                async move {
                                    let path = req.uri().path().to_owned();
                                    let auth = req
                                        .headers()
                                        .get("authorization")
                                        .map(|v| v.to_str().unwrap().to_owned());
                                    let body = req.into_body().collect().await.unwrap().to_bytes();
                                    // Strip the 5-byte gRPC frame header.
                                    store.lock().unwrap().push((path, auth, body[5..].to_vec()));
                                    let mut trailers = http::HeaderMap::new();
                                    trailers.insert("grpc-status", "0".parse().unwrap());
                                    let reply = Reply {
                                        // An empty ExportMetricsServiceResponse.
                                        data: Some(Bytes::from_static(&[0, 0, 0, 0, 0])),
                                        trailers: Some(trailers),
                                    };
                                    Ok::<_, Infallible>(
                                        http::Response::builder()
                                            .header("content-type", "application/grpc")
                                            .body(reply)
                                            .unwrap(),
                                    )
                                }
                            },
                        );
                        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(stream), svc)
                            .await;
                    });
                }
            });
        });
        (port, received)
    }
}

#[test]
fn an_unreachable_server_never_holds_the_run_up() {
    let run = realistic_run();
    let port = free_port(); // nothing listens there
    let started = std::time::Instant::now();
    for spec in [
        format!("influxdb=http://127.0.0.1:{port}/k6"),
        format!("experimental-prometheus-rw=http://127.0.0.1:{port}/api/v1/write"),
    ] {
        let ctx = OutputContext::default();
        let mut out = from_spec(&spec, &ctx).unwrap();
        out.start().unwrap();
        let t = std::time::Instant::now();
        for batch in run.samples.chunks(2000) {
            out.add_samples(batch, &run.registry).unwrap();
        }
        assert!(
            t.elapsed() < Duration::from_secs(2),
            "{spec}: add_samples waited"
        );
        // Failures are logged, not returned: the run's exit code is not the output's.
        out.stop().unwrap();
    }
    assert!(started.elapsed() < Duration::from_secs(20));
}
