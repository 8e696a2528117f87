//! `--out influxdb=http://host:8086/db` (InfluxDB 1.x, k6's built-in
//! output) and `--out xk6-influxdb=http://host:8086/bucket` (InfluxDB 2.x,
//! k6's `xk6-output-influxdb` extension): every sample as a line of the
//! line protocol, as k6 writes them.
//!
//! A point per sample: the metric name as measurement, the sample's tags as
//! tags (k6's metadata `vu` and `iter` left out, as k6 leaves them out),
//! the tags named in `tagsAsFields` moved to fields (default: `url`, as a
//! string), and the value in the `value` field, at the sample's time:
//!
//! ```text
//! http_req_duration,expected_response=true,method=GET,name=home,proto=HTTP/1.1,scenario=default,status=200 url="http://x/",value=0.58342 1795473490195519956
//! ```
//!
//! Samples are converted and sent from the output's thread every push
//! interval (1s); a failed write is logged and dropped, as in k6.
//!
//! Settings, as k6 (URL query > environment > defaults):
//!
//! | v1 (`influxdb`) | v2 (`xk6-influxdb`) | default |
//! | --- | --- | --- |
//! | URL `http://user:pass@host:port/db`, `K6_INFLUXDB_ADDR`, `K6_INFLUXDB_DB`, `K6_INFLUXDB_USERNAME`, `K6_INFLUXDB_PASSWORD` | URL `http://host:port/bucket`, `K6_INFLUXDB_ADDR`, `K6_INFLUXDB_ORGANIZATION`, `K6_INFLUXDB_BUCKET` (required), `K6_INFLUXDB_TOKEN` | `http://localhost:8086`, db `k6` |
//! | `K6_INFLUXDB_PUSH_INTERVAL`, `?pushInterval=` | `K6_INFLUXDB_PUSH_INTERVAL` | `1s` |
//! | `K6_INFLUXDB_INSECURE`, `?insecure=` | `K6_INFLUXDB_INSECURE` | `false` |
//! | `K6_INFLUXDB_TAGS_AS_FIELDS`, `?tagsAsFields=` | `K6_INFLUXDB_TAGS_AS_FIELDS` | `vu,iter,url` / `vu:int,iter:int,url` |
//! | `K6_INFLUXDB_PRECISION`, `?precision=` (`ns`, `u`, `ms`, `s`, `m`, `h`) | `K6_INFLUXDB_PRECISION` (a duration: `1ms`) | `ns` |
//! | `K6_INFLUXDB_RETENTION`, `K6_INFLUXDB_CONSISTENCY` (and in the query) | - | - |

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io;
use std::time::Duration;

use stampede_metrics::{Registry, Sample, TagSet};
use url::Url;

use super::background::{Background, Worker};
use super::json::is_metadata;
use super::net::Client;
use super::settings::{Env, Logger};
use super::{Output, OutputContext, OutputError};

/// Which InfluxDB API.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    V1,
    V2,
}

/// How a tag becomes a field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FieldKind {
    String,
    Int,
    Float,
    Bool,
}

#[derive(Clone, Debug)]
struct Config {
    api: Api,
    addr: Url,
    db: String,
    org: String,
    token: Option<String>,
    username: Option<String>,
    password: Option<String>,
    retention: String,
    consistency: String,
    insecure: bool,
    push_interval: Duration,
    /// Divides nanosecond timestamps.
    precision_div: u64,
    precision: String,
    tags_as_fields: Vec<(String, FieldKind)>,
}

fn config_error(output: &'static str, message: impl Into<String>) -> OutputError {
    OutputError::Config {
        output,
        message: message.into(),
    }
}

fn field_kinds(
    output: &'static str,
    list: &[String],
) -> Result<Vec<(String, FieldKind)>, OutputError> {
    let mut out: Vec<(String, FieldKind)> = Vec::new();
    for item in list {
        let (name, kind) = item.split_once(':').unwrap_or((item, "string"));
        if out.iter().any(|(n, _)| n == name) {
            return Err(config_error(
                output,
                format!("a tag name ({name}) shows up more than once in InfluxDB field type configurations"),
            ));
        }
        let kind = match kind {
            "string" | "" => FieldKind::String,
            "int" => FieldKind::Int,
            "float" => FieldKind::Float,
            "bool" => FieldKind::Bool,
            other => {
                return Err(config_error(
                    output,
                    format!(
                        "an invalid type ({other}) is specified for an InfluxDB field ({name})"
                    ),
                ))
            }
        };
        out.push((name.to_owned(), kind));
    }
    Ok(out)
}

