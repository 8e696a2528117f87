//! A validated scenario, and the validation from its raw form with k6's
//! defaults and messages.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::duration::K6Duration;
use crate::error::ConfigError;
use crate::executor::{
    self, BaseInfo, ConstantArrivalRate, ConstantVus, ExecutionStep, ExecutorConfig, ExecutorKind,
    ExternallyControlled, PerVuIterations, RampingArrivalRate, RampingVus, SharedIterations, Stage,
    DEFAULT_GRACEFUL_STOP, MIN_DURATION,
};
use crate::options::{RawScenario, RawStage};
use crate::segment::ExecutionTuple;

/// The function a scenario runs when `exec` is not set.
pub const DEFAULT_EXEC: &str = "default";

/// k6's per-scenario limit on ramping-vus targets.
const MAX_CONCURRENT_VUS: i64 = 100_000_000;

const DEFAULT_MAX_DURATION: Duration = Duration::from_secs(600);
const DEFAULT_TIME_UNIT: Duration = Duration::from_secs(1);

/// One validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The scenario's key in `options.scenarios` (`"default"` for shortcuts).
    pub name: String,
    /// What the executor does.
    pub executor: ExecutorConfig,
    /// `exec` as written; see [`Scenario::exec_fn`].
    pub exec: Option<String>,
    /// Extra `__ENV` variables for this scenario's VUs.
    pub env: BTreeMap<String, String>,
    /// Tags added to this scenario's samples.
    pub tags: BTreeMap<String, String>,
    /// Offset from the test start.
    pub start_time: Duration,
    /// How long running iterations may finish after the scenario ends.
    pub graceful_stop: Duration,
    /// Scenario `options` (browser settings...), as written.
    pub options: Option<Value>,
}

impl Scenario {
    /// The exported function to run: `exec`, or `"default"`.
    pub fn exec_fn(&self) -> &str {
        self.exec.as_deref().unwrap_or(DEFAULT_EXEC)
    }

    /// The line k6 prints for this scenario in its "scenarios:" header.
    pub fn description(&self, tuple: &ExecutionTuple) -> String {
        let base = BaseInfo {
            exec: self.exec.as_deref(),
            start_time: self.start_time,
            graceful_stop: self.graceful_stop,
        };
        executor::description(&self.executor, tuple, base)
    }

    /// VU needs relative to the scenario's own start.
    pub fn execution_requirements(&self, tuple: &ExecutionTuple) -> Vec<ExecutionStep> {
        self.executor
            .execution_requirements(tuple, self.graceful_stop)
    }

    /// Longest run time from the scenario's start, graceful stop included;
    /// `None` when unbounded.
    pub fn max_duration(&self, tuple: &ExecutionTuple) -> Option<Duration> {
        self.executor.max_duration(tuple, self.graceful_stop)
    }

    /// Whether the tuple's segment has anything to run.
    pub fn has_work(&self, tuple: &ExecutionTuple) -> bool {
        self.executor.has_work(tuple)
    }
}

/// Collects a scenario's errors.
struct Check<'a> {
    name: &'a str,
    errors: &'a mut Vec<ConfigError>,
}

