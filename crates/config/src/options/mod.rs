//! The raw option layer: every k6 option as written in one source (config
//! file, script `options`, `K6_*` environment, CLI flags), all optional, and
//! the one place where layers merge.

mod cli;
mod dns;
mod from_env;
mod from_json;
mod inspect;
mod keys;
mod net;
mod runtime;
mod scenario;
mod summary;
mod thresholds;
mod tls;

use std::collections::BTreeMap;

use serde_json::Value;

pub use cli::{parse_env_var, parse_system_tags, parse_tag, parse_trend_stats};
pub use dns::{DnsConfig, DnsOptions, DnsPolicy, DnsSelect, DnsTtl};
pub use keys::{CONFIG_FILE_KEYS, SCRIPT_KEYS};
pub use net::{HostAddress, IpNet};
pub use runtime::CompatibilityMode;
pub use scenario::{RawScenario, RawStage};
pub use summary::{
    SummaryMode, SummaryTimeUnit, DEFAULT_SUMMARY_TREND_STATS, DEFAULT_SYSTEM_TAGS, SYSTEM_TAGS,
};
pub use thresholds::{RawThreshold, RawThresholdSet};
pub use tls::{TlsAuth, TlsVersion, TlsVersions, CIPHER_SUITES};

use crate::duration::K6Duration;
use crate::segment::{ExecutionSegment, ExecutionSegmentSequence};

/// One layer of options. `None` means "not set here", so that
/// [`Options::merge`] can let a higher layer override only what it sets.
///
/// Build layers with [`Options::from_json`] (script `options`),
/// [`Options::from_config_json`] (`--config` file), [`Options::from_env`]
/// (`K6_*` variables) or field by field (CLI flags), merge them in k6's
/// order and resolve the result with [`Options::resolve`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Options {
    /// `paused`: start the test paused.
    pub paused: Option<bool>,
    /// `vus`: VUs for the shortcut executors.
    pub vus: Option<i64>,
    /// `duration`: shortcut for a constant-vus scenario.
    pub duration: Option<K6Duration>,
    /// `iterations`: shortcut for a shared-iterations scenario.
    pub iterations: Option<i64>,
    /// `stages`: shortcut for a ramping-vus scenario.
    pub stages: Option<Vec<RawStage>>,
    /// `scenarios`, in declaration order.
    pub scenarios: Option<Vec<(String, RawScenario)>>,
    /// `executionSegment`: this instance's share.
    pub execution_segment: Option<ExecutionSegment>,
    /// `executionSegmentSequence`: how the test is split.
    pub execution_segment_sequence: Option<ExecutionSegmentSequence>,
    /// `noSetup`: skip `setup()`.
    pub no_setup: Option<bool>,
    /// `setupTimeout` (default 60s).
    pub setup_timeout: Option<K6Duration>,
    /// `noTeardown`: skip `teardown()`.
    pub no_teardown: Option<bool>,
    /// `teardownTimeout` (default 60s).
    pub teardown_timeout: Option<K6Duration>,
    /// `rps`: global request rate limit.
    pub rps: Option<i64>,
    /// `dns`: resolver settings (each part set independently).
    pub dns: DnsOptions,
    /// `maxRedirects` (default 10).
    pub max_redirects: Option<i64>,
    /// `userAgent`.
    pub user_agent: Option<String>,
    /// `batch`: parallel `http.batch` requests (default 20).
    pub batch: Option<i64>,
    /// `batchPerHost` (default 6).
    pub batch_per_host: Option<i64>,
    /// `httpDebug`: `"headers"` or `"full"`.
    pub http_debug: Option<String>,
    /// `insecureSkipTLSVerify`.
    pub insecure_skip_tls_verify: Option<bool>,
    /// `tlsCipherSuites`.
    pub tls_cipher_suites: Option<Vec<String>>,
    /// `tlsVersion`.
    pub tls_version: Option<TlsVersions>,
    /// `tlsAuth`: client certificates.
    pub tls_auth: Option<Vec<TlsAuth>>,
    /// `throw`: turn warnings such as failed requests into exceptions.
    pub throw: Option<bool>,
    /// `thresholds`, in declaration order.
    pub thresholds: Option<Vec<RawThresholdSet>>,
    /// `blacklistIPs`.
    pub blacklist_ips: Option<Vec<IpNet>>,
    /// `blockHostnames` (lower-cased patterns).
    pub block_hostnames: Option<Vec<String>>,
    /// `hosts`: name overrides, in declaration order.
    pub hosts: Option<Vec<(String, HostAddress)>>,
    /// `noConnectionReuse`.
    pub no_connection_reuse: Option<bool>,
    /// `noVUConnectionReuse`.
    pub no_vu_connection_reuse: Option<bool>,
    /// `minIterationDuration`.
    pub min_iteration_duration: Option<K6Duration>,
    /// `ext`: settings for outputs and extensions, kept as written.
    pub ext: Option<Value>,
    /// `summaryTrendStats`.
    pub summary_trend_stats: Option<Vec<String>>,
    /// `summaryTimeUnit`.
    pub summary_time_unit: Option<SummaryTimeUnit>,
    /// `systemTags`.
    pub system_tags: Option<Vec<String>>,
    /// `tags`: tags added to every sample.
    pub tags: Option<BTreeMap<String, String>>,
    /// `metricSamplesBufferSize` (default 1000).
    pub metric_samples_buffer_size: Option<i64>,
    /// `noCookiesReset`.
    pub no_cookies_reset: Option<bool>,
    /// `discardResponseBodies`.
    pub discard_response_bodies: Option<bool>,
    /// `cloud`: cloud settings, kept as written.
    pub cloud: Option<Value>,
    /// `--console-output` / `K6_CONSOLE_OUTPUT`.
    pub console_output: Option<String>,
    /// `--local-ips` / `K6_LOCAL_IPS`.
    pub local_ips: Option<String>,
    /// `out` (config file, `--out`, `K6_OUT`).
    pub out: Option<Vec<String>>,
    /// `linger`.
    pub linger: Option<bool>,
    /// `noUsageReport`.
    pub no_usage_report: Option<bool>,
    /// `webDashboard`.
    pub web_dashboard: Option<bool>,
    /// `--include-system-env-vars`.
    pub include_system_env_vars: Option<bool>,
    /// `--compatibility-mode`.
    pub compatibility_mode: Option<CompatibilityMode>,
    /// `-e NAME=value` pairs for `__ENV`.
    pub env: Option<BTreeMap<String, String>>,
    /// `--no-thresholds`.
    pub no_thresholds: Option<bool>,
    /// `--no-summary`.
    pub no_summary: Option<bool>,
    /// `--summary-export`.
    pub summary_export: Option<String>,
    /// `--summary-mode`.
    pub summary_mode: Option<SummaryMode>,
    /// `--traces-output`.
    pub traces_output: Option<String>,
}