/// v1 precision strings (`n`/`ns`, `u`/`us`, `ms`, `s`, `m`, `h`).
fn precision_v1(s: &str) -> Option<(u64, &'static str)> {
    Some(match s {
        "" | "n" | "ns" => (1, "ns"),
        "u" | "us" | "µs" => (1_000, "u"),
        "ms" => (1_000_000, "ms"),
        "s" => (1_000_000_000, "s"),
        "m" => (60_000_000_000, "m"),
        "h" => (3_600_000_000_000, "h"),
        _ => return None,
    })
}

/// v2 precision from a duration (`1ms`): the v2 API knows ns, us, ms and s.
fn precision_v2(d: Duration) -> (u64, &'static str) {
    let ns = d.as_nanos();
    if ns >= 1_000_000_000 {
        (1_000_000_000, "s")
    } else if ns >= 1_000_000 {
        (1_000_000, "ms")
    } else if ns >= 1_000 {
        (1_000, "us")
    } else {
        (1, "ns")
    }
}

impl Config {
    fn from(api: Api, arg: &str, ctx: &OutputContext) -> Result<Config, OutputError> {
        let output = match api {
            Api::V1 => "influxdb",
            Api::V2 => "xk6-influxdb",
        };
        let mut env = Env::new(&ctx.env);
        let mut addr = env
            .string("K6_INFLUXDB_ADDR")
            .unwrap_or_else(|| "http://localhost:8086".into());
        let mut db = match api {
            Api::V1 => env.string("K6_INFLUXDB_DB").unwrap_or_else(|| "k6".into()),
            Api::V2 => env.string("K6_INFLUXDB_BUCKET").unwrap_or_default(),
        };
        let mut username = env.string("K6_INFLUXDB_USERNAME");
        let mut password = env.string("K6_INFLUXDB_PASSWORD");
        let mut insecure = env.bool("K6_INFLUXDB_INSECURE").unwrap_or(false);
        let mut push_interval = env
            .duration("K6_INFLUXDB_PUSH_INTERVAL")
            .unwrap_or(Duration::from_secs(1));
        let mut retention = env.string("K6_INFLUXDB_RETENTION").unwrap_or_default();
        let mut consistency = env.string("K6_INFLUXDB_CONSISTENCY").unwrap_or_default();
        let mut tags = env
            .list("K6_INFLUXDB_TAGS_AS_FIELDS")
            .unwrap_or_else(|| match api {
                Api::V1 => vec!["vu".into(), "iter".into(), "url".into()],
                Api::V2 => vec!["vu:int".into(), "iter:int".into(), "url".into()],
            });
        let mut precision = (1, "ns");
        if let Some(p) = env.string("K6_INFLUXDB_PRECISION") {
            match api {
                Api::V1 => match precision_v1(&p) {
                    Some(v) => precision = v,
                    None => env
                        .problems
                        .push(format!("K6_INFLUXDB_PRECISION: unknown precision {p:?}")),
                },
                Api::V2 => {
                    if let Some(d) = env.duration("K6_INFLUXDB_PRECISION") {
                        precision = precision_v2(d);
                    }
                }
            }
        }
        if !arg.is_empty() {
            let u = Url::parse(arg).map_err(|e| config_error(output, format!("{arg}: {e}")))?;
            if u.host_str().is_some() {
                let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
                addr = format!("{}://{}{port}", u.scheme(), u.host_str().unwrap_or(""));
            }
            let path = u.path().trim_start_matches('/');
            if !path.is_empty() {
                db = percent_encoding::percent_decode_str(path)
                    .decode_utf8_lossy()
                    .into_owned();
            }
            if !u.username().is_empty() {
                username = Some(u.username().to_owned());
                password = Some(u.password().unwrap_or("").to_owned());
            }
            if api == Api::V1 {
                let mut tags_in_query: Vec<String> = Vec::new();
                for (k, v) in u.query_pairs() {
                    match &*k {
                        "insecure" => match &*v {
                            "" => {}
                            "true" => insecure = true,
                            "false" => insecure = false,
                            other => {
                                return Err(config_error(
                                    output,
                                    format!("insecure must be true or false, not {other}"),
                                ))
                            }
                        },
                        "payload_size" => {
                            v.parse::<u64>()
                                .map_err(|e| config_error(output, e.to_string()))?;
                        }
                        "precision" => {
                            precision = precision_v1(&v).ok_or_else(|| {
                                config_error(output, format!("unknown precision {v:?}"))
                            })?;
                        }
                        "retention" => retention = v.into_owned(),
                        "consistency" => consistency = v.into_owned(),
                        "pushInterval" => {
                            push_interval =
                                super::settings::parse_duration(&v).ok_or_else(|| {
                                    config_error(
                                        output,
                                        format!("pushInterval: {v:?} is not a duration"),
                                    )
                                })?;
                        }
                        "concurrentWrites" => {
                            v.parse::<u64>()
                                .map_err(|e| config_error(output, e.to_string()))?;
                        }
                        "tagsAsFields" => tags_in_query.push(v.into_owned()),
                        other => {
                            return Err(config_error(
                                output,
                                format!("unknown query parameter: {other}"),
                            ))
                        }
                    }
                }
                if !tags_in_query.is_empty() {
                    tags = tags_in_query;
                }
            }
        }
        if env.string("K6_INFLUXDB_PROXY").is_some() {
            env.problems
                .push("K6_INFLUXDB_PROXY: proxies are not supported by Stampede yet".into());
        }
        if !env.problems.is_empty() {
            return Err(config_error(output, env.problems.join("; ")));
        }
        if addr.starts_with("udp://") {
            return Err(config_error(
                output,
                "UDP is not supported by Stampede's InfluxDB output; use http:// or https://",
            ));
        }
        let addr = Url::parse(&addr).map_err(|e| config_error(output, format!("{addr}: {e}")))?;
        if !matches!(addr.scheme(), "http" | "https") {
            return Err(config_error(
                output,
                format!("{addr}: unsupported scheme (use http:// or https://)"),
            ));
        }
        if api == Api::V2 && db.is_empty() {
            return Err(config_error(output, "the Bucket option is required"));
        }
        if push_interval.is_zero() {
            return Err(config_error(
                output,
                "the push interval must be more than 0",
            ));
        }
        Ok(Config {
            api,
            addr,
            db,
            org: env.string("K6_INFLUXDB_ORGANIZATION").unwrap_or_default(),
            token: env.string("K6_INFLUXDB_TOKEN"),
            username,
            password,
            retention,
            consistency,
            insecure,
            push_interval,
            precision_div: precision.0,
            precision: precision.1.to_owned(),
            tags_as_fields: field_kinds(output, &tags)?,
        })
    }

