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
//!
//! The per-(rule, subject) state — holding since, clearing since, firing,
//! last fired — outlives the process: [`Evaluator::take_changes`] hands
//! the states that changed (and, every [`REFRESH_MS`], those that hold or
//! fire, so their `seen_at` stays recent) to the caller, which stores
//! them; a new leader or a restarted server [`Evaluator::restore`]s them
//! and continues each window where it was (like Prometheus' restored
//! `for` state). A state not seen for [`RESUME_GRACE_MS`] restarts its
//! window: nobody watched the condition in between. Followers keep the
//! intervals of the lookback ([`Evaluator::buffer_interval`]) without
//! evaluating, so a new leader's first evaluation has its data.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use stampede_metrics::{Aggregate, Builtin, MetricType, Stat, TagSet, WireSnapshot};
use stampede_store::{AlertEpisode, AlertRule, NewAlertRule, RuleScope, RunId, ScenarioId};

/// How often a state that holds or fires is stored again (its `seen_at`).
pub const REFRESH_MS: i64 = 5_000;
/// A stored state seen longer ago than this restarts its window when
/// restored (a takeover takes about the leader lease's 5 s TTL).
pub const RESUME_GRACE_MS: i64 = 30_000;

/// A rule and a subject.
type Key = (i64, String);

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
    episodes: HashMap<Key, Episode>,
    /// When each (rule, subject) last fired (ms), kept across episodes.
    last_fired: HashMap<Key, i64>,
    runs: HashMap<RunId, RunData>,
    /// The states as last handed out by `take_changes` (or restored).
    saved: HashMap<Key, AlertEpisode>,
    /// Keys evaluated since the last `take_changes`.
    touched: HashSet<Key>,
}

impl Evaluator {
    /// Replaces the rules (keeping the episodes of rules that remain).
    pub fn set_rules(&mut self, rules: Vec<Compiled>) {
        let ids: HashSet<i64> = rules.iter().map(|r| r.rule.id).collect();
        self.episodes.retain(|(id, _), _| ids.contains(id));
        self.last_fired.retain(|(id, _), _| ids.contains(id));
        // A deleted rule's stored states go with it (`ON DELETE CASCADE`).
        self.saved.retain(|(id, _), _| ids.contains(id));
        self.touched.retain(|(id, _)| ids.contains(id));
        self.rules = rules;
    }

    /// Replaces the episodes with stored ones (a new leader, a restart) at
    /// `now_ms`: `states` as the previous evaluator left them, `firing` the
    /// (rule, subject) pairs whose alert the store holds firing — the
    /// alerts decide what fires, so an episode is never fired twice. Call
    /// after [`Evaluator::set_rules`]: states of unknown rules are dropped.
    pub fn restore(&mut self, states: Vec<AlertEpisode>, firing: &[(i64, String)], now_ms: i64) {
        self.episodes.clear();
        self.last_fired.clear();
        self.saved.clear();
        self.touched.clear();
        let ids: HashSet<i64> = self.rules.iter().map(|r| r.rule.id).collect();
        let firing: HashSet<&Key> = firing.iter().filter(|k| ids.contains(&k.0)).collect();
        for st in states.into_iter().filter(|s| ids.contains(&s.rule_id)) {
            let key = (st.rule_id, st.subject.clone());
            let fresh = now_ms - st.seen_at <= RESUME_GRACE_MS;
            let ep = Episode {
                holding_since: st.holding_since.filter(|_| fresh),
                clear_since: st.clear_since.filter(|_| fresh),
                firing: firing.contains(&key),
            };
            if ep.holding_since.is_some() || ep.firing {
                self.episodes.insert(key.clone(), ep);
            }
            if let Some(t) = st.last_fired {
                self.last_fired.insert(key.clone(), t);
            }
            // Compared with what it becomes at the next `take_changes`.
            self.touched.insert(key.clone());
            self.saved.insert(key, st);
        }
        for key in firing {
            self.touched.insert(key.clone());
            self.episodes.entry(key.clone()).or_default().firing = true;
        }
    }

    /// The state of `key` to store at `now_ms`; `None`: nothing to keep.
    fn state_of(&self, key: &Key, now_ms: i64) -> Option<AlertEpisode> {
        let ep = self.episodes.get(key);
        let last_fired = self.last_fired.get(key).copied();
        if ep.is_none() && last_fired.is_none() {
            return None;
        }
        let ep = ep.cloned().unwrap_or_default();
        Some(AlertEpisode {
            rule_id: key.0,
            subject: key.1.clone(),
            holding_since: ep.holding_since,
            clear_since: ep.clear_since,
            firing: ep.firing,
            last_fired,
            seen_at: now_ms,
        })
    }