macro_rules! override_if_set {
    ($lower:ident, $higher:ident; $($field:ident),* $(,)?) => {
        $( if $higher.$field.is_some() { $lower.$field = $higher.$field; } )*
    };
}

impl Options {
    /// Field-wise merge where `higher` wins wherever it sets a value; use it
    /// in k6's order: defaults < config file < script < env < CLI.
    ///
    /// As in k6, `duration`, `iterations`, `stages` and `scenarios` move
    /// together: if `higher` sets any of them, all four come from `higher`,
    /// so shortcuts and scenarios of different layers never mix (`vus` is
    /// not part of the group). `tags` and `out` only override when
    /// non-empty.
    pub fn merge(mut self, higher: Options) -> Options {
        if higher.sets_execution() {
            self.duration = higher.duration;
            self.iterations = higher.iterations;
            self.stages = higher.stages;
            self.scenarios = higher.scenarios;
        }
        if higher.tags.as_ref().is_some_and(|t| !t.is_empty()) {
            self.tags = higher.tags;
        }
        if higher.out.as_ref().is_some_and(|o| !o.is_empty()) {
            self.out = higher.out;
        }
        self.dns = self.dns.merge(higher.dns);
        override_if_set!(self, higher;
            paused, vus, execution_segment, execution_segment_sequence, no_setup, setup_timeout,
            no_teardown, teardown_timeout, rps, max_redirects, user_agent, batch, batch_per_host,
            http_debug, insecure_skip_tls_verify, tls_cipher_suites, tls_version, tls_auth, throw,
            thresholds, blacklist_ips, block_hostnames, hosts, no_connection_reuse,
            no_vu_connection_reuse, min_iteration_duration, ext, summary_trend_stats,
            summary_time_unit, system_tags, metric_samples_buffer_size, no_cookies_reset,
            discard_response_bodies, cloud, console_output, local_ips, linger, no_usage_report,
            web_dashboard, include_system_env_vars, compatibility_mode, env, no_thresholds,
            no_summary, summary_export, summary_mode, traces_output,
        );
        self
    }

    /// Merges the four sources in k6's order (config file < script < env <
    /// CLI), returning k6's warnings for layers that throw away scenarios
    /// set by lower ones.
    pub fn consolidate(
        file: Options,
        script: Options,
        env: Options,
        cli: Options,
    ) -> (Options, Vec<String>) {
        let mut warnings = Vec::new();
        let mut merged = file;
        for (layer, name) in [(script, "script"), (env, "env"), (cli, "cli")] {
            warnings.extend(merged.scenario_override_warning(&layer, name));
            merged = merged.merge(layer);
        }
        (merged, warnings)
    }

    /// True when this layer sets `duration`, `iterations`, `stages` or
    /// `scenarios`.
    pub fn sets_execution(&self) -> bool {
        self.duration.is_some()
            || self.iterations.is_some()
            || self.stages.is_some()
            || self.scenarios.is_some()
    }

    /// k6's warning when merging `higher` (named `layer`, e.g. `"env"`) on
    /// top of this layer throws away scenarios set so far.
    pub fn scenario_override_warning(&self, higher: &Options, layer: &str) -> Option<String> {
        (self.scenarios.is_some() && higher.sets_execution()).then(|| {
            format!("\"{layer}\" level configuration overrode scenarios configuration entirely")
        })
    }
}

#[cfg(test)]
mod tests;
