//! Thresholds: k6's syntax (`"http_req_duration{name:x}": ["p(95)<500"]`),
//! validation against the registry and evaluation against the store.
//!
//! Semantics follow k6 v1.1 (`metrics/thresholds.go`, the metrics engine):
//! during the run, thresholds of (sub-)metrics without samples are skipped;
//! at the end, they are evaluated on an empty aggregate (0 for every
//! statistic), except that a rate without samples passes (k6 cannot compute
//! it and does not count it as crossed). The final evaluation decides.

mod error;
mod expr;
mod selector;

use std::time::Duration;

pub use error::{supported_methods, ThresholdError};
pub use expr::{Op, ThresholdExpr};
pub use selector::Selector;

use std::sync::OnceLock;

use crate::agg::Aggregate;
use crate::builtin::Builtin;
use crate::kind::MetricType;
use crate::registry::{Metric, Registry};
use crate::stat::Stat;
use crate::store::Store;

/// One threshold as configured: `thresholds: { [selector]: [expr | {threshold: expr, abortOnFail, delayAbortEval}] }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThresholdSpec {
    /// The key, e.g. `http_req_duration{name:x}`.
    pub selector: String,
    /// The expression, e.g. `p(95)<500`.
    pub expr: String,
    /// Stop the test when this threshold fails.
    pub abort_on_fail: bool,
    /// Do not abort before this much of the test has run.
    pub delay_abort_eval: Option<Duration>,
}

impl ThresholdSpec {
    /// A plain threshold (no abort).
    pub fn new(selector: &str, expr: &str) -> Self {
        ThresholdSpec {
            selector: selector.to_owned(),
            expr: expr.to_owned(),
            abort_on_fail: false,
            delay_abort_eval: None,
        }
    }
}

/// The latest result of one threshold expression.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdResult {
    /// The expression as written.
    pub source: String,
    /// The parsed expression.
    pub expr: ThresholdExpr,
    /// Whether it passed at the latest evaluation (true before any).
    pub ok: bool,
    /// The statistic observed at the latest evaluation (`None` before any,
    /// or when it was not evaluated: a rate without samples).
    pub observed: Option<f64>,
    /// Whether failing it aborts the test.
    pub abort_on_fail: bool,
    /// Grace period before an abort.
    pub delay_abort_eval: Option<Duration>,
}

/// The thresholds of one (sub-)metric and their latest results.
#[derive(Clone, Debug, PartialEq)]
pub struct SelectorResults {
    /// The (sub-)metric's name as k6 shows it (see [`Selector::name`]).
    pub name: String,
    /// The selector.
    pub selector: Selector,
    /// One entry per expression, in configuration order.
    pub thresholds: Vec<ThresholdResult>,
}

/// The outcome of one evaluation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evaluation {
    /// Every evaluated threshold passed.
    pub all_ok: bool,
    /// An `abortOnFail` threshold failed after its `delayAbortEval`.
    pub abort: bool,
    /// Names of the (sub-)metrics with a failed threshold, sorted.
    pub breached: Vec<String>,
}

impl Evaluation {
    /// k6's error when the test ends with crossed thresholds (exit code 99).
    pub fn failure_message(&self) -> String {
        format!(
            "thresholds on metrics '{}' have been crossed",
            self.breached.join(", ")
        )
    }

    /// k6's error when an `abortOnFail` threshold stops the test (exit code 99).
    pub fn abort_message(&self) -> String {
        format!(
            "thresholds on metrics '{}' were crossed; at least one has abortOnFail enabled, \
             stopping test prematurely",
            self.breached.join(", ")
        )
    }
}

#[derive(Debug)]
struct Group {
    /// The first selector string seen for this (sub-)metric.
    raw: String,
    selector: Selector,
    metric: OnceLock<Metric>,
    thresholds: Vec<ThresholdResult>,
}

impl Group {
    fn resolved(&self) -> Option<Metric> {
        self.metric
            .get()
            .copied()
            .or_else(|| Builtin::from_name(&self.selector.metric).map(Builtin::metric))
    }
}

/// All thresholds of a test, grouped by (sub-)metric.
#[derive(Debug, Default)]
pub struct Thresholds {
    groups: Vec<Group>,
}

impl Thresholds {
    /// Parses every selector and expression, reporting all syntax errors.
    ///
    /// Selectors naming the same (sub-)metric (`checks{a:b}`, `checks{ a:'b' }`)
    /// share one group, named after the first.
    pub fn new(specs: Vec<ThresholdSpec>) -> Result<Self, Vec<ThresholdError>> {
        let mut errors = Vec::new();
        let mut bad_selectors: Vec<String> = Vec::new();
        let mut groups: Vec<Group> = Vec::new();
        for spec in specs {
            let selector = match Selector::parse(&spec.selector) {
                Ok(s) => Some(s),
                Err(e) => {
                    if !bad_selectors.contains(&spec.selector) {
                        bad_selectors.push(spec.selector.clone());
                        errors.push(e);
                    }
                    None
                }
            };
            let expr = ThresholdExpr::parse(&spec.expr).map_err(|e| errors.push(e));
            let (Some(selector), Ok(expr)) = (selector, expr) else {
                continue;
            };
            let result = ThresholdResult {
                source: spec.expr,
                expr,
                ok: true,
                observed: None,
                abort_on_fail: spec.abort_on_fail,
                delay_abort_eval: spec.delay_abort_eval,
            };
            match groups
                .iter_mut()
                .find(|g| g.selector.metric == selector.metric && g.selector.tags == selector.tags)
            {
                Some(g) => g.thresholds.push(result),
                None => groups.push(Group {
                    raw: spec.selector,
                    selector,
                    metric: OnceLock::new(),
                    thresholds: vec![result],
                }),
            }
        }
        if errors.is_empty() {
            Ok(Thresholds { groups })
        } else {
            Err(errors)
        }
    }