    fn write_url(&self) -> Url {
        let mut u = self.addr.clone();
        match self.api {
            Api::V1 => {
                u.set_path("/write");
                u.query_pairs_mut()
                    .append_pair("consistency", &self.consistency)
                    .append_pair("db", &self.db)
                    .append_pair("precision", &self.precision)
                    .append_pair("rp", &self.retention);
            }
            Api::V2 => {
                u.set_path("/api/v2/write");
                u.query_pairs_mut()
                    .append_pair("org", &self.org)
                    .append_pair("bucket", &self.db)
                    .append_pair("precision", &self.precision);
            }
        }
        u
    }

    fn headers(&self) -> Vec<(String, String)> {
        let mut h = vec![(
            "content-type".to_owned(),
            "text/plain; charset=utf-8".to_owned(),
        )];
        match self.api {
            Api::V1 => {
                if let Some(user) = self.username.as_ref().filter(|u| !u.is_empty()) {
                    use base64::Engine as _;
                    let pass = self.password.as_deref().unwrap_or("");
                    let cred =
                        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
                    h.push(("authorization".into(), format!("Basic {cred}")));
                }
            }
            Api::V2 => {
                if let Some(t) = &self.token {
                    h.push(("authorization".into(), format!("Token {t}")));
                }
            }
        }
        h
    }
}

/// The InfluxDB output (v1 or v2).
pub struct InfluxOutput {
    cfg: Config,
    offset: i32,
    bg: Option<Background>,
}

impl InfluxOutput {
    /// `--out influxdb=ARG` (InfluxDB 1.x).
    pub fn v1(arg: &str, ctx: &OutputContext) -> Result<Self, OutputError> {
        Ok(InfluxOutput {
            cfg: Config::from(Api::V1, arg, ctx)?,
            offset: ctx.utc_offset_secs,
            bg: None,
        })
    }

