//! Merged options into a validated [`Plan`], reporting every error.

use std::time::Duration;

use super::derive::derive_scenarios;
use super::scenario::resolve_scenario;
use super::settings::*;
use super::{Plan, ThresholdSpec};
use crate::duration::K6Duration;
use crate::error::ConfigError;
use crate::options::{Options, DEFAULT_SUMMARY_TREND_STATS, DEFAULT_SYSTEM_TAGS};
use crate::segment::ExecutionTuple;

pub(super) fn resolve(o: Options) -> Result<Plan, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let mut derived = o.clone();
    let warnings = derive_scenarios(&mut derived).unwrap_or_else(|e| {
        errors.push(e);
        Vec::new()
    });
    let derived_scenarios = derived.scenarios.unwrap_or_default();
    let mut scenarios: Vec<_> = derived_scenarios
        .iter()
        .filter_map(|(name, raw)| resolve_scenario(name, raw, &mut errors))
        .collect();
    scenarios.sort_by(|a, b| {
        a.start_time
            .cmp(&b.start_time)
            .then_with(|| a.name.cmp(&b.name))
    });

    let tuple = resolve_tuple(&o, &mut errors);
    let thresholds = resolve_thresholds(&o, &mut errors);
    let mut v = Values {
        errors: &mut errors,
    };
    let run = RunSettings {
        paused: o.paused.unwrap_or(false),
        no_setup: o.no_setup.unwrap_or(false),
        setup_timeout: v.duration("setupTimeout", o.setup_timeout, DEFAULT_SETUP_TIMEOUT),
        no_teardown: o.no_teardown.unwrap_or(false),
        teardown_timeout: v.duration("teardownTimeout", o.teardown_timeout, DEFAULT_SETUP_TIMEOUT),
        min_iteration_duration: v.duration(
            "minIterationDuration",
            o.min_iteration_duration,
            Duration::ZERO,
        ),
        throw: o.throw.unwrap_or(false),
        no_cookies_reset: o.no_cookies_reset.unwrap_or(false),
        tags: o.tags.clone().unwrap_or_default(),
        system_tags: o
            .system_tags
            .clone()
            .unwrap_or_else(|| DEFAULT_SYSTEM_TAGS.map(str::to_owned).to_vec()),
        metric_samples_buffer_size: v
            .count("metricSamplesBufferSize", o.metric_samples_buffer_size)
            .unwrap_or(DEFAULT_METRIC_SAMPLES_BUFFER_SIZE),
        console_output: o.console_output.clone(),
        include_system_env_vars: o.include_system_env_vars,
        compatibility_mode: o.compatibility_mode.unwrap_or_default(),
        env: o.env.clone().unwrap_or_default(),
        ext: o.ext.clone(),
        cloud: o.cloud.clone(),
    };
    let http = HttpSettings {
        rps: v.count("rps", o.rps).filter(|r| *r > 0),
        dns: o.dns.resolve(),
        max_redirects: v.small("maxRedirects", o.max_redirects, DEFAULT_MAX_REDIRECTS),
        user_agent: o.user_agent.clone(),
        batch: v.small("batch", o.batch, DEFAULT_BATCH),
        batch_per_host: v.small("batchPerHost", o.batch_per_host, DEFAULT_BATCH_PER_HOST),
        http_debug: o.http_debug.clone().filter(|d| !d.is_empty()),
        insecure_skip_tls_verify: o.insecure_skip_tls_verify.unwrap_or(false),
        tls_cipher_suites: o.tls_cipher_suites.clone(),
        tls_version: o.tls_version.unwrap_or_default(),
        tls_auth: o.tls_auth.clone().unwrap_or_default(),
        blacklist_ips: o.blacklist_ips.clone().unwrap_or_default(),
        block_hostnames: o.block_hostnames.clone().unwrap_or_default(),
        hosts: o.hosts.clone().unwrap_or_default(),
        no_connection_reuse: o.no_connection_reuse.unwrap_or(false),
        no_vu_connection_reuse: o.no_vu_connection_reuse.unwrap_or(false),
        discard_response_bodies: o.discard_response_bodies.unwrap_or(false),
        local_ips: o.local_ips.clone(),
    };
    let summary = SummarySettings {
        trend_stats: o
            .summary_trend_stats
            .clone()
            .unwrap_or_else(|| DEFAULT_SUMMARY_TREND_STATS.map(str::to_owned).to_vec()),
        time_unit: o.summary_time_unit,
        mode: o.summary_mode.unwrap_or_default(),
        no_summary: o.no_summary.unwrap_or(false),
        export: o.summary_export.clone().filter(|e| !e.is_empty()),
        no_thresholds: o.no_thresholds.unwrap_or(false),
    };
    let outputs = OutputSettings {
        out: o.out.clone().unwrap_or_default(),
        linger: o.linger.unwrap_or(false),
        no_usage_report: o.no_usage_report.unwrap_or(false),
        web_dashboard: o.web_dashboard.unwrap_or(false),
        traces_output: o.traces_output.clone(),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Plan {
        scenarios,
        thresholds,
        tuple: tuple.unwrap_or_default(),
        run,
        http,
        summary,
        outputs,
        warnings,
        options: o,
        derived_scenarios,
    })
}

