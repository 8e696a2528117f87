//! `--out experimental-opentelemetry` (k6 v1.1.0's name; `opentelemetry`
//! as later k6 calls it): OTLP metrics over gRPC or HTTP (protobuf), as
//! k6's output exports them through the OpenTelemetry SDK with cumulative
//! temporality.
//!
//! | k6 type | OTLP metric |
//! | --- | --- |
//! | counter | monotonic `Sum` of doubles |
//! | gauge | `Gauge` (the latest value) |
//! | trend | `Histogram` with the SDK's default bounds (0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000), min, max |
//! | rate | integer `Sum`s `<name>.occurred` (non-zero values) and `<name>.total`; with `K6_OTEL_SINGLE_COUNTER_FOR_RATE=true` one `<name>.total` with a `condition` attribute (`zero`/`nonzero`) |
//!
//! Units: `ms` for time, `By` for data. Attributes: the sample's tags
//! (k6's metadata `vu`/`iter` and empty tags such as the root `group`
//! left out, as k6 leaves them out). Resource: `service.name` (`k6`)
//! and `service.version`.
//!
//! Settings (environment, as k6): `K6_OTEL_EXPORTER_TYPE` (`grpc`, the
//! default, or `http`; also `K6_OTEL_EXPORTER_PROTOCOL` `grpc` or
//! `http/protobuf`), `K6_OTEL_GRPC_EXPORTER_ENDPOINT` (`localhost:4317`),
//! `K6_OTEL_GRPC_EXPORTER_INSECURE`, `K6_OTEL_HTTP_EXPORTER_ENDPOINT`
//! (`localhost:4318`), `K6_OTEL_HTTP_EXPORTER_URL_PATH` (`/v1/metrics`),
//! `K6_OTEL_HTTP_EXPORTER_INSECURE` (plain HTTP when true, else HTTPS),
//! `K6_OTEL_EXPORT_INTERVAL` (10s), `K6_OTEL_METRIC_PREFIX`,
//! `K6_OTEL_SERVICE_NAME` (or `OTEL_SERVICE_NAME`), `K6_OTEL_SERVICE_VERSION`,
//! `K6_OTEL_HEADERS` (`k=v,k=v`), `K6_OTEL_TLS_INSECURE_SKIP_VERIFY`,
//! `K6_OTEL_SINGLE_COUNTER_FOR_RATE`.

use std::collections::HashMap;
use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use stampede_metrics::{MetricId, MetricType, Registry, Sample, TagSet, ValueType};
use url::Url;

use super::background::{Background, Worker};
use super::json::METADATA;
use super::net::Client;
use super::proto::Enc;
use super::settings::{Env, Logger};
use super::{Output, OutputContext, OutputError};

/// The OpenTelemetry SDK's default histogram bounds.
const BOUNDS: [f64; 15] = [
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

const GRPC_PATH: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    Grpc,
    Http,
}

#[derive(Clone, Debug)]
struct Config {
    output: &'static str,
    protocol: Protocol,
    url: Url,
    export_interval: Duration,
    prefix: String,
    service_name: String,
    service_version: String,
    headers: Vec<(String, String)>,
    skip_verify: bool,
    single_counter_for_rate: bool,
}