    /// The states changed since the last call (`None`: delete the stored
    /// one), and at most every [`REFRESH_MS`] those that hold or fire.
    /// They count as stored once taken: see [`Evaluator::unsaved`].
    pub fn take_changes(&mut self, now_ms: i64) -> Vec<(Key, Option<AlertEpisode>)> {
        let mut out = Vec::new();
        let mut keys: Vec<Key> = self.touched.drain().collect();
        keys.sort();
        for key in keys {
            let now = self.state_of(&key, now_ms);
            let changed = match (&now, self.saved.get(&key)) {
                (None, None) => false,
                (Some(_), None) | (None, Some(_)) => true,
                (Some(n), Some(s)) => {
                    let live = n.holding_since.is_some() || n.firing;
                    AlertEpisode {
                        seen_at: 0,
                        ..n.clone()
                    } != AlertEpisode {
                        seen_at: 0,
                        ..s.clone()
                    } || (live && now_ms - s.seen_at >= REFRESH_MS)
                }
            };
            if !changed {
                continue;
            }
            match &now {
                Some(st) => self.saved.insert(key.clone(), st.clone()),
                None => self.saved.remove(&key),
            };
            out.push((key, now));
        }
        out
    }

    /// Storing `key`'s state failed: it is handed out again next time.
    pub fn unsaved(&mut self, key: Key) {
        self.saved.remove(&key);
        self.touched.insert(key);
    }

    /// The runs the evaluator keeps something of (to end those whose end
    /// it missed: ended while no leader watched, or a lagging hub).
    pub fn runs_with_state(&self) -> Vec<RunId> {
        let mut runs: Vec<RunId> = self
            .episodes
            .keys()
            .chain(self.last_fired.keys())
            .filter_map(|(_, s)| s.strip_prefix("run:")?.parse().ok().map(RunId))
            .chain(self.runs.keys().copied())
            .collect();
        runs.sort_by_key(|r| r.0);
        runs.dedup();
        runs
    }

    fn max_lookback_ms(&self) -> i64 {
        self.rules
            .iter()
            .map(|r| r.rule.rule.lookback_ms)
            .max()
            .unwrap_or(1000)
    }

    /// Keeps one merged interval of `run`, arrived at `now_ms`, for the
    /// lookback windows, without evaluating (a follower).
    pub fn buffer_interval(
        &mut self,
        run: RunId,
        scenario: ScenarioId,
        snapshot: WireSnapshot,
        now_ms: i64,
    ) {
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
        self.buffer_interval(run, scenario, snapshot, now_ms);
        let Some(data) = self.runs.get(&run) else {
            return Vec::new();
        };
        let scenario = data.scenario;
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

    /// The run ended on a follower: its data is dropped.
    pub fn forget_run(&mut self, run: RunId) {
        self.runs.remove(&run);
    }

    /// The run ended: its alerts resolve and its data is dropped.
    pub fn run_ended(&mut self, run: RunId) -> Vec<Transition> {
        self.runs.remove(&run);
        let subject = format!("run:{run}");
        let touched = &mut self.touched;
        self.last_fired.retain(|k, _| {
            if k.1 == subject {
                touched.insert(k.clone());
            }
            k.1 != subject
        });
        let mut out = Vec::new();
        self.episodes.retain(|(rule_id, s), ep| {
            if *s != subject {
                return true;
            }
            touched.insert((*rule_id, s.clone()));
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
        self.touched.insert(key.clone());
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

    /// Ends the episodes of disabled rules: their firing alerts resolve
    /// (a rule switched off no longer holds anything).
    pub fn end_disabled(&mut self) -> Vec<Transition> {
        let disabled: HashSet<i64> = self
            .rules
            .iter()
            .filter(|r| !r.rule.rule.enabled)
            .map(|r| r.rule.id)
            .collect();
        let mut out = Vec::new();
        let touched = &mut self.touched;
        self.episodes.retain(|(rule_id, s), ep| {
            if !disabled.contains(rule_id) {
                return true;
            }
            touched.insert((*rule_id, s.clone()));
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
