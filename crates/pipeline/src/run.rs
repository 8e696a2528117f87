//! Running a pipeline: stages start as soon as everything they need has
//! passed (so independent stages — load and stress in seed 000 — run in
//! parallel), and each failed gate applies its stage's on-failure policy
//! to the rest.
//!
//! What runs a stage's script is an [`Executor`]: the CLI's runs each
//! stage as its own `stampede run` process ([`crate::process`]), the
//! server's starts a run through its orchestrator. Everything else — the
//! schedule, the stage's chaos agent, the baseline, the gate, the verdict
//! and the decision tree — is this one implementation for both.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use stampede_chaos::RunningAgent;
use stampede_output::results::Results;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::decision;
use crate::gate::{evaluate, Check, Findings};
use crate::load::{duration, Pipeline, Source};
use crate::spec::{OnFailure, StageKind, StageSpec};

/// How a stage ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Its gate passed.
    Passed,
    /// Its gate failed (or it could not run).
    Failed,
    /// It did not run.
    Skipped,
}

/// One stage in the report.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StageReport {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: StageKind,
    /// The script as the file names it.
    pub script: String,
    /// Whether its gate counts for the pipeline.
    pub required: bool,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_because: Option<String>,
    /// The gate's conditions.
    pub checks: Vec<Check>,
    /// Breaking point, recovery and friends.
    pub findings: Findings,
    /// The run's exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Seconds it ran.
    pub duration_s: f64,
    /// Seconds from the start of the pipeline to its start.
    pub started_s: f64,
    /// Its results file, relative to the report directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub results: Option<String>,
    /// Its HTML report, relative to the report directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Its log (the run's stdout and stderr), relative to the report directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// The server's run of the stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<i64>,
    /// What to do about a failure (the seed's decision tree).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<String>,
}

/// The whole pipeline's outcome.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PipelineReport {
    /// The pipeline's name.
    pub name: String,
    /// Whether every required gate passed.
    pub passed: bool,
    /// Whether it was interrupted.
    pub interrupted: bool,
    /// Seconds it ran.
    pub duration_s: f64,
    /// Every stage, in file order.
    pub stages: Vec<StageReport>,
    /// The decision tree's conclusion, one line per failed question, or
    /// the go-ahead.
    pub decisions: Vec<String>,
}

impl PipelineReport {
    /// 0 when every required gate passed, 105 when interrupted, else 1.
    pub fn exit_code(&self) -> i32 {
        match (self.passed, self.interrupted) {
            (true, _) => 0,
            (false, true) => 105,
            (false, false) => 1,
        }
    }
}

/// What happens, as it happens.
#[derive(Clone, Debug)]
pub enum Event {
    /// A stage started.
    Started {
        /// The stage.
        name: String,
    },
    /// A stage ended (passed, failed or skipped).
    Ended(Box<StageReport>),
    /// Every [`PROGRESS_EVERY`] while stages run: each running stage with
    /// the seconds it has run.
    Progress {
        /// Running stages and their run time so far.
        running: Vec<(String, f64)>,
    },
}

/// How often [`Event::Progress`] comes.
pub const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// One stage's script to run, as the [`Executor`] gets it.
pub struct StageJob {
    /// The stage's name.
    pub name: String,
    /// The stage.
    pub spec: StageSpec,
    /// Its variables: the file's, the stage's, the caller's and its chaos
    /// agent's, in that order of precedence (last wins).
    pub env: Vec<(String, String)>,
    /// Its `timeout`: past it the run is stopped and the stage fails.
    pub timeout: Option<Duration>,
    /// Becomes `true` when the pipeline is stopped: stop the run
    /// gracefully (its results still count).
    pub stop: watch::Receiver<bool>,
}

/// What an [`Executor`] made of a stage.
#[derive(Debug, Default)]
pub struct Executed {
    /// The run's exit code, when it ran.
    pub exit_code: Option<i32>,
    /// Its results, or the check saying why there are none (it could not
    /// start, ran past its timeout, left no results).
    pub results: Option<Result<Results, Check>>,
    /// The results file, relative to the report directory.
    pub results_file: Option<String>,
    /// The HTML run report, relative to the report directory.
    pub html: Option<String>,
    /// The log, relative to the report directory.
    pub log: Option<String>,
    /// The server's run.
    pub run_id: Option<i64>,
}

