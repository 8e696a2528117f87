//! `--out csv`: k6 v1.1's columns, one row per sample.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use stampede_metrics::{Registry, Sample, DEFAULT_SYSTEM_TAGS, SYSTEM_TAGS};

use super::json::{is_metadata, METADATA};
use super::target::Target;
use super::timefmt::write_rfc3339;
use super::{go_quote, Output, OutputContext, OutputError};
use crate::jsfmt::go_f6;

/// How the `timestamp` column is written (`timeFormat`, `K6_CSV_TIME_FORMAT`).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum CsvTimeFormat {
    /// Unix seconds (the default).
    #[default]
    Unix,
    /// Unix milliseconds.
    UnixMilli,
    /// Unix microseconds.
    UnixMicro,
    /// Unix nanoseconds.
    UnixNano,
    /// RFC 3339, whole seconds, local time.
    Rfc3339,
    /// RFC 3339 with nanoseconds, local time.
    Rfc3339Nano,
}

impl CsvTimeFormat {
    /// Parses k6's names (`unix`, `unix_milli`, ..., `rfc3339_nano`).
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "unix" => CsvTimeFormat::Unix,
            "unix_milli" => CsvTimeFormat::UnixMilli,
            "unix_micro" => CsvTimeFormat::UnixMicro,
            "unix_nano" => CsvTimeFormat::UnixNano,
            "rfc3339" => CsvTimeFormat::Rfc3339,
            "rfc3339_nano" => CsvTimeFormat::Rfc3339Nano,
            _ => return Err(format!("{s} does not belong to TimeFormat values")),
        })
    }
}

/// Go's `time.ParseDuration` for `saveInterval` (`1s`, `500ms`, `1m30s`),
/// with Go's error text.
fn parse_go_duration(s: &str) -> Result<Duration, String> {
    stampede_config::K6Duration::parse_go(s)
        .map(stampede_config::K6Duration::to_std_or_zero)
        .map_err(|e| e.go_message())
}

/// The CSV output.
pub struct CsvOutput {
    path: Option<PathBuf>,
    time_format: CsvTimeFormat,
    save_interval: Duration,
    columns: Vec<String>,
    ignored: Vec<String>,
    offset: i32,
    target: Option<Target>,
    names: Vec<Option<std::sync::Arc<str>>>,
    last_flush: Instant,
    buf: String,
}

impl CsvOutput {
    /// A CSV output from its `--out csv=ARG` argument and `K6_CSV_*`
    /// variables (the argument wins).
    pub fn from_arg(arg: &str, ctx: &OutputContext) -> Result<Self, OutputError> {
        let config_err = |message: String| OutputError::Config {
            output: "csv",
            message,
        };
        let mut file = "file.csv".to_owned();
        let mut interval = "1s".to_owned();
        let mut format = "unix".to_owned();
        if let Some(v) = ctx.env.get("K6_CSV_FILENAME") {
            file = v.clone();
        }
        if let Some(v) = ctx.env.get("K6_CSV_SAVE_INTERVAL") {
            interval = v.clone();
        }
        if let Some(v) = ctx.env.get("K6_CSV_TIME_FORMAT") {
            format = v.clone();
        }
        if !arg.is_empty() {
            if !arg.contains('=') {
                file = arg.to_owned();
            } else {
                for pair in arg.split(',') {
                    let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                    if v.is_empty() {
                        return Err(config_err(format!(
                            "couldn't parse {} as argument for csv output",
                            go_quote(arg)
                        )));
                    }
                    match k {
                        "saveInterval" => interval = v.to_owned(),
                        "fileName" => file = v.to_owned(),
                        "timeFormat" => format = v.to_owned(),
                        _ => {
                            return Err(config_err(format!(
                                "unknown key {} as argument for csv output",
                                go_quote(k)
                            )))
                        }
                    }
                }
            }
        }
        let time_format = CsvTimeFormat::parse(&format).map_err(config_err)?;
        let save_interval = parse_go_duration(&interval).map_err(config_err)?;
        let enabled: Vec<String> = match &ctx.system_tags {
            Some(tags) => tags.clone(),
            None => DEFAULT_SYSTEM_TAGS.iter().map(|s| s.to_string()).collect(),
        };
        // Every system tag but the non-indexable `vu` and `iter`, sorted.
        let mut indexable: Vec<&str> = SYSTEM_TAGS
            .iter()
            .copied()
            .filter(|t| !matches!(*t, "vu" | "iter"))
            .collect();
        indexable.sort_unstable();
        let (columns, ignored): (Vec<&str>, Vec<&str>) = indexable
            .into_iter()
            .partition(|t| enabled.iter().any(|e| e == t));
        let columns: Vec<String> = columns.into_iter().map(str::to_string).collect();
        let ignored = ignored.into_iter().map(str::to_string).collect();
        Ok(CsvOutput {
            path: (file != "-").then(|| PathBuf::from(file)),
            time_format,
            save_interval,
            columns,
            ignored,
            offset: ctx.utc_offset_secs,
            target: None,
            names: Vec::new(),
            last_flush: Instant::now(),
            buf: String::with_capacity(64 * 1024),
        })
    }