    /// `--out xk6-influxdb=ARG` (InfluxDB 2.x).
    pub fn v2(arg: &str, ctx: &OutputContext) -> Result<Self, OutputError> {
        Ok(InfluxOutput {
            cfg: Config::from(Api::V2, arg, ctx)?,
            offset: ctx.utc_offset_secs,
            bg: None,
        })
    }
}

/// Bodies are split past this size.
const MAX_BODY: usize = 8 << 20;

struct InfluxWorker {
    cfg: Config,
    client: Client,
    log: Logger,
    lines: String,
    created_db: bool,
    cache: HashMap<TagSet, (String, String, String)>,
    names: Vec<Option<String>>,
}

impl InfluxWorker {
    /// Escaped tags (`,k=v...`) and the fields before and after `value`.
    fn tag_parts(&mut self, tags: &TagSet) -> &(String, String, String) {
        if self.cache.len() > 16 * 1024 {
            self.cache.clear();
        }
        let fields_of = &self.cfg.tags_as_fields;
        self.cache.entry(tags.clone()).or_insert_with(|| {
            let mut tag_part = String::new();
            let mut fields: Vec<(String, String)> = Vec::new();
            for (k, v) in tags.iter() {
                if is_metadata(k) || v.is_empty() || k.is_empty() {
                    continue;
                }
                if let Some((_, kind)) = fields_of.iter().find(|(n, _)| n == k) {
                    fields.push((escape_key(k), field_value(v, *kind)));
                    continue;
                }
                tag_part.push(',');
                tag_part.push_str(&escape_key(k));
                tag_part.push('=');
                tag_part.push_str(&escape_key(v));
            }
            fields.sort();
            let join = |fs: &[(String, String)]| {
                fs.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let split = fields.partition_point(|(k, _)| k.as_str() < "value");
            (tag_part, join(&fields[..split]), join(&fields[split..]))
        })
    }

    fn flush(&mut self) {
        if !self.created_db && self.cfg.api == Api::V1 {
            self.created_db = true;
            // As k6: harmless when it fails (no admin rights, or it exists).
            let mut u = self.cfg.addr.clone();
            u.set_path("/query");
            u.query_pairs_mut().append_pair(
                "q",
                &format!("CREATE DATABASE \"{}\"", self.cfg.db.replace('"', "\\\"")),
            );
            let _ = self
                .client
                .request("POST", &u, &self.cfg.headers(), Vec::new());
        }
        if self.lines.is_empty() {
            return;
        }
        let started = std::time::Instant::now();
        let text = std::mem::take(&mut self.lines);
        let url = self.cfg.write_url();
        let headers = self.cfg.headers();
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let cut = if rest.len() <= MAX_BODY {
                rest.len()
            } else {
                rest[..MAX_BODY].rfind('\n').map_or(rest.len(), |i| i + 1)
            };
            let (chunk, tail) = rest.split_at(cut);
            rest = tail;
            match self
                .client
                .request("POST", &url, &headers, chunk.as_bytes().to_vec())
            {
                Ok(r) if (200..300).contains(&r.status) => {}
                Ok(r) => {
                    let body = String::from_utf8_lossy(&r.body);
                    let mut msg = "Couldn't write stats".to_owned();
                    if r.status == 401 && self.cfg.api == Api::V1 {
                        msg.push_str(", InfluxDB v2.x isn't supported by this output, use --out xk6-influxdb");
                    }
                    self.log
                        .error(&msg, &format!("HTTP {}: {}", r.status, body.trim()));
                }
                Err(e) => self.log.error("Couldn't write stats", &e),
            }
        }
        if started.elapsed() > self.cfg.push_interval {
            self.log.warn(
                "The flush operation took higher than the expected set push interval. If you see \
                 this message multiple times then the setup or configuration need to be adjusted \
                 to achieve a sustainable rate.",
            );
        }
    }
}

/// Escapes a measurement, tag key, tag value or field key.
fn escape_key(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ',' | '=' | ' ' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn escape_measurement(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, ',' | ' ') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A tag moved to a field, converted as k6 converts it (as a string when
/// the conversion fails).
fn field_value(v: &str, kind: FieldKind) -> String {
    let quoted = || format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""));
    match kind {
        FieldKind::String => quoted(),
        FieldKind::Int => v
            .parse::<i64>()
            .map_or_else(|_| quoted(), |n| format!("{n}i")),
        FieldKind::Float => v
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map_or_else(quoted, |f| format!("{f}")),
        FieldKind::Bool => super::settings::parse_bool(v).map_or_else(quoted, |b| b.to_string()),
    }
}