impl Config {
    fn from(output: &'static str, ctx: &OutputContext) -> Result<Config, OutputError> {
        let err = |m: String| OutputError::Config { output, message: m };
        let mut env = Env::new(&ctx.env);
        let protocol = match (
            env.string("K6_OTEL_EXPORTER_PROTOCOL"),
            env.string("K6_OTEL_EXPORTER_TYPE"),
        ) {
            (Some(p), _) => match p.as_str() {
                "grpc" => Protocol::Grpc,
                "http/protobuf" => Protocol::Http,
                other => {
                    return Err(err(format!(
                        "error validating OpenTelemetry output config: unsupported exporter protocol {other:?}, only \"grpc\" and \"http/protobuf\" are supported"
                    )))
                }
            },
            (None, Some(t)) => match t.as_str() {
                "grpc" => Protocol::Grpc,
                "http" => Protocol::Http,
                other => {
                    return Err(err(format!(
                        "error validating OpenTelemetry output config: unsupported exporter type {other:?}, only \"grpc\" and \"http\" are supported"
                    )))
                }
            },
            (None, None) => Protocol::Grpc,
        };
        let export_interval = env
            .duration("K6_OTEL_EXPORT_INTERVAL")
            .unwrap_or(Duration::from_secs(10));
        let _flush = env.duration("K6_OTEL_FLUSH_INTERVAL");
        let skip_verify = env
            .bool("K6_OTEL_TLS_INSECURE_SKIP_VERIFY")
            .unwrap_or(false);
        let single = env.bool("K6_OTEL_SINGLE_COUNTER_FOR_RATE").unwrap_or(false);
        let url = match protocol {
            Protocol::Grpc => {
                let endpoint = env
                    .string("K6_OTEL_GRPC_EXPORTER_ENDPOINT")
                    .unwrap_or_else(|| "localhost:4317".into());
                let insecure = env.bool("K6_OTEL_GRPC_EXPORTER_INSECURE").unwrap_or(false);
                let scheme = if insecure { "http" } else { "https" };
                format!("{scheme}://{endpoint}")
            }
            Protocol::Http => {
                let endpoint = env
                    .string("K6_OTEL_HTTP_EXPORTER_ENDPOINT")
                    .unwrap_or_else(|| "localhost:4318".into());
                if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
                    return Err(err(
                        "error validating OpenTelemetry output config: HTTP exporter endpoint must only be host and port, no scheme"
                            .into(),
                    ));
                }
                let path = env
                    .string("K6_OTEL_HTTP_EXPORTER_URL_PATH")
                    .unwrap_or_else(|| "/v1/metrics".into());
                let insecure = env.bool("K6_OTEL_HTTP_EXPORTER_INSECURE").unwrap_or(false);
                let scheme = if insecure { "http" } else { "https" };
                format!("{scheme}://{endpoint}{path}")
            }
        };
        let mut headers = Vec::new();
        if let Some(raw) = env.string("K6_OTEL_HEADERS") {
            for h in raw.split(',').filter(|h| !h.is_empty()) {
                let Some((k, v)) = h.split_once('=') else {
                    return Err(err(format!(
                        "failed to parse headers: invalid header {h:?}, expected format key=value"
                    )));
                };
                let dec = |s: &str| {
                    percent_encoding::percent_decode_str(s)
                        .decode_utf8_lossy()
                        .into_owned()
                };
                headers.push((dec(k).to_ascii_lowercase(), dec(v)));
            }
        }
        let service_name = env
            .string("K6_OTEL_SERVICE_NAME")
            .or_else(|| env.string("OTEL_SERVICE_NAME"))
            .unwrap_or_else(|| "k6".into());
        let service_version = env
            .string("K6_OTEL_SERVICE_VERSION")
            .unwrap_or_else(|| env!("CARGO_PKG_VERSION").into());
        for unsupported in [
            "K6_OTEL_TLS_CERTIFICATE",
            "K6_OTEL_TLS_CLIENT_CERTIFICATE",
            "K6_OTEL_TLS_CLIENT_KEY",
        ] {
            if env.string(unsupported).is_some() {
                env.problems
                    .push(format!("{unsupported}: not supported by Stampede yet"));
            }
        }
        if !env.problems.is_empty() {
            return Err(err(env.problems.join("; ")));
        }
        if service_name.is_empty() {
            return Err(err(
                "error validating OpenTelemetry output config: providing service name is required"
                    .into(),
            ));
        }
        let url = Url::parse(&url).map_err(|e| err(format!("{url}: {e}")))?;
        if export_interval.is_zero() {
            return Err(err("the export interval must be more than 0".into()));
        }
        Ok(Config {
            output,
            protocol,
            url,
            export_interval,
            prefix: env.string("K6_OTEL_METRIC_PREFIX").unwrap_or_default(),
            service_name,
            service_version,
            headers,
            skip_verify,
            single_counter_for_rate: single,
        })
    }
}

/// The OTLP output.
pub struct OtelOutput {
    cfg: Config,
    offset: i32,
    bg: Option<Background>,
}

impl OtelOutput {
    /// `--out experimental-opentelemetry` or `--out opentelemetry` (`name`).
    pub fn new(name: &'static str, arg: &str, ctx: &OutputContext) -> Result<Self, OutputError> {
        if !arg.is_empty() {
            return Err(OutputError::Config {
                output: name,
                message: "the output takes no argument; configure it with K6_OTEL_* environment variables".into(),
            });
        }
        Ok(OtelOutput {
            cfg: Config::from(name, ctx)?,
            offset: ctx.utc_offset_secs,
            bg: None,
        })
    }
}

/// One stream's cumulative state.
enum Point {
    Sum(f64),
    IntSum(i64),
    Gauge(f64),
    Histogram {
        count: u64,
        sum: f64,
        min: f64,
        max: f64,
        buckets: [u64; BOUNDS.len() + 1],
    },
}