impl Check<'_> {
    fn fail(&mut self, reason: impl Into<String>) {
        self.errors.push(ConfigError::scenario(self.name, reason));
    }

    /// A non-negative duration, or `default` when unset.
    fn non_negative(
        &mut self,
        d: Option<K6Duration>,
        default: Duration,
        message: &str,
    ) -> Duration {
        match d {
            None => default,
            Some(d) => d.to_std().unwrap_or_else(|| {
                self.fail(message);
                Duration::ZERO
            }),
        }
    }

    /// A required duration of at least one second.
    fn long_enough(
        &mut self,
        d: Option<K6Duration>,
        what: &str,
        default: Option<Duration>,
    ) -> Duration {
        let Some(d) = d.or_else(|| default.map(K6Duration::from_std)) else {
            self.fail(format!("the {what} is unspecified"));
            return Duration::ZERO;
        };
        match d.to_std() {
            Some(std) if std >= MIN_DURATION => std,
            _ => {
                self.fail(format!("the {what} must be at least 1s, but is {d}"));
                Duration::ZERO
            }
        }
    }

    fn stages(&mut self, stages: Option<&[RawStage]>) -> Vec<Stage> {
        let stages = stages.unwrap_or_default();
        if stages.is_empty() {
            self.fail("at least one stage has to be specified");
        }
        let mut result = Vec::with_capacity(stages.len());
        for (i, s) in stages.iter().enumerate() {
            let n = i + 1;
            let duration = match s.duration {
                None => {
                    self.fail(format!("stage {n} doesn't have a duration"));
                    Duration::ZERO
                }
                Some(d) => self.non_negative(
                    Some(d),
                    Duration::ZERO,
                    &format!("the duration for stage {n} can't be negative"),
                ),
            };
            let target = match s.target {
                None => {
                    self.fail(format!("stage {n} doesn't have a target"));
                    0
                }
                Some(t) if t < 0 => {
                    self.fail(format!("the target for stage {n} can't be negative"));
                    0
                }
                Some(t) => t as u64,
            };
            result.push(Stage::new(duration, target));
        }
        result
    }

    /// `preAllocatedVUs` (required) and `maxVUs` (defaults to it).
    fn arrival_vus(&mut self, raw: &RawScenario) -> (u64, u64) {
        let pre = match raw.pre_allocated_vus {
            None => {
                self.fail("the number of preAllocatedVUs isn't specified");
                0
            }
            Some(p) if p < 0 => {
                self.fail("the number of preAllocatedVUs can't be negative");
                0
            }
            Some(p) => p,
        };
        let max = raw.max_vus.unwrap_or(pre);
        if max < pre {
            self.fail("maxVUs can't be less than preAllocatedVUs");
        }
        (pre as u64, max.max(pre) as u64)
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Validates a raw scenario, appending every problem to `errors`.
pub(crate) fn resolve_scenario(
    name: &str,
    raw: &RawScenario,
    errors: &mut Vec<ConfigError>,
) -> Option<Scenario> {
    let before = errors.len();
    let mut c = Check { name, errors };
    if !valid_name(name) {
        c.fail(
            "the scenario name should contain only numbers, latin letters, underscores, and dashes",
        );
    }
    if raw.exec.as_deref() == Some("") {
        c.fail("exec value cannot be empty");
    }
    let start_time = c.non_negative(
        raw.start_time,
        Duration::ZERO,
        "the startTime can't be negative",
    );
    let graceful_stop = c.non_negative(
        raw.graceful_stop,
        DEFAULT_GRACEFUL_STOP,
        "the gracefulStop timeout can't be negative",
    );
    let executor = match raw.executor {
        ExecutorKind::SharedIterations => shared_iterations(raw, &mut c),
        ExecutorKind::PerVuIterations => per_vu_iterations(raw, &mut c),
        ExecutorKind::ConstantVus => constant_vus(raw, &mut c),
        ExecutorKind::RampingVus => ramping_vus(raw, &mut c),
        ExecutorKind::ConstantArrivalRate => constant_arrival_rate(raw, &mut c),
        ExecutorKind::RampingArrivalRate => ramping_arrival_rate(raw, &mut c),
        ExecutorKind::ExternallyControlled => externally_controlled(raw, &mut c),
    };
    (errors.len() == before).then(|| Scenario {
        name: name.to_owned(),
        executor,
        exec: raw.exec.clone(),
        env: raw.env.clone().unwrap_or_default(),
        tags: raw.tags.clone().unwrap_or_default(),
        start_time,
        graceful_stop,
        options: raw.options.clone(),
    })
}

fn positive_vus(raw: &RawScenario, c: &mut Check) -> u64 {
    let vus = raw.vus.unwrap_or(1);
    if vus <= 0 {
        c.fail("the number of VUs must be more than 0");
    }
    vus.max(0) as u64
}

fn shared_iterations(raw: &RawScenario, c: &mut Check) -> ExecutorConfig {
    let vus = positive_vus(raw, c);
    let iterations = raw.iterations.unwrap_or(1);
    if iterations < vus as i64 {
        c.fail(format!(
            "the number of iterations ({iterations}) can't be less than the number of VUs ({vus})"
        ));
    }
    let max_duration = c.long_enough(raw.max_duration, "maxDuration", Some(DEFAULT_MAX_DURATION));
    ExecutorConfig::SharedIterations(SharedIterations {
        vus,
        iterations: iterations.max(0) as u64,
        max_duration,
    })
}

fn per_vu_iterations(raw: &RawScenario, c: &mut Check) -> ExecutorConfig {
    let vus = positive_vus(raw, c);
    let iterations = raw.iterations.unwrap_or(1);
    if iterations <= 0 {
        c.fail("the number of iterations must be more than 0");
    }
    let max_duration = c.long_enough(raw.max_duration, "maxDuration", Some(DEFAULT_MAX_DURATION));
    ExecutorConfig::PerVuIterations(PerVuIterations {
        vus,
        iterations: iterations.max(0) as u64,
        max_duration,
    })
}

fn constant_vus(raw: &RawScenario, c: &mut Check) -> ExecutorConfig {
    let vus = positive_vus(raw, c);
    let duration = c.long_enough(raw.duration, "duration", None);
    ExecutorConfig::ConstantVus(ConstantVus { vus, duration })
}

fn ramping_vus(raw: &RawScenario, c: &mut Check) -> ExecutorConfig {
    let start = raw.start_vus.unwrap_or(1);
    if start < 0 {
        c.fail("the number of start VUs can't be negative");
    }
    let targets = raw.stages.iter().flatten().filter_map(|s| s.target);
    if targets.clone().fold(start, i64::max) <= 0 {
        c.fail("either startVUs or one of the stages' target values must be greater than 0");
    }
    let stages = c.stages(raw.stages.as_deref());
    if start > MAX_CONCURRENT_VUS {
        c.fail(format!(
            "the startVUs exceed max limit of {MAX_CONCURRENT_VUS}"
        ));
    }
    for (i, s) in raw.stages.iter().flatten().enumerate() {
        if s.target.is_some_and(|t| t > MAX_CONCURRENT_VUS) {
            c.fail(format!(
                "target for stage {} exceeds max limit of {MAX_CONCURRENT_VUS}",
                i + 1
            ));
        }
    }
    let graceful_ramp_down = c.non_negative(
        raw.graceful_ramp_down,
        DEFAULT_GRACEFUL_STOP,
        "the gracefulRampDown can't be negative",
    );
    ExecutorConfig::RampingVus(RampingVus {
        start_vus: start.max(0) as u64,
        stages,
        graceful_ramp_down,
    })
}

fn time_unit(raw: &RawScenario, c: &mut Check) -> Duration {
    match raw.time_unit.map(|t| t.to_std()) {
        None => DEFAULT_TIME_UNIT,
        Some(Some(t)) if !t.is_zero() => t,
        Some(_) => {
            c.fail("the timeUnit must be more than 0");
            DEFAULT_TIME_UNIT
        }
    }
}

fn constant_arrival_rate(raw: &RawScenario, c: &mut Check) -> ExecutorConfig {
    let rate = match raw.rate {
        None => {
            c.fail("the iteration rate isn't specified");
            0
        }
        Some(r) if r <= 0 => {
            c.fail("the iteration rate must be more than 0");
            0
        }
        Some(r) => r as u64,
    };
    let time_unit = time_unit(raw, c);
    let duration = c.long_enough(raw.duration, "duration", None);
    let (pre_allocated_vus, max_vus) = c.arrival_vus(raw);
    ExecutorConfig::ConstantArrivalRate(ConstantArrivalRate {
        rate,
        time_unit,
        duration,
        pre_allocated_vus,
        max_vus,
    })
}

fn ramping_arrival_rate(raw: &RawScenario, c: &mut Check) -> ExecutorConfig {
    let start_rate = raw.start_rate.unwrap_or(0);
    if start_rate < 0 {
        c.fail("the startRate value can't be negative");
    }
    let time_unit = time_unit(raw, c);
    let stages = c.stages(raw.stages.as_deref());
    let (pre_allocated_vus, max_vus) = c.arrival_vus(raw);
    ExecutorConfig::RampingArrivalRate(RampingArrivalRate {
        start_rate: start_rate.max(0) as u64,
        time_unit,
        stages,
        pre_allocated_vus,
        max_vus,
    })
}

fn externally_controlled(raw: &RawScenario, c: &mut Check) -> ExecutorConfig {
    let vus = raw.vus.unwrap_or(0);
    if vus < 0 {
        c.fail("the number of VUs can't be negative");
    }
    let max_vus = raw.max_vus.unwrap_or(vus);
    if max_vus < vus {
        c.fail(format!(
            "the number of active VUs ({vus}) must be less than or equal to the number of maxVUs ({max_vus})"
        ));
    }
    let duration = match raw.duration {
        None => {
            c.fail("the duration must be specified, for infinite duration use 0");
            Duration::ZERO
        }
        Some(d) => c.non_negative(
            Some(d),
            Duration::ZERO,
            "the duration can't be negative, for infinite duration use 0",
        ),
    };
    if raw.graceful_stop.is_some() {
        c.fail("gracefulStop is not supported by the externally controlled executor");
    }
    ExecutorConfig::ExternallyControlled(ExternallyControlled {
        vus: vus.max(0) as u64,
        max_vus: max_vus.max(0) as u64,
        duration,
    })
}