impl Worker for InfluxWorker {
    fn batch(&mut self, samples: &[Sample], registry: &Registry) {
        for s in samples {
            if !s.value.is_finite() {
                continue;
            }
            let id = s.metric.id.0 as usize;
            if id >= self.names.len() {
                self.names.resize(id + 1, None);
            }
            if self.names[id].is_none() {
                let Some(def) = registry.get_def(s.metric.id) else {
                    continue;
                };
                self.names[id] = Some(escape_measurement(&def.name));
            }
            let ts = s.time_ns / self.cfg.precision_div;
            let name = self.names[id].clone().expect("set above");
            let (tags, before, after) = self.tag_parts(&s.tags).clone();
            let l = &mut self.lines;
            l.push_str(&name);
            l.push_str(&tags);
            l.push(' ');
            if !before.is_empty() {
                l.push_str(&before);
                l.push(',');
            }
            let _ = write!(l, "value={}", s.value);
            if !after.is_empty() {
                l.push(',');
                l.push_str(&after);
            }
            let _ = writeln!(l, " {ts}");
        }
    }

    fn tick(&mut self, _: &Registry) {
        self.flush();
    }

    fn finish(&mut self, _: &Registry) -> Result<(), String> {
        self.flush();
        Ok(())
    }
}

impl Output for InfluxOutput {
    fn description(&self) -> String {
        let v = match self.cfg.api {
            Api::V1 => "InfluxDBv1",
            Api::V2 => "InfluxDBv2",
        };
        format!("{v} ({})", self.cfg.addr.as_str().trim_end_matches('/'))
    }

    fn start(&mut self) -> io::Result<()> {
        let name = match self.cfg.api {
            Api::V1 => "InfluxDBv1",
            Api::V2 => "InfluxDBv2",
        };
        let worker = InfluxWorker {
            client: Client::new(self.cfg.insecure, Duration::from_secs(10))?
                .with_user_agent(&format!("stampede/{}", env!("CARGO_PKG_VERSION"))),
            log: Logger::new(name, self.offset),
            cfg: self.cfg.clone(),
            lines: String::new(),
            created_db: false,
            cache: HashMap::new(),
            names: Vec::new(),
        };
        self.bg = Some(Background::spawn(
            "out-influxdb",
            worker,
            Some(self.cfg.push_interval),
        )?);
        Ok(())
    }

    fn add_samples(&mut self, samples: &[Sample], registry: &Registry) -> io::Result<()> {
        super::background::send_to(&mut self.bg, "influxdb", samples, registry)
    }