/// One attribute set of an instrument.
struct Stream {
    attrs: Vec<(String, String)>,
    point: Point,
}

struct Instrument {
    name: String,
    unit: &'static str,
    /// In first-seen order.
    streams: Vec<Stream>,
    index: HashMap<TagSet, usize>,
}

struct OtelWorker {
    cfg: Config,
    client: Client,
    log: Logger,
    start_ns: u64,
    /// By name, in first-seen order.
    instruments: Vec<Instrument>,
    by_name: HashMap<String, usize>,
    names: HashMap<MetricId, (String, MetricType, ValueType)>,
}

fn attributes(tags: &TagSet) -> Vec<(String, String)> {
    tags.iter()
        .filter(|(k, v)| !METADATA.contains(k) && !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

impl OtelWorker {
    fn instrument(&mut self, name: String, unit: &'static str) -> &mut Instrument {
        let i = match self.by_name.get(&name) {
            Some(&i) => i,
            None => {
                self.by_name.insert(name.clone(), self.instruments.len());
                self.instruments.push(Instrument {
                    name,
                    unit,
                    streams: Vec::new(),
                    index: HashMap::new(),
                });
                self.instruments.len() - 1
            }
        };
        &mut self.instruments[i]
    }

    fn record(
        &mut self,
        name: String,
        unit: &'static str,
        tags: &TagSet,
        new: fn() -> Point,
        f: impl FnOnce(&mut Point),
    ) {
        let inst = self.instrument(name, unit);
        let i = match inst.index.get(tags) {
            Some(&i) => i,
            None => {
                inst.index.insert(tags.clone(), inst.streams.len());
                inst.streams.push(Stream {
                    attrs: attributes(tags),
                    point: new(),
                });
                inst.streams.len() - 1
            }
        };
        f(&mut inst.streams[i].point);
    }

    fn request(&self, now_ns: u64) -> Vec<u8> {
        let mut req = Enc::new();
        req.message(1, |rm| {
            rm.message(1, |res| {
                let attrs = [
                    ("service.name", self.cfg.service_name.as_str()),
                    ("service.version", self.cfg.service_version.as_str()),
                    ("telemetry.sdk.language", "rust"),
                    ("telemetry.sdk.name", "stampede"),
                    ("telemetry.sdk.version", env!("CARGO_PKG_VERSION")),
                ];
                for (k, v) in attrs {
                    key_value(res, 1, k, v);
                }
            });
            rm.message(2, |sm| {
                sm.message(1, |scope| scope.string(1, "k6"));
                for inst in &self.instruments {
                    sm.message(2, |m| self.metric(m, inst, now_ns));
                }
            });
        });
        req.buf
    }

    fn metric(&self, m: &mut Enc, inst: &Instrument, now_ns: u64) {
        m.string(1, &inst.name);
        m.string(3, inst.unit);
        let kind = inst.streams.first().map(|s| &s.point);
        let point = |dp: &mut Enc, attrs: &[(String, String)], attr_field: u32| {
            dp.fixed64(2, self.start_ns);
            dp.fixed64(3, now_ns);
            for (k, v) in attrs {
                key_value(dp, attr_field, k, v);
            }
        };
        match kind {
            Some(Point::Sum(_)) | Some(Point::IntSum(_)) => m.message(7, |sum| {
                for Stream { attrs, point: p } in &inst.streams {
                    sum.message(1, |dp| {
                        point(dp, attrs, 7);
                        match p {
                            Point::Sum(v) => dp.double_always(4, *v),
                            Point::IntSum(v) => dp.fixed64_always(6, *v as u64),
                            _ => {}
                        }
                    });
                }
                sum.uint(2, 2); // cumulative
                sum.uint(3, 1); // monotonic
            }),
            Some(Point::Gauge(_)) => m.message(5, |g| {
                for Stream { attrs, point: p } in &inst.streams {
                    if let Point::Gauge(v) = p {
                        g.message(1, |dp| {
                            point(dp, attrs, 7);
                            dp.double_always(4, *v);
                        });
                    }
                }
            }),
            Some(Point::Histogram { .. }) => m.message(9, |h| {
                for Stream { attrs, point: p } in &inst.streams {
                    if let Point::Histogram {
                        count,
                        sum,
                        min,
                        max,
                        buckets,
                    } = p
                    {
                        h.message(1, |dp| {
                            point(dp, attrs, 9);
                            dp.fixed64_always(4, *count);
                            dp.double_always(5, *sum);
                            dp.packed_fixed64(6, buckets.iter().copied());
                            dp.packed_fixed64(7, BOUNDS.iter().map(|b| b.to_bits()));
                            if *count > 0 {
                                dp.double_always(11, *min);
                                dp.double_always(12, *max);
                            }
                        });
                    }
                }
                h.uint(2, 2); // cumulative
            }),
            None => {}
        }
    }

    fn export(&mut self) {
        if self.instruments.is_empty() {
            return;
        }
        let body = self.request(now_ns());
        let res = match self.cfg.protocol {
            Protocol::Http => {
                let mut headers = vec![(
                    "content-type".to_owned(),
                    "application/x-protobuf".to_owned(),
                )];
                headers.extend(self.cfg.headers.iter().cloned());
                self.client
                    .request("POST", &self.cfg.url, &headers, body)
                    .and_then(|r| {
                        if (200..300).contains(&r.status) {
                            Ok(())
                        } else {
                            Err(format!(
                                "HTTP {}: {}",
                                r.status,
                                String::from_utf8_lossy(&r.body).trim()
                            ))
                        }
                    })
            }
            Protocol::Grpc => self
                .client
                .grpc(&self.cfg.url, GRPC_PATH, &self.cfg.headers, &body)
                .map(|_| ()),
        };
        if let Err(e) = res {
            self.log.error("failed to upload metrics", &e);
        }
    }
}

fn key_value(e: &mut Enc, field: u32, k: &str, v: &str) {
    e.message(field, |kv| {
        kv.string(1, k);
        kv.message(2, |any| any.string(1, v));
    });
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl Worker for OtelWorker {
    fn batch(&mut self, samples: &[Sample], registry: &Registry) {
        for s in samples {
            let (name, kind, contains) = match self.names.get(&s.metric.id) {
                Some(n) => n.clone(),
                None => {
                    let Some(def) = registry.get_def(s.metric.id) else {
                        continue;
                    };
                    let n = (
                        format!("{}{}", self.cfg.prefix, def.name),
                        def.kind,
                        def.contains,
                    );
                    self.names.insert(s.metric.id, n.clone());
                    n
                }
            };
            let unit = match contains {
                ValueType::Time => "ms",
                ValueType::Data => "By",
                ValueType::Default => "",
            };
            let v = s.value;
            match kind {
                MetricType::Counter => self.record(
                    name,
                    unit,
                    &s.tags,
                    || Point::Sum(0.0),
                    |p| {
                        if let Point::Sum(x) = p {
                            *x += v;
                        }
                    },
                ),
                MetricType::Gauge => self.record(
                    name,
                    unit,
                    &s.tags,
                    || Point::Gauge(0.0),
                    |p| {
                        if let Point::Gauge(x) = p {
                            *x = v;
                        }
                    },
                ),
                MetricType::Trend => self.record(
                    name,
                    unit,
                    &s.tags,
                    || Point::Histogram {
                        count: 0,
                        sum: 0.0,
                        min: f64::INFINITY,
                        max: f64::NEG_INFINITY,
                        buckets: [0; BOUNDS.len() + 1],
                    },
                    |p| {
                        if let Point::Histogram {
                            count,
                            sum,
                            min,
                            max,
                            buckets,
                        } = p
                        {
                            *count += 1;
                            *sum += v;
                            *min = min.min(v);
                            *max = max.max(v);
                            // Bucket i holds (bound[i-1], bound[i]].
                            let i = BOUNDS.partition_point(|b| *b < v);
                            buckets[i] += 1;
                        }
                    },
                ),
                MetricType::Rate => {
                    let inc = |p: &mut Point| {
                        if let Point::IntSum(x) = p {
                            *x += 1;
                        }
                    };
                    if self.cfg.single_counter_for_rate {
                        let cond = if v != 0.0 { "nonzero" } else { "zero" };
                        let tags = s.tags.with("condition", cond);
                        self.record(format!("{name}.total"), "", &tags, || Point::IntSum(0), inc);
                    } else {
                        if v != 0.0 {
                            self.record(
                                format!("{name}.occurred"),
                                "",
                                &s.tags,
                                || Point::IntSum(0),
                                inc,
                            );
                        }
                        self.record(
                            format!("{name}.total"),
                            "",
                            &s.tags,
                            || Point::IntSum(0),
                            inc,
                        );
                    }
                }
            }
        }
    }

    fn tick(&mut self, _: &Registry) {
        self.export();
    }

    fn finish(&mut self, _: &Registry) -> Result<(), String> {
        self.export();
        Ok(())
    }
}

impl Output for OtelOutput {
    fn description(&self) -> String {
        match self.cfg.protocol {
            Protocol::Http => format!("opentelemetry (http, {})", self.cfg.url),
            Protocol::Grpc => {
                let host = self.cfg.url.host_str().unwrap_or("");
                let port = self.cfg.url.port_or_known_default().unwrap_or(4317);
                let insecure = if self.cfg.url.scheme() == "http" {
                    " (insecure)"
                } else {
                    ""
                };
                format!("opentelemetry (grpc{insecure}, {host}:{port})")
            }
        }
    }

    fn start(&mut self) -> io::Result<()> {
        let worker = OtelWorker {
            client: Client::new(self.cfg.skip_verify, Duration::from_secs(10))?.with_user_agent(
                &format!(
                    "stampede OTLP metrics exporter/{}",
                    env!("CARGO_PKG_VERSION")
                ),
            ),
            log: Logger::new(self.cfg.output, self.offset),
            cfg: self.cfg.clone(),
            start_ns: now_ns(),
            instruments: Vec::new(),
            by_name: HashMap::new(),
            names: HashMap::new(),
        };
        self.bg = Some(Background::spawn(
            "out-opentelemetry",
            worker,
            Some(self.cfg.export_interval),
        )?);
        Ok(())
    }

    fn add_samples(&mut self, samples: &[Sample], registry: &Registry) -> io::Result<()> {
        super::background::send_to(&mut self.bg, "opentelemetry", samples, registry)
    }

    fn stop(&mut self) -> io::Result<()> {
        super::background::stop(&mut self.bg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_and_descriptions_as_k6() {
        let d = |env: &[(&str, &str)]| {
            OtelOutput::new(
                "experimental-opentelemetry",
                "",
                &OutputContext::with_env(env),
            )
            .unwrap()
            .description()
        };
        assert_eq!(d(&[]), "opentelemetry (grpc, localhost:4317)");
        assert_eq!(
            d(&[
                ("K6_OTEL_GRPC_EXPORTER_INSECURE", "true"),
                ("K6_OTEL_GRPC_EXPORTER_ENDPOINT", "127.0.0.1:9")
            ]),
            "opentelemetry (grpc (insecure), 127.0.0.1:9)"
        );
        // k6 v1.1.0 with K6_OTEL_EXPORTER_TYPE=http, insecure, 127.0.0.1:38203.
        assert_eq!(
            d(&[
                ("K6_OTEL_EXPORTER_TYPE", "http"),
                ("K6_OTEL_HTTP_EXPORTER_INSECURE", "true"),
                ("K6_OTEL_HTTP_EXPORTER_ENDPOINT", "127.0.0.1:38203")
            ]),
            "opentelemetry (http, http://127.0.0.1:38203/v1/metrics)"
        );
        let err = |env: &[(&str, &str)]| {
            OtelOutput::new("opentelemetry", "", &OutputContext::with_env(env))
                .err()
                .unwrap()
                .to_string()
        };
        assert!(err(&[("K6_OTEL_EXPORTER_TYPE", "udp")]).contains("unsupported exporter type"));
        assert!(err(&[
            ("K6_OTEL_EXPORTER_TYPE", "http"),
            ("K6_OTEL_HTTP_EXPORTER_ENDPOINT", "http://x:1")
        ])
        .contains("must only be host and port"));
        assert!(err(&[("K6_OTEL_HEADERS", "novalue")]).contains("expected format key=value"));
        let c = Config::from(
            "opentelemetry",
            &OutputContext::with_env(&[("K6_OTEL_HEADERS", "X-Key=a%20b,Tenant=t")]),
        )
        .unwrap();
        assert_eq!(
            c.headers,
            [
                ("x-key".to_owned(), "a b".to_owned()),
                ("tenant".to_owned(), "t".to_owned())
            ]
        );
    }

    #[test]
    fn histogram_buckets_are_upper_inclusive() {
        assert_eq!(BOUNDS.partition_point(|b| *b < 0.0), 0);
        assert_eq!(BOUNDS.partition_point(|b| *b < 5.0), 1);
        assert_eq!(BOUNDS.partition_point(|b| *b < 5.1), 2);
        assert_eq!(BOUNDS.partition_point(|b| *b < 20_000.0), 15);
    }
}