/// A future an [`Executor`] returns.
pub type ExecFuture = Pin<Box<dyn Future<Output = Executed> + Send>>;

/// Runs stages' scripts (a `stampede run` process, a server run, ...).
pub trait Executor: Send + Sync + 'static {
    /// Runs `job` to its end (stopping it at its timeout or when asked).
    fn execute(&self, job: StageJob) -> ExecFuture;
}

/// How to run a pipeline.
pub struct RunOptions {
    /// What runs each stage's script.
    pub executor: Arc<dyn Executor>,
    /// `-e` variables from the command line (over the file's).
    pub env: Vec<(String, String)>,
    /// Optional stages to run.
    pub include: Vec<String>,
    /// Called for every [`Event`].
    pub on_event: Arc<dyn Fn(&Event) + Send + Sync>,
    /// Becomes `true` to stop: running stages get SIGINT, pending ones are skipped.
    pub stop: watch::Receiver<bool>,
}

#[derive(Clone, Debug, PartialEq)]
enum State {
    Pending,
    Running,
    Done(Outcome),
}

/// Runs `pipeline`; returns its report (also when stages fail).
pub async fn run(pipeline: &Pipeline, opts: RunOptions) -> PipelineReport {
    let t0 = Instant::now();
    let stages: Vec<(String, StageSpec)> = pipeline.spec.stages.0.clone();
    let mut state = vec![State::Pending; stages.len()];
    let mut reports: Vec<Option<StageReport>> = vec![None; stages.len()];
    let mut stopped_by: Option<String> = None;
    let mut tasks: JoinSet<(usize, StageReport)> = JoinSet::new();
    let idx = |n: &str| stages.iter().position(|(s, _)| s == n);
    let mut stop = opts.stop.clone();
    let mut started_at: Vec<Option<Instant>> = vec![None; stages.len()];
    let mut task_stage: BTreeMap<tokio::task::Id, usize> = BTreeMap::new();
    let mut ticker = tokio::time::interval(PROGRESS_EVERY);
    ticker.tick().await;
    loop {
        if *stop.borrow() && stopped_by.is_none() {
            stopped_by = Some("the pipeline was interrupted".into());
        }
        // Settle every pending stage that can be decided now.
        for i in 0..stages.len() {
            if state[i] != State::Pending {
                continue;
            }
            let (name, st) = &stages[i];
            let skip = if st.optional && !opts.include.iter().any(|n| n == name) {
                Some("optional stage (run it with --include)".to_string())
            } else if let Some(by) = &stopped_by {
                Some(by.clone())
            } else {
                st.needs.iter().find_map(|n| {
                    let j = idx(n)?;
                    match &state[j] {
                        State::Done(Outcome::Skipped) => {
                            Some(format!("needs {n}, which was skipped"))
                        }
                        State::Done(Outcome::Failed)
                            if stages[j].1.on_failure != OnFailure::Continue =>
                        {
                            Some(format!("needs {n}, which failed"))
                        }
                        _ => None,
                    }
                })
            };
            if let Some(why) = skip {
                state[i] = State::Done(Outcome::Skipped);
                let r = skipped(name, st, why);
                (opts.on_event)(&Event::Ended(Box::new(r.clone())));
                reports[i] = Some(r);
                continue;
            }
            let ready = st
                .needs
                .iter()
                .all(|n| idx(n).is_some_and(|j| matches!(state[j], State::Done(_))));
            if ready {
                state[i] = State::Running;
                started_at[i] = Some(Instant::now());
                (opts.on_event)(&Event::Started { name: name.clone() });
                let job = Stage {
                    name: name.clone(),
                    spec: st.clone(),
                    source: pipeline.source.clone(),
                    env: merged_env(&pipeline.spec.env, &st.env, &opts.env),
                    executor: opts.executor.clone(),
                    started_s: t0.elapsed().as_secs_f64(),
                    stop: opts.stop.clone(),
                };
                let id = tasks.spawn(async move { (i, job.run().await) }).id();
                task_stage.insert(id, i);
            }
        }
        if tasks.is_empty() {
            break;
        }
        tokio::select! {
            done = tasks.join_next_with_id() => {
                let (i, r) = match done {
                    Some(Ok((_, (i, r)))) => (i, r),
                    // A stage task that panicked still ends as a failed stage.
                    Some(Err(e)) => {
                        let Some(&i) = task_stage.get(&e.id()) else { continue };
                        let (name, st) = &stages[i];
                        let mut r = skipped(name, st, String::new());
                        r.skipped_because = None;
                        r.outcome = Outcome::Failed;
                        r.checks = vec![Check {
                            name: "run".into(),
                            ok: false,
                            detail: format!("the stage crashed: {e}"),
                        }];
                        (i, r)
                    }
                    None => continue,
                };
                let (name, st) = &stages[i];
                if r.outcome == Outcome::Failed && st.on_failure == OnFailure::Stop && stopped_by.is_none() {
                    stopped_by = Some(format!("the pipeline stopped after {name} failed"));
                }
                state[i] = State::Done(r.outcome);
                (opts.on_event)(&Event::Ended(Box::new(r.clone())));
                reports[i] = Some(r);
            }
            _ = stop.changed() => {}
            _ = ticker.tick() => {
                let running = stages
                    .iter()
                    .zip(&state)
                    .zip(&started_at)
                    .filter(|((_, st), _)| **st == State::Running)
                    .map(|(((n, _), _), t)| (n.clone(), t.map_or(0.0, |t| t.elapsed().as_secs_f64())))
                    .collect();
                (opts.on_event)(&Event::Progress { running });
            }
        }
    }
    let stages: Vec<StageReport> = reports.into_iter().flatten().collect();
    let passed = stages
        .iter()
        .filter(|s| s.required)
        .all(|s| s.outcome == Outcome::Passed);
    let mut decisions: Vec<String> = stages
        .iter()
        .filter(|s| s.outcome == Outcome::Failed)
        .map(|s| {
            format!(
                "{} {} No → {}",
                s.name,
                decision::question(s.kind),
                s.recommendation.clone().unwrap_or_default()
            )
        })
        .collect();
    if passed {
        decisions.push(decision::ALL_PASSED.into());
    }
    PipelineReport {
        name: pipeline.name.clone(),
        passed,
        interrupted: *opts.stop.borrow(),
        duration_s: t0.elapsed().as_secs_f64(),
        stages,
        decisions,
    }
}