    fn header(&self) -> String {
        let mut fields = vec!["metric_name", "timestamp", "metric_value"];
        fields.extend(self.columns.iter().map(String::as_str));
        fields.push("extra_tags");
        fields.push("metadata");
        let mut line = String::new();
        write_record(&mut line, fields.iter().copied());
        line
    }

    fn row(&mut self, name: &str, s: &Sample) {
        let ts = match self.time_format {
            CsvTimeFormat::Unix => (s.time_ns / 1_000_000_000).to_string(),
            CsvTimeFormat::UnixMilli => (s.time_ns / 1_000_000).to_string(),
            CsvTimeFormat::UnixMicro => (s.time_ns / 1_000).to_string(),
            CsvTimeFormat::UnixNano => s.time_ns.to_string(),
            CsvTimeFormat::Rfc3339 | CsvTimeFormat::Rfc3339Nano => {
                let mut t = String::new();
                let nanos = self.time_format == CsvTimeFormat::Rfc3339Nano;
                write_rfc3339(&mut t, s.time_ns, self.offset, nanos);
                t
            }
        };
        let value = go_f6(s.value);
        let mut extra = String::new();
        for (k, v) in s.tags.iter() {
            if self.columns.iter().any(|c| c == k)
                || self.ignored.iter().any(|c| c == k)
                || is_metadata(k)
            {
                continue;
            }
            if !extra.is_empty() {
                extra.push('&');
            }
            extra.push_str(k);
            extra.push('=');
            extra.push_str(v);
        }
        let mut metadata = String::new();
        for k in METADATA {
            if let Some(v) = s.tags.get(k) {
                if !metadata.is_empty() {
                    metadata.push('&');
                }
                metadata.push_str(k);
                metadata.push('=');
                metadata.push_str(v);
            }
        }
        let columns = self.columns.iter().map(|c| s.tags.get(c).unwrap_or(""));
        let fields = [name, ts.as_str(), value.as_str()]
            .into_iter()
            .chain(columns)
            .chain([extra.as_str(), metadata.as_str()]);
        write_record(&mut self.buf, fields);
    }
}

