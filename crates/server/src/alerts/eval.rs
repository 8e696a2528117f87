//! The alert evaluator: pure state, no I/O, no clock of its own.
//!
//! Rules are compiled once ([`compile`]: the metric, the statistic as in
//! k6 thresholds, the comparison) so that a bad rule is a 422 when it is
//! saved, never a surprise while a run goes. Each merged interval of a run
//! is fed in with the time it arrived; the evaluator keeps the intervals of
//! the longest lookback, merges the series a rule selects over the rule's
//! lookback and compares the statistic. Like Prometheus' `for`, the
//! condition must hold at every evaluation for the whole window before the
//! alert fires (so it fires at the first evaluation past the window: runs
//! report every second, well within the 2 s the issue asks for); an
//! evaluation without data for the metric does not hold. Once firing, an
//! episode fires once: it resolves only after the condition has failed for
//! a full lookback (hysteresis, so a value hovering at the threshold does
//! not flap), or when its run ends. And episodes of one rule and subject
//! fire at least the rule's `min_interval_ms` apart (default five minutes):
//! a metric flapping slower than the hysteresis opens new episodes, but a
//! new episode within the interval of the last firing waits, holding, and
//! fires only when the interval is over and the condition still holds — so
//! a channel gets at most one notification per interval.
//!
//! Platform rules (`workers_available`, `worker_cpu_percent`,
//! `worker_memory_percent`) take the latest [`WorkerSample`]s instead.

use std::collections::{BTreeMap, HashMap, VecDeque};

use stampede_metrics::{Aggregate, Builtin, MetricType, Stat, TagSet, WireSnapshot};
use stampede_store::{AlertRule, NewAlertRule, RuleScope, RunId, ScenarioId};

/// The platform's own metrics, for rules of the platform scope.
pub const PLATFORM_METRICS: &[&str] = &[
    "workers_available",
    "worker_cpu_percent",
    "worker_memory_percent",
];

/// A rule ready to evaluate.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The stored rule.
    pub rule: AlertRule,
    tags: TagSet,
    stat: Stat,
}

/// Checks a rule's meaning and compiles it. `known` says whether a metric
/// name is known (built-in, platform, or seen in a run); the error is the
/// message of the 422.
pub fn check(rule: &NewAlertRule, known: &dyn Fn(&str) -> bool) -> Result<(Stat, TagSet), String> {
    let stat: Stat = rule
        .stat
        .parse()
        .map_err(|e| format!("invalid stat '{}': {e}", rule.stat))?;
    if rule.scope == RuleScope::Platform {
        if !PLATFORM_METRICS.contains(&rule.metric.as_str()) {
            return Err(format!(
                "unknown platform metric '{}' (expected one of: {})",
                rule.metric,
                PLATFORM_METRICS.join(", ")
            ));
        }
        if stat != Stat::Value {
            return Err("platform metrics are gauges: the stat must be 'value'".into());
        }
        if !rule.tags.is_empty() {
            return Err("platform metrics have no tags".into());
        }
    } else {
        if !known(&rule.metric) {
            return Err(format!(
                "unknown metric '{}': not a k6 built-in metric nor one a run has reported",
                rule.metric
            ));
        }
        if let Some(b) = Builtin::from_name(&rule.metric) {
            if !stat.applies_to(b.kind()) {
                return Err(format!(
                    "the stat '{}' does not apply to '{}', a {:?} metric",
                    rule.stat,
                    rule.metric,
                    b.kind()
                ));
            }
        }
    }
    Ok((stat, TagSet::from_pairs(rule.tags.clone())))
}

/// Compiles a stored rule (rules are checked when saved; a rule that no
/// longer compiles, say after a downgrade, is skipped with the message).
pub fn compile(rule: AlertRule) -> Result<Compiled, String> {
    let (stat, tags) = check(&rule.rule, &|_| true)?;
    Ok(Compiled { rule, tags, stat })
}

fn compare(op: &str, lhs: f64, rhs: f64) -> bool {
    match op {
        ">" => lhs > rhs,
        ">=" => lhs >= rhs,
        "<" => lhs < rhs,
        "<=" => lhs <= rhs,
        "==" => lhs == rhs,
        "!=" => lhs != rhs,
        _ => false,
    }
}

/// What the platform reports about one worker.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerSample {
    /// The worker's id.
    pub id: String,
    /// Whether it can take work.
    pub online: bool,
    /// CPU use in percent, when reported.
    pub cpu_percent: Option<f64>,
    /// Memory use in percent, when reported.
    pub memory_percent: Option<f64>,
}