/// A stage's variables: the file's, the stage's, then the caller's (last wins).
pub fn merged_env(
    file: &BTreeMap<String, String>,
    stage: &BTreeMap<String, String>,
    cli: &[(String, String)],
) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = file.clone();
    env.extend(stage.clone());
    env.extend(cli.iter().cloned());
    env.into_iter().collect()
}

fn skipped(name: &str, st: &StageSpec, why: String) -> StageReport {
    StageReport {
        name: name.into(),
        kind: st.kind(name),
        script: st.script.clone(),
        required: !st.optional,
        outcome: Outcome::Skipped,
        skipped_because: Some(why),
        checks: Vec::new(),
        findings: Findings::default(),
        exit_code: None,
        duration_s: 0.0,
        started_s: 0.0,
        results: None,
        html: None,
        log: None,
        run_id: None,
        recommendation: None,
    }
}

/// One stage to run: the part every executor shares.
struct Stage {
    name: String,
    spec: StageSpec,
    source: Source,
    env: Vec<(String, String)>,
    executor: Arc<dyn Executor>,
    started_s: f64,
    stop: watch::Receiver<bool>,
}

impl Stage {
    async fn run(self) -> StageReport {
        let t = Instant::now();
        let mut report = skipped(&self.name, &self.spec, String::new());
        report.skipped_because = None;
        report.started_s = self.started_s;
        let (checks, findings, ran) = self.execute().await;
        report.outcome = if !checks.is_empty() && checks.iter().all(|c| c.ok) {
            Outcome::Passed
        } else {
            Outcome::Failed
        };
        if report.outcome == Outcome::Failed {
            report.recommendation = Some(
                self.spec
                    .recommendation
                    .clone()
                    .unwrap_or_else(|| decision::recommendation(report.kind).into()),
            );
        }
        report.checks = checks;
        report.findings = findings;
        report.exit_code = ran.exit_code;
        report.results = ran.results_file;
        report.html = ran.html;
        report.log = ran.log;
        report.run_id = ran.run_id;
        report.duration_s = t.elapsed().as_secs_f64();
        report
    }

