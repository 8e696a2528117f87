//! Options from `K6_*` environment variables, with k6's names and syntax.

use std::collections::BTreeMap;

use super::net::check_hostname_pattern;
use super::summary::check_trend_stat;
use super::tls::check_cipher_suites;
use super::{
    CompatibilityMode, DnsOptions, IpNet, Options, RawStage, SummaryMode, SummaryTimeUnit,
    SYSTEM_TAGS,
};
use crate::duration::K6Duration;
use crate::error::ConfigError;

impl Options {
    /// Reads the `K6_*` variables k6 reads (e.g. `K6_VUS`, `K6_DURATION`,
    /// `K6_STAGES="30s:10,1m:0"`, `K6_NO_THRESHOLDS`); other variables are
    /// ignored. An empty value counts as unset.
    pub fn from_env(vars: &[(String, String)]) -> Result<Options, Vec<ConfigError>> {
        let mut o = Options::default();
        let mut errors = Vec::new();
        for (name, value) in vars {
            if let Err(reason) = set(&mut o, name, value) {
                errors.push(ConfigError::InvalidEnv {
                    var: name.clone(),
                    reason,
                });
            }
        }
        if errors.is_empty() {
            Ok(o)
        } else {
            Err(errors)
        }
    }
}

type R = Result<(), String>;

fn set(o: &mut Options, name: &str, v: &str) -> R {
    match name {
        "K6_PAUSED" => o.paused = option_bool(v)?,
        "K6_VUS" => o.vus = int(v)?,
        "K6_DURATION" => o.duration = duration(v)?,
        "K6_ITERATIONS" => o.iterations = int(v)?,
        "K6_STAGES" => o.stages = list(v, RawStage::parse)?,
        "K6_NO_SETUP" => o.no_setup = option_bool(v)?,
        "K6_SETUP_TIMEOUT" => o.setup_timeout = duration(v)?,
        "K6_NO_TEARDOWN" => o.no_teardown = option_bool(v)?,
        "K6_TEARDOWN_TIMEOUT" => o.teardown_timeout = duration(v)?,
        "K6_RPS" => o.rps = int(v)?,
        "K6_DNS" => o.dns = DnsOptions::parse(v)?,
        "K6_MAX_REDIRECTS" => o.max_redirects = int(v)?,
        "K6_USER_AGENT" => o.user_agent = string(v),
        "K6_BATCH" => o.batch = int(v)?,
        "K6_BATCH_PER_HOST" => o.batch_per_host = int(v)?,
        "K6_HTTP_DEBUG" => o.http_debug = string(v),
        "K6_INSECURE_SKIP_TLS_VERIFY" => o.insecure_skip_tls_verify = option_bool(v)?,
        "K6_TLS_CIPHER_SUITES" => {
            o.tls_cipher_suites = list(v, |s| Ok(s.to_owned()))?
                .map(check_cipher_suites)
                .transpose()?
        }
        "K6_THROW" => o.throw = option_bool(v)?,
        "K6_BLACKLIST_IPS" => o.blacklist_ips = list(v, |s| s.parse::<IpNet>())?,
        "K6_BLOCK_HOSTNAMES" => o.block_hostnames = list(v, check_hostname_pattern)?,
        "K6_NO_CONNECTION_REUSE" => o.no_connection_reuse = option_bool(v)?,
        "K6_NO_VU_CONNECTION_REUSE" => o.no_vu_connection_reuse = option_bool(v)?,
        "K6_MIN_ITERATION_DURATION" => o.min_iteration_duration = duration(v)?,
        "K6_SUMMARY_TREND_STATS" => {
            o.summary_trend_stats = list(v, |s| check_trend_stat(s).map(|()| s.to_owned()))?
        }
        "K6_SUMMARY_TIME_UNIT" => {
            o.summary_time_unit = string(v)
                .map(|s| SummaryTimeUnit::from_name(&s))
                .transpose()?
        }
        "K6_SYSTEM_TAGS" => o.system_tags = list(v, system_tag)?,
        "K6_TAGS" => o.tags = tags(v)?,
        "K6_METRIC_SAMPLES_BUFFER_SIZE" => o.metric_samples_buffer_size = int(v)?,
        "K6_NO_COOKIES_RESET" => o.no_cookies_reset = option_bool(v)?,
        "K6_DISCARD_RESPONSE_BODIES" => o.discard_response_bodies = option_bool(v)?,
        "K6_CONSOLE_OUTPUT" => o.console_output = string(v),
        "K6_LOCAL_IPS" => o.local_ips = string(v),
        "K6_OUT" => o.out = list(v, |s| Ok(s.to_owned()))?,
        "K6_LINGER" => o.linger = option_bool(v)?,
        "K6_NO_USAGE_REPORT" => o.no_usage_report = option_bool(v)?,
        "K6_WEB_DASHBOARD" => o.web_dashboard = option_bool(v)?,
        "K6_INCLUDE_SYSTEM_ENV_VARS" => o.include_system_env_vars = Some(runtime_bool(v)?),
        "K6_COMPATIBILITY_MODE" => o.compatibility_mode = Some(CompatibilityMode::from_name(v)?),
        "K6_NO_THRESHOLDS" => o.no_thresholds = Some(runtime_bool(v)?),
        "K6_NO_SUMMARY" => o.no_summary = Some(runtime_bool(v)?),
        "K6_SUMMARY_EXPORT" => o.summary_export = Some(v.to_owned()),
        "K6_SUMMARY_MODE" => o.summary_mode = Some(SummaryMode::from_name(v)?),
        "K6_TRACES_OUTPUT" => o.traces_output = Some(v.to_owned()),
        _ => {}
    }
    Ok(())
}

