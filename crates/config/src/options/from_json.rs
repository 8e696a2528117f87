//! Options from JSON: a script's exported `options` or a `--config` file.

use serde_json::Value;

use super::keys::{unknown_key_hint, CONFIG_FILE_KEYS, SCRIPT_KEYS};
use super::net::check_hostname_pattern;
use super::scenario::{parse_scenarios, parse_stages};
use super::summary::{check_trend_stat, SYSTEM_TAGS};
use super::tls::{check_cipher_suites, tls_auth, tls_versions};
use super::{thresholds, DnsOptions, HostAddress, IpNet, Options, SummaryTimeUnit};
use crate::error::ConfigError;
use crate::json::{self, read};
use crate::segment::{ExecutionSegment, ExecutionSegmentSequence};
use crate::suggest::did_you_mean;

impl Options {
    /// Reads a script's exported `options` (already converted to JSON).
    ///
    /// Unknown keys are errors naming the key (k6 only warns); every
    /// problem is reported, not just the first.
    pub fn from_json(value: &Value) -> Result<Options, Vec<ConfigError>> {
        parse(value, SCRIPT_KEYS)
    }

    /// Reads a `--config` file: the same options at the top level, plus
    /// `out`, `linger`, `noUsageReport` and `webDashboard`.
    pub fn from_config_json(value: &Value) -> Result<Options, Vec<ConfigError>> {
        let known: Vec<&str> = SCRIPT_KEYS
            .iter()
            .chain(CONFIG_FILE_KEYS)
            .copied()
            .collect();
        parse(value, &known)
    }
}

fn parse(value: &Value, known: &[&str]) -> Result<Options, Vec<ConfigError>> {
    let map = match value {
        Value::Null => return Ok(Options::default()),
        Value::Object(map) => map,
        other => {
            return Err(vec![ConfigError::Invalid(format!(
                "options must be an object, got {}",
                json::show(other)
            ))]);
        }
    };
    let mut options = Options::default();
    let mut errors = Vec::new();
    for (key, value) in map {
        if known.contains(&key.as_str()) {
            set(&mut options, key, value, &mut errors);
        } else {
            errors.push(ConfigError::UnknownOption {
                key: key.clone(),
                hint: unknown_key_hint(key, known),
            });
        }
    }
    if errors.is_empty() {
        Ok(options)
    } else {
        Err(errors)
    }
}