/// Go's `encoding/csv` quoting: fields with `,` `"` CR or LF, or starting
/// with a space, are quoted with `"` doubled.
fn write_record<'a>(out: &mut String, fields: impl Iterator<Item = &'a str>) {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        let needs_quotes = !f.is_empty()
            && (f == r"\."
                || f.contains([',', '"', '\r', '\n'])
                || f.chars().next().is_some_and(char::is_whitespace));
        if needs_quotes {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push('\n');
}

impl Output for CsvOutput {
    fn description(&self) -> String {
        match &self.path {
            None => "csv (stdout)".into(),
            Some(p) => format!("csv ({})", p.display()),
        }
    }

    fn start(&mut self) -> io::Result<()> {
        let mut target = Target::open(self.path.as_deref())?;
        target.write_all(self.header().as_bytes())?;
        target.flush()?;
        self.target = Some(target);
        self.last_flush = Instant::now();
        Ok(())
    }

    fn add_samples(&mut self, samples: &[Sample], registry: &Registry) -> io::Result<()> {
        if self.target.is_none() {
            return Err(io::Error::other("csv output used before start()"));
        }
        for s in samples {
            let id = s.metric.id.0 as usize;
            if id >= self.names.len() {
                self.names.resize(id + 1, None);
            }
            if self.names[id].is_none() {
                self.names[id] = registry.get_def(s.metric.id).map(|d| d.name);
            }
            let Some(name) = self.names[id].clone() else {
                continue;
            };
            self.row(&name, s);
            if self.buf.len() >= 64 * 1024 {
                let target = self.target.as_mut().expect("checked above");
                target.write_all(self.buf.as_bytes())?;
                self.buf.clear();
            }
        }
        let target = self.target.as_mut().expect("checked above");
        target.write_all(self.buf.as_bytes())?;
        self.buf.clear();
        // k6 flushes its CSV writer every saveInterval.
        if self.last_flush.elapsed() >= self.save_interval {
            target.flush()?;
            self.last_flush = Instant::now();
        }
        Ok(())
    }

    fn stop(&mut self) -> io::Result<()> {
        match self.target.take() {
            Some(t) => t.finish(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_like_go() {
        let mut s = String::new();
        write_record(
            &mut s,
            ["cc", "a=x&y<z>\"q\"&b,c=d,e", " lead", "", "plain", "a\nb"].into_iter(),
        );
        assert_eq!(
            s,
            "cc,\"a=x&y<z>\"\"q\"\"&b,c=d,e\",\" lead\",,plain,\"a\nb\"\n"
        );
    }

    #[test]
    fn durations_like_go() {
        assert_eq!(parse_go_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_go_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(
            parse_go_duration("5x"),
            Err("time: unknown unit \"x\" in duration \"5x\"".into())
        );
        assert!(parse_go_duration("").is_err());
    }

    #[test]
    fn vu_and_iter_go_to_metadata() {
        // k6 v1.1.0 with systemTags ['vu', 'iter', 'scenario', 'ip', 'status'].
        let ctx = OutputContext {
            system_tags: Some(
                ["vu", "iter", "scenario", "ip", "status"]
                    .map(String::from)
                    .to_vec(),
            ),
            ..OutputContext::default()
        };
        let mut out = CsvOutput::from_arg("x.csv", &ctx).unwrap();
        assert_eq!(
            out.header(),
            "metric_name,timestamp,metric_value,ip,scenario,status,extra_tags,metadata\n"
        );
        let sample = Sample {
            metric: stampede_metrics::Builtin::Iterations.metric(),
            tags: stampede_metrics::TagSet::from_pairs([
                ("iter", "0"),
                ("scenario", "default"),
                ("vu", "1"),
                ("x", "y"),
            ]),
            value: 1.0,
            time_ns: 1_795_472_879_764_838_246,
        };
        out.row("cc", &sample);
        assert_eq!(
            out.buf,
            "cc,1795472879,1.000000,,default,,x=y,vu=1&iter=0\n"
        );
    }

    #[test]
    fn columns_follow_system_tags() {
        let ctx = OutputContext::default();
        let out = CsvOutput::from_arg("x.csv", &ctx).unwrap();
        // k6 v1.1.0's header.
        assert_eq!(
            out.header(),
            "metric_name,timestamp,metric_value,check,error,error_code,expected_response,\
             group,method,name,proto,scenario,service,status,subproto,tls_version,url,\
             extra_tags,metadata\n"
        );
        assert_eq!(out.ignored, ["ip", "ocsp_status"]);
        let ctx = OutputContext {
            system_tags: Some(vec!["url".into(), "vu".into(), "ip".into()]),
            ..OutputContext::default()
        };
        let out = CsvOutput::from_arg("x.csv", &ctx).unwrap();
        assert_eq!(out.columns, ["ip", "url"]);
    }
}