/// Option booleans (k6's `null.Bool` text form): exactly `true` or `false`.
fn option_bool(v: &str) -> Result<Option<bool>, String> {
    match v {
        "" | "null" => Ok(None),
        "true" => Ok(Some(true)),
        "false" => Ok(Some(false)),
        other => Err(format!(
            "{other:?} is not a valid boolean, use true or false"
        )),
    }
}

/// Runtime booleans (Go's `strconv.ParseBool`).
fn runtime_bool(v: &str) -> Result<bool, String> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        other => Err(format!("{other:?} is not a valid boolean value")),
    }
}

fn int(v: &str) -> Result<Option<i64>, String> {
    if v.is_empty() {
        return Ok(None);
    }
    v.parse()
        .map(Some)
        .map_err(|_| format!("{v:?} is not an integer"))
}

fn duration(v: &str) -> Result<Option<K6Duration>, String> {
    if v.is_empty() {
        return Ok(None);
    }
    K6Duration::parse(v).map(Some).map_err(|e| e.to_string())
}

fn string(v: &str) -> Option<String> {
    (!v.is_empty()).then(|| v.to_owned())
}

/// A comma-separated list.
fn list<T>(v: &str, f: impl Fn(&str) -> Result<T, String>) -> Result<Option<Vec<T>>, String> {
    if v.is_empty() {
        return Ok(None);
    }
    v.split(',').map(f).collect::<Result<_, _>>().map(Some)
}

fn system_tag(name: &str) -> Result<String, String> {
    if SYSTEM_TAGS.contains(&name) {
        Ok(name.to_owned())
    } else {
        Err(format!("unknown system tag '{name}'"))
    }
}

/// `name:value,name2:value2`.
fn tags(v: &str) -> Result<Option<BTreeMap<String, String>>, String> {
    if v.is_empty() {
        return Ok(None);
    }
    v.split(',')
        .map(|item| {
            item.split_once(':')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| format!("invalid map item: {item:?}, expected name:value"))
        })
        .collect::<Result<_, _>>()
        .map(Some)
}