/// Parses a string option with `f`.
fn parsed<T>(v: &Value, f: impl FnOnce(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    json::string(v)?.map(|s| f(&s)).transpose()
}

/// Parses every string of a list option with `f`.
fn each<T>(v: &Value, f: impl Fn(&str) -> Result<T, String>) -> Result<Option<Vec<T>>, String> {
    json::string_list(v)?
        .map(|list| list.iter().map(|s| f(s)).collect())
        .transpose()
}

fn system_tag(name: &str) -> Result<String, String> {
    if SYSTEM_TAGS.contains(&name) {
        return Ok(name.to_owned());
    }
    let hint = did_you_mean(name, SYSTEM_TAGS.iter().copied())
        .map(|h| format!("; {h}"))
        .unwrap_or_default();
    Err(format!("unknown system tag '{name}'{hint}"))
}

fn set(o: &mut Options, key: &str, v: &Value, errors: &mut Vec<ConfigError>) {
    let path = || key.to_owned();
    match key {
        "paused" => o.paused = read(errors, path, json::boolean(v)),
        "vus" => o.vus = read(errors, path, json::int(v)),
        "duration" => o.duration = read(errors, path, json::duration(v)),
        "iterations" => o.iterations = read(errors, path, json::int(v)),
        "stages" => o.stages = parse_stages(v, key, errors),
        "scenarios" => o.scenarios = parse_scenarios(v, errors),
        "executionSegment" => {
            o.execution_segment = read(
                errors,
                path,
                parsed(v, |s| ExecutionSegment::parse(s).map_err(|e| e.to_string())),
            )
        }
        "executionSegmentSequence" => {
            o.execution_segment_sequence = read(
                errors,
                path,
                parsed(v, |s| {
                    ExecutionSegmentSequence::parse(s).map_err(|e| e.to_string())
                }),
            )
        }
        "noSetup" => o.no_setup = read(errors, path, json::boolean(v)),
        "setupTimeout" => o.setup_timeout = read(errors, path, json::duration(v)),
        "noTeardown" => o.no_teardown = read(errors, path, json::boolean(v)),
        "teardownTimeout" => o.teardown_timeout = read(errors, path, json::duration(v)),
        "rps" => o.rps = read(errors, path, json::int(v)),
        "dns" => o.dns = read(errors, path, DnsOptions::from_json(v)).unwrap_or_default(),
        "maxRedirects" => o.max_redirects = read(errors, path, json::int(v)),
        "userAgent" => o.user_agent = read(errors, path, json::string(v)),
        "batch" => o.batch = read(errors, path, json::int(v)),
        "batchPerHost" => o.batch_per_host = read(errors, path, json::int(v)),
        "httpDebug" => o.http_debug = read(errors, path, json::string(v)),
        "insecureSkipTLSVerify" => {
            o.insecure_skip_tls_verify = read(errors, path, json::boolean(v))
        }
        "tlsCipherSuites" => {
            o.tls_cipher_suites = read(
                errors,
                path,
                json::string_list(v).and_then(|l| l.map(check_cipher_suites).transpose()),
            )
        }
        "tlsVersion" => o.tls_version = read(errors, path, tls_versions(v)),
        "tlsAuth" => o.tls_auth = tls_auth(v, errors),
        "throw" => o.throw = read(errors, path, json::boolean(v)),
        "thresholds" => o.thresholds = thresholds::parse(v, errors),
        "blacklistIPs" => o.blacklist_ips = read(errors, path, each(v, |s| s.parse::<IpNet>())),
        "blockHostnames" => o.block_hostnames = read(errors, path, each(v, check_hostname_pattern)),
        "hosts" => o.hosts = read(errors, path, hosts(v)),
        "noConnectionReuse" => o.no_connection_reuse = read(errors, path, json::boolean(v)),
        "noVUConnectionReuse" => o.no_vu_connection_reuse = read(errors, path, json::boolean(v)),
        "minIterationDuration" => o.min_iteration_duration = read(errors, path, json::duration(v)),
        "ext" => o.ext = (!v.is_null()).then(|| v.clone()),
        "summaryTrendStats" => {
            o.summary_trend_stats = read(
                errors,
                path,
                each(v, |s| check_trend_stat(s).map(|()| s.to_owned())),
            )
        }
        "summaryTimeUnit" => {
            o.summary_time_unit = read(
                errors,
                path,
                json::string(v).and_then(|s| {
                    s.filter(|s| !s.is_empty())
                        .map(|s| SummaryTimeUnit::from_name(&s))
                        .transpose()
                }),
            )
        }
        "systemTags" => o.system_tags = read(errors, path, each(v, system_tag)),
        "tags" => o.tags = read(errors, path, json::string_map(v)),
        "metricSamplesBufferSize" => {
            o.metric_samples_buffer_size = read(errors, path, json::int(v))
        }
        "noCookiesReset" => o.no_cookies_reset = read(errors, path, json::boolean(v)),
        "discardResponseBodies" => o.discard_response_bodies = read(errors, path, json::boolean(v)),
        "cloud" => o.cloud = (!v.is_null()).then(|| v.clone()),
        "out" => o.out = read(errors, path, out(v)),
        "linger" => o.linger = read(errors, path, json::boolean(v)),
        "noUsageReport" => o.no_usage_report = read(errors, path, json::boolean(v)),
        "webDashboard" => o.web_dashboard = read(errors, path, json::boolean(v)),
        // Deprecated output settings k6 still reads from config files.
        "collectors" => {}
        _ => unreachable!("every known key is handled: {key}"),
    }
}

/// `{"name": "1.2.3.4"}` or `{"name": "1.2.3.4:8080"}`.
fn hosts(v: &Value) -> Result<Option<Vec<(String, HostAddress)>>, String> {
    let Some(map) = json::object(v, "an object of host names to IP addresses")? else {
        return Ok(None);
    };
    map.iter()
        .map(|(name, addr)| match addr {
            Value::String(s) => s
                .parse()
                .map(|a| (name.clone(), a))
                .map_err(|e| format!("{name}: {e}")),
            other => Err(format!(
                "{name}: expected an IP address string, got {}",
                json::show(other)
            )),
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// `out` is a list of output URIs; a single string is accepted too.
fn out(v: &Value) -> Result<Option<Vec<String>>, String> {
    match v {
        Value::String(s) => Ok(Some(vec![s.clone()])),
        other => json::string_list(other),
    }
}