    async fn execute(&self) -> (Vec<Check>, Findings, Executed) {
        let baseline = match &self.spec.gate.compare {
            Some(c) => match self.source.baseline(&c.baseline) {
                Ok(b) => Some(b),
                Err(e) => {
                    return (
                        vec![Check::failed("compare", e)],
                        Findings::default(),
                        Executed::default(),
                    )
                }
            },
            None => None,
        };
        let mut env = self.env.clone();
        // The stage's fault targets live exactly as long as the stage.
        let agent = match &self.spec.chaos {
            Some(cfg) => match RunningAgent::start(&expand_chaos(cfg, &env)).await {
                Ok(agent) => {
                    env.extend(agent.env());
                    Some(agent)
                }
                Err(e) => {
                    return (
                        vec![Check::failed("chaos", e)],
                        Findings::default(),
                        Executed::default(),
                    )
                }
            },
            None => None,
        };
        let job = StageJob {
            name: self.name.clone(),
            spec: self.spec.clone(),
            env,
            timeout: self.spec.timeout.as_deref().and_then(|t| duration(t).ok()),
            stop: self.stop.clone(),
        };
        let mut ran = self.executor.execute(job).await;
        let mut restore_failures = Vec::new();
        if let Some(agent) = agent {
            for f in agent.shutdown().await {
                eprintln!(
                    "stampede pipeline: RESTORE FAILED in stage {}: {f}",
                    self.name
                );
                restore_failures.push(f.to_string());
            }
        }
        let (mut checks, findings) = match ran.results.take() {
            None => (
                vec![Check::failed("run", "the stage did not run".into())],
                Findings::default(),
            ),
            Some(Err(check)) => (vec![check], Findings::default()),
            Some(Ok(results)) => {
                let code = ran.exit_code.unwrap_or(255);
                evaluate(&self.spec.gate, &results, code, baseline.as_ref())
            }
        };
        if !restore_failures.is_empty() {
            checks.push(Check::failed("restore", restore_failures.join("; ")));
        }
        (checks, findings, ran)
    }
}

/// The stage's chaos declaration with `${NAME}` / `${NAME:-default}` in
/// proxy upstreams expanded from the stage's variables, and URLs
/// (`http://127.0.0.1:3000/`) reduced to `host:port`, so a proxy can sit in
/// front of whatever `BASE_URL` names.
pub fn expand_chaos(
    cfg: &stampede_chaos::ChaosConfig,
    env: &[(String, String)],
) -> stampede_chaos::ChaosConfig {
    let mut cfg = cfg.clone();
    for p in cfg.proxies.values_mut() {
        p.upstream = host_port(&expand(&p.upstream, env));
    }
    cfg
}

fn expand(s: &str, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        let inner = &rest[start + 2..start + end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        let value = env
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .or_else(|| std::env::var(name).ok())
            .or(default.map(str::to_string))
            .unwrap_or_default();
        out.push_str(&value);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

fn host_port(s: &str) -> String {
    let s = s.trim();
    let s = s
        .strip_prefix("http://")
        .or_else(|| s.strip_prefix("https://"))
        .unwrap_or(s);
    s.split('/').next().unwrap_or(s).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_upstreams() {
        let env = vec![("BASE_URL".to_string(), "http://127.0.0.1:4000/".to_string())];
        assert_eq!(host_port(&expand("${BASE_URL}", &env)), "127.0.0.1:4000");
        assert_eq!(
            expand("${STAMPEDE_SURELY_UNSET:-127.0.0.1:3000}", &env),
            "127.0.0.1:3000"
        );
        assert_eq!(expand("a${B", &env), "a${B");
    }
}
