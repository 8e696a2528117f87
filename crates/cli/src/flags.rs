//! The options flags of `stampede run` and `stampede inspect`, turned into
//! the CLI layer of options (the top of k6's precedence order).
//!
//! Each flag's value has the same syntax as its `K6_*` variable, so values
//! are parsed by the same code (`Options::from_env`) and errors name the
//! flag.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use stampede_config::segment::{ExecutionSegment, ExecutionSegmentSequence};
use stampede_config::{ConfigError, Options};

/// Flags that set test options.
#[derive(Debug, Clone, Default, Args)]
pub struct OptionFlags {
    /// Number of VUs to run concurrently.
    #[arg(short = 'u', long)]
    pub vus: Option<String>,
    /// Test duration limit (e.g. 30s, 1m30s).
    #[arg(short = 'd', long)]
    pub duration: Option<String>,
    /// Script total iteration limit (among all VUs).
    #[arg(short = 'i', long)]
    pub iterations: Option<String>,
    /// Add a stage, as `duration:target` (e.g. 30s:10); repeatable.
    #[arg(short = 's', long = "stage")]
    pub stages: Vec<String>,
    /// Add/override an environment variable for `__ENV`, as KEY=VALUE; repeatable.
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Add a tag to all samples, as NAME=VALUE; repeatable.
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// JSON config file (k6's --config format).
    #[arg(short = 'c', long)]
    pub config: Option<PathBuf>,
    /// Pass the real system environment variables to the script.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub include_system_env_vars: Option<String>,
    /// Don't run `setup()`.
    #[arg(long)]
    pub no_setup: bool,
    /// Don't run `teardown()`.
    #[arg(long)]
    pub no_teardown: bool,
    /// Don't evaluate thresholds.
    #[arg(long)]
    pub no_thresholds: bool,
    /// Don't show the summary at the end of the test.
    #[arg(long)]
    pub no_summary: bool,
    /// Write the end-of-test summary as JSON to this file.
    #[arg(long)]
    pub summary_export: Option<String>,
    /// Trend stats in the summary (e.g. avg,p(95),p(99.9)).
    #[arg(long)]
    pub summary_trend_stats: Option<String>,
    /// Time unit for the summary's trend stats: s, ms or us.
    #[arg(long)]
    pub summary_time_unit: Option<String>,
    /// Summary format: compact, full or legacy.
    #[arg(long)]
    pub summary_mode: Option<String>,
    /// Output for metrics (json=FILE, csv=FILE); repeatable.
    #[arg(short = 'o', long = "out")]
    pub out: Vec<String>,
    /// This instance's share of the test, e.g. 0:1/2.
    #[arg(long)]
    pub execution_segment: Option<String>,
    /// How the test is split across instances, e.g. 0,1/2,1.
    #[arg(long)]
    pub execution_segment_sequence: Option<String>,
    /// Throw on failed requests and other warnings.
    #[arg(short = 'w', long)]
    pub throw: bool,
    /// Start the test paused (resume it with `stampede resume`).
    #[arg(short = 'p', long)]
    pub paused: bool,
    /// Maximum redirects a request follows.
    #[arg(long)]
    pub max_redirects: Option<String>,
    /// User-Agent header.
    #[arg(long)]
    pub user_agent: Option<String>,
    /// Maximum parallel requests of `http.batch`.
    #[arg(long)]
    pub batch: Option<String>,
    /// Maximum parallel requests per host of `http.batch`.
    #[arg(long)]
    pub batch_per_host: Option<String>,
    /// Global request rate limit (requests per second).
    #[arg(long)]
    pub rps: Option<String>,
    /// Skip TLS certificate verification.
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// Close connections after each request.
    #[arg(long)]
    pub no_connection_reuse: bool,
    /// Close a VU's connections between iterations.
    #[arg(long)]
    pub no_vu_connection_reuse: bool,
    /// Keep cookies between iterations.
    #[arg(long)]
    pub no_cookies_reset: bool,
    /// Don't keep response bodies.
    #[arg(long)]
    pub discard_response_bodies: bool,
    /// Minimum iteration duration.
    #[arg(long)]
    pub min_iteration_duration: Option<String>,
    /// System tags to attach to samples (comma-separated).
    #[arg(long)]
    pub system_tags: Option<String>,
    /// DNS resolver settings (ttl=5m,select=random,policy=preferIPv4).
    #[arg(long)]
    pub dns: Option<String>,
    /// IP ranges that must not be contacted (comma-separated CIDRs).
    #[arg(long = "blacklist-ip")]
    pub blacklist_ips: Option<String>,
    /// Host patterns that must not be contacted (comma-separated).
    #[arg(long)]
    pub block_hostnames: Option<String>,
    /// Log each request and response: `--http-debug` for heads,
    /// `--http-debug=full` for bodies too.
    #[arg(
        long,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "headers"
    )]
    pub http_debug: Option<String>,
    /// Send console output to this file.
    #[arg(long)]
    pub console_output: Option<String>,
    /// Accepted for k6 compatibility; Stampede never reports usage.
    #[arg(long)]
    pub no_usage_report: bool,
    /// Serve the live web dashboard during the run (`K6_WEB_DASHBOARD=true`;
    /// `K6_WEB_DASHBOARD_HOST`, `_PORT`, `_PERIOD`, `_OPEN`, `_EXPORT` tune it).
    #[arg(long)]
    pub web_dashboard: bool,
}