    /// Checks every threshold against the registry (unknown metric, method
    /// not supported by the metric's type) and remembers the metrics for
    /// [`Thresholds::evaluate`]. Call it once the script's metrics are registered.
    pub fn validate(&self, reg: &Registry) -> Vec<ThresholdError> {
        let mut errors = Vec::new();
        for g in &self.groups {
            let Some(metric) = reg.lookup(&g.selector.metric) else {
                errors.push(ThresholdError::UnknownMetric {
                    selector: g.raw.clone(),
                });
                continue;
            };
            let _ = g.metric.set(metric);
            for t in &g.thresholds {
                if !threshold_applies(&t.expr, metric) {
                    errors.push(ThresholdError::UnsupportedMethod {
                        expr: t.source.clone(),
                        selector: g.raw.clone(),
                        method: t.expr.stat.method().to_owned(),
                        kind: metric.kind,
                    });
                }
            }
        }
        errors
    }

    /// The end-of-test evaluation: every threshold is evaluated, on an empty
    /// aggregate when its (sub-)metric has no samples.
    pub fn evaluate(&mut self, store: &Store, elapsed: Duration) -> Evaluation {
        self.run(store, elapsed, false)
    }

    /// The periodic evaluation during the run: (sub-)metrics without samples
    /// are skipped (their results keep their previous values).
    pub fn evaluate_running(&mut self, store: &Store, elapsed: Duration) -> Evaluation {
        self.run(store, elapsed, true)
    }

    fn run(&mut self, store: &Store, elapsed: Duration, skip_empty: bool) -> Evaluation {
        let mut eval = Evaluation {
            all_ok: true,
            ..Evaluation::default()
        };
        for g in &mut self.groups {
            // Unresolved only if a custom metric was never validated.
            let Some(metric) = g.resolved() else { continue };
            let agg = match store.get(metric.id, &g.selector.tags) {
                Some(a) if !a.is_empty() => a,
                _ if skip_empty => continue,
                _ => Aggregate::new(metric.kind),
            };
            if matches!(&agg, Aggregate::Rate(r) if r.total == 0) {
                // k6 has no rate to compare and leaves such thresholds passing.
                for t in &mut g.thresholds {
                    t.ok = true;
                    t.observed = None;
                }
                continue;
            }
            let mut failed = false;
            for t in &mut g.thresholds {
                let Some(lhs) = agg.stat(&t.expr.stat, elapsed) else {
                    continue;
                };
                t.observed = Some(lhs);
                t.ok = t.expr.check(lhs);
                if t.ok {
                    continue;
                }
                failed = true;
                if t.abort_on_fail && t.delay_abort_eval.is_none_or(|d| elapsed > d) {
                    eval.abort = true;
                }
            }
            if failed {
                eval.all_ok = false;
                let name = g.selector.name();
                if !eval.breached.contains(&name) {
                    eval.breached.push(name);
                }
            }
        }
        eval.breached.sort();
        eval
    }

    /// The latest results, per (sub-)metric in configuration order.
    pub fn results(&self) -> Vec<SelectorResults> {
        self.groups
            .iter()
            .map(|g| SelectorResults {
                name: g.selector.name(),
                selector: g.selector.clone(),
                thresholds: g.thresholds.clone(),
            })
            .collect()
    }

    /// The selectors with tags (sub-metrics), one per sub-metric; the summary shows them.
    pub fn submetric_selectors(&self) -> Vec<Selector> {
        self.groups
            .iter()
            .filter(|g| g.selector.is_submetric())
            .map(|g| g.selector.clone())
            .collect()
    }

    /// Every selector, one per (sub-)metric, in configuration order.
    pub fn selectors(&self) -> Vec<Selector> {
        self.groups.iter().map(|g| g.selector.clone()).collect()
    }

    /// k6's warnings for thresholds on the non-indexable `vu` and `iter` tags.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for g in &self.groups {
            for tag in ["vu", "iter"] {
                if g.selector.tags.get(tag).is_some() {
                    out.push(format!(
                        "The high-cardinality '{tag}' metric tag was made non-indexable in k6 \
                         v0.41.0, so thresholds like '{}' that are based on it won't work correctly.",
                        g.raw
                    ));
                }
            }
        }
        out
    }

    /// Whether any threshold can abort the test.
    pub fn has_abort_on_fail(&self) -> bool {
        self.groups
            .iter()
            .any(|g| g.thresholds.iter().any(|t| t.abort_on_fail))
    }

    /// Whether no threshold is defined.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

/// Whether a threshold expression's method exists for the metric's type
/// (k6: counter count/rate, gauge value, rate rate, trend avg/min/max/med/p).
fn threshold_applies(expr: &ThresholdExpr, metric: Metric) -> bool {
    match metric.kind {
        MetricType::Counter => matches!(expr.stat, Stat::Count | Stat::Rate),
        MetricType::Gauge => matches!(expr.stat, Stat::Value),
        MetricType::Rate => matches!(expr.stat, Stat::Rate),
        MetricType::Trend => matches!(
            expr.stat,
            Stat::Avg | Stat::Min | Stat::Max | Stat::Med | Stat::Percentile(_)
        ),
    }
}

#[cfg(test)]
mod tests;