/// A change the evaluator decided.
#[derive(Clone, Debug, PartialEq)]
pub enum Transition {
    /// A rule's window was met for a subject.
    Fire {
        /// The rule.
        rule_id: i64,
        /// `run:N`, `worker:ID` or `platform`.
        subject: String,
        /// The run, for run rules.
        run_id: Option<RunId>,
        /// The value that crossed.
        value: f64,
        /// For people.
        message: String,
    },
    /// It no longer holds.
    Resolve {
        /// The rule.
        rule_id: i64,
        /// The subject.
        subject: String,
    },
}

#[derive(Clone, Debug, Default)]
struct Episode {
    /// Since when the condition holds (evaluation time, ms).
    holding_since: Option<i64>,
    /// Since when it fails, while firing.
    clear_since: Option<i64>,
    firing: bool,
}

struct RunData {
    scenario: ScenarioId,
    /// (arrival ms, snapshot), oldest first.
    intervals: VecDeque<(i64, WireSnapshot)>,
}

/// The evaluator's state.
#[derive(Default)]
pub struct Evaluator {
    rules: Vec<Compiled>,
    episodes: HashMap<(i64, String), Episode>,
    /// When each (rule, subject) last fired (ms), kept across episodes.
    last_fired: HashMap<(i64, String), i64>,
    runs: HashMap<RunId, RunData>,
}

impl Evaluator {
    /// Replaces the rules (keeping the episodes of rules that remain).
    pub fn set_rules(&mut self, rules: Vec<Compiled>) {
        let ids: Vec<i64> = rules.iter().map(|r| r.rule.id).collect();
        self.episodes.retain(|(id, _), _| ids.contains(id));
        self.last_fired.retain(|(id, _), _| ids.contains(id));
        self.rules = rules;
    }

    /// Marks `(rule, subject)` as firing already (alerts found firing in
    /// the store at start-up), so that it is not fired a second time.
    pub fn adopt_firing(&mut self, rule_id: i64, subject: &str) {
        self.episodes.insert(
            (rule_id, subject.to_string()),
            Episode {
                firing: true,
                ..Episode::default()
            },
        );
    }

    fn max_lookback_ms(&self) -> i64 {
        self.rules
            .iter()
            .map(|r| r.rule.rule.lookback_ms)
            .max()
            .unwrap_or(1000)
    }

    /// Feeds one merged interval of `run`, arrived at `now_ms`; returns the
    /// transitions of the run rules.
    pub fn observe_interval(
        &mut self,
        run: RunId,
        scenario: ScenarioId,
        snapshot: WireSnapshot,
        now_ms: i64,
    ) -> Vec<Transition> {
        let keep = self.max_lookback_ms();
        let data = self.runs.entry(run).or_insert_with(|| RunData {
            scenario,
            intervals: VecDeque::new(),
        });
        data.intervals.push_back((now_ms, snapshot));
        while data
            .intervals
            .front()
            .is_some_and(|(t, _)| *t <= now_ms - keep)
        {
            data.intervals.pop_front();
        }
        let scenario = data.scenario;
        let data = &*data;
        let values: Vec<(Compiled, Option<f64>)> = self
            .rules
            .iter()
            .filter(|r| {
                r.rule.rule.enabled
                    && match r.rule.rule.scope {
                        RuleScope::Runs => true,
                        RuleScope::Scenario => r.rule.rule.scenario_id == Some(scenario),
                        RuleScope::Platform => false,
                    }
            })
            .map(|r| (r.clone(), window_value(r, &data.intervals, now_ms)))
            .collect();
        let subject = format!("run:{run}");
        values
            .into_iter()
            .filter_map(|(r, value)| self.step(&r, &subject, Some(run), value, now_ms))
            .collect()
    }

    /// The run ended: its alerts resolve and its data is dropped.
    pub fn run_ended(&mut self, run: RunId) -> Vec<Transition> {
        self.runs.remove(&run);
        let subject = format!("run:{run}");
        self.last_fired.retain(|(_, s), _| *s != subject);
        let mut out = Vec::new();
        self.episodes.retain(|(rule_id, s), ep| {
            if *s != subject {
                return true;
            }
            if ep.firing {
                out.push(Transition::Resolve {
                    rule_id: *rule_id,
                    subject: s.clone(),
                });
            }
            false
        });
        out
    }