/// A flag and the `K6_*` variable with the same value syntax.
fn pairs(f: &OptionFlags) -> Vec<(&'static str, &'static str, String)> {
    let mut v = Vec::new();
    let mut put = |flag: &'static str, var: &'static str, val: Option<String>| {
        if let Some(val) = val {
            v.push((flag, var, val));
        }
    };
    let yes = |b: bool| b.then(|| "true".to_string());
    put("--vus", "K6_VUS", f.vus.clone());
    put("--duration", "K6_DURATION", f.duration.clone());
    put("--iterations", "K6_ITERATIONS", f.iterations.clone());
    put(
        "--stage",
        "K6_STAGES",
        (!f.stages.is_empty()).then(|| f.stages.join(",")),
    );
    put(
        "--include-system-env-vars",
        "K6_INCLUDE_SYSTEM_ENV_VARS",
        f.include_system_env_vars.clone(),
    );
    put("--no-setup", "K6_NO_SETUP", yes(f.no_setup));
    put("--no-teardown", "K6_NO_TEARDOWN", yes(f.no_teardown));
    put("--no-thresholds", "K6_NO_THRESHOLDS", yes(f.no_thresholds));
    put("--no-summary", "K6_NO_SUMMARY", yes(f.no_summary));
    put(
        "--summary-export",
        "K6_SUMMARY_EXPORT",
        f.summary_export.clone(),
    );
    put(
        "--summary-trend-stats",
        "K6_SUMMARY_TREND_STATS",
        f.summary_trend_stats.clone(),
    );
    put(
        "--summary-time-unit",
        "K6_SUMMARY_TIME_UNIT",
        f.summary_time_unit.clone(),
    );
    put("--summary-mode", "K6_SUMMARY_MODE", f.summary_mode.clone());
    put("--throw", "K6_THROW", yes(f.throw));
    put(
        "--max-redirects",
        "K6_MAX_REDIRECTS",
        f.max_redirects.clone(),
    );
    put("--user-agent", "K6_USER_AGENT", f.user_agent.clone());
    put("--batch", "K6_BATCH", f.batch.clone());
    put(
        "--batch-per-host",
        "K6_BATCH_PER_HOST",
        f.batch_per_host.clone(),
    );
    put("--rps", "K6_RPS", f.rps.clone());
    put(
        "--insecure-skip-tls-verify",
        "K6_INSECURE_SKIP_TLS_VERIFY",
        yes(f.insecure_skip_tls_verify),
    );
    put(
        "--no-connection-reuse",
        "K6_NO_CONNECTION_REUSE",
        yes(f.no_connection_reuse),
    );
    put(
        "--no-vu-connection-reuse",
        "K6_NO_VU_CONNECTION_REUSE",
        yes(f.no_vu_connection_reuse),
    );
    put(
        "--no-cookies-reset",
        "K6_NO_COOKIES_RESET",
        yes(f.no_cookies_reset),
    );
    put("--paused", "K6_PAUSED", yes(f.paused));
    put("--web-dashboard", "K6_WEB_DASHBOARD", yes(f.web_dashboard));
    put(
        "--discard-response-bodies",
        "K6_DISCARD_RESPONSE_BODIES",
        yes(f.discard_response_bodies),
    );
    put(
        "--min-iteration-duration",
        "K6_MIN_ITERATION_DURATION",
        f.min_iteration_duration.clone(),
    );
    put("--system-tags", "K6_SYSTEM_TAGS", f.system_tags.clone());
    put("--dns", "K6_DNS", f.dns.clone());
    put(
        "--blacklist-ip",
        "K6_BLACKLIST_IPS",
        f.blacklist_ips.clone(),
    );
    put(
        "--block-hostnames",
        "K6_BLOCK_HOSTNAMES",
        f.block_hostnames.clone(),
    );
    put("--http-debug", "K6_HTTP_DEBUG", f.http_debug.clone());
    put(
        "--console-output",
        "K6_CONSOLE_OUTPUT",
        f.console_output.clone(),
    );
    put(
        "--out",
        "K6_OUT",
        (!f.out.is_empty()).then(|| f.out.join(",")),
    );
    v
}