    fn stop(&mut self) -> io::Result<()> {
        super::background::stop(&mut self.bg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stampede_metrics::Builtin;

    fn lines(cfg: Config, samples: &[Sample]) -> String {
        let mut w = InfluxWorker {
            client: Client::new(false, Duration::from_secs(1)).unwrap(),
            log: Logger::new("t", 0),
            cfg,
            lines: String::new(),
            created_db: false,
            cache: HashMap::new(),
            names: Vec::new(),
        };
        w.batch(samples, &Registry::new());
        w.lines
    }

    #[test]
    fn lines_as_k6_writes_them() {
        // k6 v1.1.0 --out influxdb, captured.
        let cfg = Config::from(
            Api::V1,
            "http://127.0.0.1:8086/mydb",
            &OutputContext::with_env(&[]),
        )
        .unwrap();
        let tags = TagSet::from_pairs([
            ("expected_response", "true"),
            ("method", "GET"),
            ("name", "get"),
            ("proto", "HTTP/1.1"),
            ("scenario", "default"),
            ("status", "200"),
            ("url", "get"),
            ("vu", "1"),
            ("iter", "0"),
        ]);
        let err = TagSet::from_pairs([
            ("error", "dial: connection refused"),
            ("name", "http://127.0.0.1:1/x%20y,z=1"),
            ("url", "http://127.0.0.1:1/x%20y,z=1"),
            ("group", ""),
        ]);
        let s = |m: Builtin, tags: &TagSet, v: f64| Sample {
            metric: m.metric(),
            tags: tags.clone(),
            value: v,
            time_ns: 1_795_473_490_195_519_956,
        };
        let out = lines(
            cfg,
            &[
                s(Builtin::HttpReqDuration, &tags, 0.58342),
                s(Builtin::HttpReqs, &err, 1.0),
                s(Builtin::Vus, &TagSet::empty(), f64::NAN),
            ],
        );
        assert_eq!(
            out,
            "http_req_duration,expected_response=true,method=GET,name=get,proto=HTTP/1.1,scenario=default,status=200 url=\"get\",value=0.58342 1795473490195519956\n\
             http_reqs,error=dial:\\ connection\\ refused,name=http://127.0.0.1:1/x%20y\\,z\\=1 url=\"http://127.0.0.1:1/x%20y,z=1\",value=1 1795473490195519956\n"
        );
    }

    #[test]
    fn typed_fields_and_precision() {
        let cfg = Config::from(
            Api::V1,
            "http://h:8086/db?precision=ms&tagsAsFields=vu:int&tagsAsFields=zz:float&tagsAsFields=a:bool",
            &OutputContext::with_env(&[]),
        )
        .unwrap();
        assert_eq!(cfg.precision, "ms");
        let tags = TagSet::from_pairs([("zz", "1.5"), ("a", "true"), ("b", "x y")]);
        let out = lines(
            cfg,
            &[Sample {
                metric: Builtin::Iterations.metric(),
                tags,
                value: 3.0,
                time_ns: 1_795_473_490_195_519_956,
            }],
        );
        assert_eq!(
            out,
            "iterations,b=x\\ y a=true,value=3,zz=1.5 1795473490195\n"
        );
    }

    #[test]
    fn settings_and_errors() {
        let c = Config::from(
            Api::V1,
            "http://u:p@127.0.0.1:8086/k6db?pushInterval=5s",
            &OutputContext::with_env(&[
                ("K6_INFLUXDB_DB", "other"),
                ("K6_INFLUXDB_PUSH_INTERVAL", "2s"),
            ]),
        )
        .unwrap();
        assert_eq!(c.db, "k6db");
        assert_eq!(c.push_interval, Duration::from_secs(5));
        assert_eq!(c.username.as_deref(), Some("u"));
        assert_eq!(
            c.write_url().as_str(),
            "http://127.0.0.1:8086/write?consistency=&db=k6db&precision=ns&rp="
        );
        assert!(c
            .headers()
            .iter()
            .any(|(k, v)| k == "authorization" && v == "Basic dTpw"));
        let c = Config::from(Api::V1, "", &OutputContext::with_env(&[])).unwrap();
        assert_eq!(
            (c.addr.as_str(), c.db.as_str()),
            ("http://localhost:8086/", "k6")
        );

        let err = |api, arg: &str, env: &[(&str, &str)]| {
            Config::from(api, arg, &OutputContext::with_env(env))
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(Api::V1, "http://h/db?bogus=1", &[]),
            "could not create the 'influxdb' output: unknown query parameter: bogus"
        );
        assert_eq!(
            err(Api::V1, "", &[("K6_INFLUXDB_PUSH_INTERVAL", "often")]),
            "could not create the 'influxdb' output: K6_INFLUXDB_PUSH_INTERVAL: \"often\" is not a duration (use e.g. 1s or 500ms)"
        );
        assert!(err(Api::V1, "udp://h:8089", &[]).contains("UDP is not supported"));
        assert_eq!(
            err(Api::V1, "", &[("K6_INFLUXDB_TAGS_AS_FIELDS", "vu:int,vu")]),
            "could not create the 'influxdb' output: a tag name (vu) shows up more than once in InfluxDB field type configurations"
        );
        assert_eq!(
            err(Api::V2, "http://h:8086", &[]),
            "could not create the 'xk6-influxdb' output: the Bucket option is required"
        );
    }

    #[test]
    fn v2_writes_with_a_token() {
        let c = Config::from(
            Api::V2,
            "http://127.0.0.1:8086/my-bucket",
            &OutputContext::with_env(&[
                ("K6_INFLUXDB_ORGANIZATION", "acme"),
                ("K6_INFLUXDB_TOKEN", "s3cret"),
                ("K6_INFLUXDB_PRECISION", "1ms"),
            ]),
        )
        .unwrap();
        assert_eq!(
            c.write_url().as_str(),
            "http://127.0.0.1:8086/api/v2/write?org=acme&bucket=my-bucket&precision=ms"
        );
        assert!(c
            .headers()
            .contains(&("authorization".into(), "Token s3cret".into())));
        assert_eq!(c.tags_as_fields[0], ("vu".into(), FieldKind::Int));
    }
}