    /// Feeds the platform's state at `now_ms`; returns the transitions of
    /// the platform rules.
    pub fn observe_platform(&mut self, workers: &[WorkerSample], now_ms: i64) -> Vec<Transition> {
        let mut out = Vec::new();
        let rules: Vec<Compiled> = self
            .rules
            .iter()
            .filter(|r| r.rule.rule.enabled && r.rule.rule.scope == RuleScope::Platform)
            .cloned()
            .collect();
        for r in &rules {
            let mut samples: Vec<(String, Option<f64>)> = Vec::new();
            match r.rule.rule.metric.as_str() {
                "workers_available" => samples.push((
                    "platform".into(),
                    Some(workers.iter().filter(|w| w.online).count() as f64),
                )),
                "worker_cpu_percent" => samples.extend(
                    workers
                        .iter()
                        .map(|w| (format!("worker:{}", w.id), w.cpu_percent)),
                ),
                "worker_memory_percent" => samples.extend(
                    workers
                        .iter()
                        .map(|w| (format!("worker:{}", w.id), w.memory_percent)),
                ),
                _ => {}
            }
            // Workers that went away: their episodes see no data.
            let prefix = "worker:";
            let gone: Vec<String> = self
                .episodes
                .keys()
                .filter(|(id, s)| {
                    *id == r.rule.id
                        && s.starts_with(prefix)
                        && !samples.iter().any(|(x, _)| x == s)
                })
                .map(|(_, s)| s.clone())
                .collect();
            samples.extend(gone.into_iter().map(|s| (s, None)));
            for (subject, value) in samples {
                if let Some(t) = self.step(r, &subject, None, value, now_ms) {
                    out.push(t);
                }
            }
        }
        out
    }

    /// One evaluation of `r` for `subject`.
    fn step(
        &mut self,
        r: &Compiled,
        subject: &str,
        run: Option<RunId>,
        value: Option<f64>,
        now_ms: i64,
    ) -> Option<Transition> {
        let rule = &r.rule.rule;
        let holds = value.is_some_and(|v| compare(&rule.op, v, rule.threshold));
        let key = (r.rule.id, subject.to_string());
        let ep = self.episodes.entry(key.clone()).or_default();
        if holds {
            ep.clear_since = None;
            let since = *ep.holding_since.get_or_insert(now_ms);
            let last = self.last_fired.get(&key).copied();
            let rested = last.is_none_or(|t| now_ms - t >= rule.min_interval_ms);
            if !ep.firing && now_ms - since >= rule.for_ms && rested {
                ep.firing = true;
                self.last_fired.insert(key, now_ms);
                let v = value.unwrap_or_default();
                return Some(Transition::Fire {
                    rule_id: r.rule.id,
                    subject: subject.to_string(),
                    run_id: run,
                    value: v,
                    message: format!(
                        "{}: {}{} = {} {} {} for {}",
                        rule.name,
                        rule.metric,
                        tags_text(&rule.tags),
                        fmt_value(v),
                        rule.op,
                        fmt_value(rule.threshold),
                        fmt_window(rule.for_ms)
                    ),
                });
            }
            return None;
        }
        ep.holding_since = None;
        if !ep.firing {
            self.episodes.remove(&key);
            return None;
        }
        let since = *ep.clear_since.get_or_insert(now_ms);
        if now_ms - since >= rule.lookback_ms.min(60_000) {
            self.episodes.remove(&key);
            return Some(Transition::Resolve {
                rule_id: r.rule.id,
                subject: subject.to_string(),
            });
        }
        None
    }

    /// The rule with id `id`, if loaded.
    pub fn rule(&self, id: i64) -> Option<&AlertRule> {
        self.rules.iter().find(|r| r.rule.id == id).map(|r| &r.rule)
    }
}

/// The rule's statistic over the intervals that arrived within its
/// lookback; `None` without samples of the metric.
fn window_value(
    r: &Compiled,
    intervals: &VecDeque<(i64, WireSnapshot)>,
    now_ms: i64,
) -> Option<f64> {
    let lookback = r.rule.rule.lookback_ms;
    let mut merged: Option<Aggregate> = None;
    let mut covered_ns: u64 = 0;
    for (_, snap) in intervals.iter().filter(|(t, _)| *t > now_ms - lookback) {
        covered_ns += snap.end_ns.saturating_sub(snap.start_ns);
        for e in &snap.entries {
            let Some(m) = snap.metrics.get(e.metric as usize) else {
                continue;
            };
            if m.name != r.rule.rule.metric || !e.tags.contains(&r.tags) {
                continue;
            }
            match &mut merged {
                Some(a) if a.kind() == e.agg.kind() => a.merge(&e.agg),
                Some(_) => {}
                None => merged = Some(e.agg.clone()),
            }
        }
    }
    let agg = merged.filter(|a| !a.is_empty())?;
    if r.stat == Stat::Value && agg.kind() != MetricType::Gauge {
        return None;
    }
    agg.stat(&r.stat, std::time::Duration::from_nanos(covered_ns.max(1)))
}

fn tags_text(tags: &BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = tags.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("{{{}}}", inner.join(","))
}

fn fmt_value(v: f64) -> String {
    let r = (v * 1000.0).round() / 1000.0;
    format!("{r}")
}

fn fmt_window(ms: i64) -> String {
    match ms {
        0 => "any time".into(),
        ms if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        ms if ms % 1000 == 0 => format!("{}s", ms / 1000),
        ms => format!("{ms}ms"),
    }
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