fn resolve_tuple(o: &Options, errors: &mut Vec<ConfigError>) -> Option<ExecutionTuple> {
    if let (Some(seq), segment) = (
        &o.execution_segment_sequence,
        o.execution_segment.unwrap_or_default(),
    ) {
        if !seq.is_empty() && !seq.contains(&segment) {
            errors.push(ConfigError::Invalid(format!(
                "provided segment {segment} can't be found in sequence {seq}"
            )));
            return None;
        }
    }
    ExecutionTuple::new(
        o.execution_segment.as_ref(),
        o.execution_segment_sequence.as_ref(),
    )
    .map_err(|e| errors.push(ConfigError::Invalid(e.to_string())))
    .ok()
}

fn resolve_thresholds(o: &Options, errors: &mut Vec<ConfigError>) -> Vec<ThresholdSpec> {
    let mut result = Vec::new();
    for set in o.thresholds.iter().flatten() {
        for (i, t) in set.thresholds.iter().enumerate() {
            let delay_abort_eval = t.delay_abort_eval.and_then(|d| {
                d.to_std().or_else(|| {
                    errors.push(ConfigError::value(
                        format!("thresholds[\"{}\"][{i}].delayAbortEval", set.selector),
                        format!("must not be negative, got {d}"),
                    ));
                    None
                })
            });
            result.push(ThresholdSpec {
                selector: set.selector.clone(),
                expr: t.expr.clone(),
                abort_on_fail: t.abort_on_fail,
                delay_abort_eval,
            });
        }
    }
    result
}

/// Range checks for plain option values.
struct Values<'a> {
    errors: &'a mut Vec<ConfigError>,
}

impl Values<'_> {
    fn duration(&mut self, option: &str, d: Option<K6Duration>, default: Duration) -> Duration {
        match d {
            None => default,
            Some(d) => d.to_std().unwrap_or_else(|| {
                self.errors.push(ConfigError::value(
                    option,
                    format!("must not be negative, got {d}"),
                ));
                default
            }),
        }
    }

    fn count(&mut self, option: &str, v: Option<i64>) -> Option<u64> {
        let v = v?;
        u64::try_from(v)
            .map_err(|_| {
                self.errors.push(ConfigError::value(
                    option,
                    format!("must not be negative, got {v}"),
                ))
            })
            .ok()
    }

    fn small(&mut self, option: &str, v: Option<i64>, default: u32) -> u32 {
        let Some(n) = self.count(option, v) else {
            return default;
        };
        u32::try_from(n).unwrap_or_else(|_| {
            self.errors
                .push(ConfigError::value(option, format!("{n} is too large")));
            default
        })
    }
}