/// Splits `KEY=VALUE`.
fn key_value(flag: &str, s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("invalid {flag} \"{s}\": expected KEY=VALUE")),
    }
}

impl OptionFlags {
    /// The CLI layer of options; every invalid flag is reported.
    pub fn to_options(&self) -> Result<Options, Vec<String>> {
        let mut errors = Vec::new();
        let mut layer = Options::default();
        for (flag, var, value) in pairs(self) {
            match Options::from_env(&[(var.to_string(), value.clone())]) {
                Ok(o) => layer = layer.merge(o),
                Err(errs) => {
                    for e in errs {
                        let reason = match e {
                            ConfigError::InvalidEnv { reason, .. } => reason,
                            other => other.to_string(),
                        };
                        errors.push(format!("invalid {flag} \"{value}\": {reason}"));
                    }
                }
            }
        }
        // k6's flag takes NAME=VALUE (its variable K6_TAGS name:value).
        if !self.tags.is_empty() {
            let mut tags = BTreeMap::new();
            for t in &self.tags {
                match stampede_config::options::parse_tag(t) {
                    Ok((k, v)) => {
                        tags.insert(k, v);
                    }
                    Err(msg) => errors.push(msg),
                }
            }
            layer.tags = Some(tags);
        }
        if !self.env.is_empty() {
            let mut env = BTreeMap::new();
            for e in &self.env {
                match key_value("--env", e) {
                    Ok((k, v)) => {
                        env.insert(k, v);
                    }
                    Err(msg) => errors.push(msg),
                }
            }
            layer.env = Some(env);
        }
        if let Some(s) = &self.execution_segment {
            match ExecutionSegment::parse(s) {
                Ok(seg) => layer.execution_segment = Some(seg),
                Err(e) => errors.push(format!("invalid --execution-segment \"{s}\": {e}")),
            }
        }
        if let Some(s) = &self.execution_segment_sequence {
            match ExecutionSegmentSequence::parse(s) {
                Ok(seq) => layer.execution_segment_sequence = Some(seq),
                Err(e) => errors.push(format!("invalid --execution-segment-sequence \"{s}\": {e}")),
            }
        }
        if errors.is_empty() {
            Ok(layer)
        } else {
            Err(errors)
        }
    }

    /// The `--config` file's layer (empty without the flag).
    pub fn config_file(&self) -> Result<Options, Vec<String>> {
        let Some(path) = &self.config else {
            return Ok(Options::default());
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| vec![format!("cannot read config file {}: {e}", path.display())])?;
        let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
            vec![format!(
                "config file {} is not valid JSON: {e}",
                path.display()
            )]
        })?;
        Options::from_config_json(&json).map_err(|errs| {
            errs.iter()
                .map(|e| format!("config file {}: {e}", path.display()))
                .collect()
        })
    }
}

/// The `K6_*` variables of the environment as an options layer.
pub fn env_options(vars: &[(String, String)]) -> Result<Options, Vec<String>> {
    let k6: Vec<(String, String)> = vars
        .iter()
        .filter(|(k, _)| k.starts_with("K6_"))
        .cloned()
        .collect();
    Options::from_env(&k6).map_err(|errs| errs.iter().map(|e| e.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_options() {
        let f = OptionFlags {
            vus: Some("5".into()),
            duration: Some("1m30s".into()),
            stages: vec!["10s:5".into(), "20s:0".into()],
            env: vec!["A=1".into(), "B=x=y".into()],
            tags: vec!["testid=run-1".into(), "url=http://x:1/".into()],
            ..Default::default()
        };
        let o = f.to_options().unwrap();
        let tags = o.tags.clone().unwrap();
        assert_eq!(tags["testid"], "run-1");
        assert_eq!(tags["url"], "http://x:1/");
        assert_eq!(o.vus, Some(5));
        assert_eq!(o.stages.as_ref().map(Vec::len), Some(2));
        let env = o.env.unwrap();
        assert_eq!(env["B"], "x=y");
    }

    #[test]
    fn every_bad_flag_is_reported_by_name() {
        let f = OptionFlags {
            vus: Some("many".into()),
            duration: Some("10 minutes".into()),
            env: vec!["novalue".into()],
            tags: vec!["testid".into(), "testid=".into()],
            ..Default::default()
        };
        let errs = f.to_options().unwrap_err();
        assert_eq!(errs.len(), 5, "{errs:?}");
        assert!(
            errs[2].contains("error parsing tag 'testid': invalid tag, empty value"),
            "{errs:?}"
        );
        assert!(
            errs[3].contains("'testid=': invalid tag, empty value"),
            "{errs:?}"
        );
        assert!(errs[0].contains("--vus"), "{errs:?}");
        assert!(errs[1].contains("--duration"), "{errs:?}");
        assert!(errs[4].contains("--env"), "{errs:?}");
    }
}
