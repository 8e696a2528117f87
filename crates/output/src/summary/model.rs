//! The summary's data, built once from the run's store: metrics with their
//! values, thresholds, checks, the group tree and the per-group and
//! per-scenario breakdowns of the full summary.

use std::collections::HashMap;
use std::time::Duration;

use md5::{Digest, Md5};
use stampede_metrics::thresholds::{SelectorResults, Thresholds};
use stampede_metrics::{
    Aggregate, Builtin, MetricId, MetricType, Registry, Stat, Store, TagSet, ValueType,
};

use crate::collate::compare_metric_names;

/// One threshold expression and whether it passed.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdOutcome {
    /// The expression as written.
    pub source: String,
    /// Whether it passed at the end of the test.
    pub ok: bool,
}

/// A (sub-)metric as the summary shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSummary {
    /// `http_req_duration` or `http_req_duration{status:404}`.
    pub name: String,
    /// The metric type.
    pub kind: MetricType,
    /// What its values measure.
    pub contains: ValueType,
    /// Statistics in k6's order (trends: `summaryTrendStats` as written).
    pub values: Vec<(String, f64)>,
    /// Its thresholds, in configuration order (empty if none).
    pub thresholds: Vec<ThresholdOutcome>,
}

impl MetricSummary {
    /// The value of statistic `key`.
    pub fn value(&self, key: &str) -> Option<f64> {
        self.values.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Whether this is a sub-metric (`name{tags}`).
    pub fn is_submetric(&self) -> bool {
        self.name.contains('{')
    }
}

/// Passes and fails of one check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckCount {
    /// The check's name.
    pub name: String,
    /// Successful evaluations.
    pub passes: u64,
    /// Failed evaluations.
    pub fails: u64,
}

/// A group of `handleSummary`'s `root_group` tree.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupNode {
    /// The group's name ("" for the root).
    pub name: String,
    /// `::outer::inner` ("" for the root).
    pub path: String,
    /// Sub-groups, in first-seen order.
    pub groups: Vec<GroupNode>,
    /// Checks, in first-seen order.
    pub checks: Vec<CheckCount>,
}

impl GroupNode {
    fn new(name: &str, path: String) -> Self {
        GroupNode {
            name: name.to_owned(),
            path,
            groups: Vec::new(),
            checks: Vec::new(),
        }
    }

    fn child(&mut self, name: &str) -> &mut GroupNode {
        let i = match self.groups.iter().position(|g| g.name == name) {
            Some(i) => i,
            None => {
                let path = format!("{}::{name}", self.path);
                self.groups.push(GroupNode::new(name, path));
                self.groups.len() - 1
            }
        };
        &mut self.groups[i]
    }
}

/// What a sub-metric's display name shows: JavaScript's
/// `name.substring(name.indexOf('{') + 1, name.length - 1)` (bounds swapped
/// when reversed, as `substring` does); `None` without a `{`.
pub(crate) fn submetric_inner(name: &str) -> Option<String> {
    let open = name.find('{')?;
    let chars: Vec<char> = name.chars().collect();
    let start = name[..open].chars().count() + 1;
    let end = chars.len().saturating_sub(1);
    let (a, b) = if start <= end {
        (start, end)
    } else {
        (end, start)
    };
    Some(
        chars[a.min(chars.len())..b.min(chars.len())]
            .iter()
            .collect(),
    )
}

/// k6's id for a group or check: the md5 hex of its path.
pub fn path_id(path: &str) -> String {
    let digest = Md5::digest(path.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks of a group, scenario or the whole run, with their totals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChecksBlock {
    /// Check evaluations.
    pub total: u64,
    /// Successful ones.
    pub passes: u64,
    /// Each check, in first-seen order.
    pub list: Vec<CheckCount>,
}

/// Adds `passes` out of `total` evaluations of check `name` to `list`.
fn add_check(list: &mut Vec<CheckCount>, name: &str, passes: u64, total: u64) {
    match list.iter_mut().find(|c| c.name == name) {
        Some(c) => {
            c.passes += passes;
            c.fails += total - passes;
        }
        None => list.push(CheckCount {
            name: name.to_owned(),
            passes,
            fails: total - passes,
        }),
    }
}

impl ChecksBlock {
    fn add(&mut self, name: Option<&str>, passes: u64, total: u64) {
        self.total += total;
        self.passes += passes;
        if let Some(name) = name {
            add_check(&mut self.list, name, passes, total);
        }
    }
}

/// The results of one group or scenario (full summary).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Breakdown {
    /// Its checks, if it has any `checks` samples.
    pub checks: Option<ChecksBlock>,
    /// Its metrics (never sub-metrics), sorted by name.
    pub metrics: Vec<MetricSummary>,
    /// Nested groups, in first-seen order.
    pub groups: Vec<(String, Breakdown)>,
}

/// A breakdown while it is being built.
#[derive(Default)]
struct Acc {
    checks: Option<ChecksBlock>,
    aggs: Vec<(MetricId, Aggregate)>,
    groups: Vec<(String, Acc)>,
}

impl Acc {
    fn add(&mut self, id: MetricId, tags: &TagSet, agg: &Aggregate) {
        match self.aggs.iter_mut().find(|(m, _)| *m == id) {
            Some((_, a)) => a.merge(agg),
            None => self.aggs.push((id, agg.clone())),
        }
        if id == Builtin::Checks.id() {
            if let Aggregate::Rate(r) = agg {
                self.checks.get_or_insert_with(ChecksBlock::default).add(
                    tags.get("check"),
                    r.passes,
                    r.total,
                );
            }
        }
    }

    fn group(&mut self, name: &str) -> &mut Acc {
        let i = match self.groups.iter().position(|(n, _)| n == name) {
            Some(i) => i,
            None => {
                self.groups.push((name.to_owned(), Acc::default()));
                self.groups.len() - 1
            }
        };
        &mut self.groups[i].1
    }

    fn finish(self, ctx: &Ctx<'_>) -> Breakdown {
        let mut metrics: Vec<MetricSummary> = self
            .aggs
            .into_iter()
            .filter_map(|(id, agg)| {
                let def = ctx.registry.get_def(id)?;
                Some(ctx.summarize(&def.name, def.kind, def.contains, &agg))
            })
            .collect();
        metrics.sort_by(|a, b| compare_metric_names(&a.name, &b.name));
        Breakdown {
            checks: self.checks,
            metrics,
            groups: self
                .groups
                .into_iter()
                .map(|(n, a)| (n, a.finish(ctx)))
                .collect(),
        }
    }
}

/// `count` per second of `duration`, computed as k6 does
/// (`count / (float64(ns) / 1e9)`, 0 for no time), so rates match to the bit.
pub(crate) fn go_rate(count: f64, duration: Duration) -> f64 {
    let ns = duration.as_nanos() as f64;
    if ns == 0.0 {
        0.0
    } else {
        count / (ns / 1e9)
    }
}

/// A `group` tag without its leading `::`.
fn g_trimmed(tag: Option<&str>) -> Option<&str> {
    tag.map(|t| t.strip_prefix("::").unwrap_or(t))
}

/// k6's group names from a `group` tag: `::a::b` → `[a, b]`.
fn group_names(tag: &str) -> impl Iterator<Item = &str> {
    tag.strip_prefix("::").unwrap_or(tag).split("::")
}

/// What building needs besides the store.
struct Ctx<'a> {
    registry: &'a Registry,
    duration: Duration,
    trend_stats: &'a [(String, Stat)],
}

impl Ctx<'_> {
    fn summarize(
        &self,
        name: &str,
        kind: MetricType,
        contains: ValueType,
        agg: &Aggregate,
    ) -> MetricSummary {
        let values = match agg.kind() {
            MetricType::Trend => self
                .trend_stats
                .iter()
                .filter_map(|(key, stat)| Some((key.clone(), agg.stat(stat, self.duration)?)))
                .collect(),
            MetricType::Counter => {
                let count = agg.stat(&Stat::Count, self.duration).unwrap_or(0.0);
                vec![
                    ("count".to_owned(), count),
                    ("rate".to_owned(), go_rate(count, self.duration)),
                ]
            }
            _ => agg.values(&[], self.duration),
        };
        MetricSummary {
            name: name.to_owned(),
            kind,
            contains,
            values,
            thresholds: Vec::new(),
        }
    }
}

/// Everything the renderers need, computed from the store.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Model {
    /// Every metric with samples or thresholds, the sub-metrics named by
    /// thresholds and `http_req_duration{expected_response:true}`; sorted by name.
    pub metrics: Vec<MetricSummary>,
    /// The (sub-)metrics with thresholds, with the percentiles their
    /// thresholds name added to their values; sorted by name.
    pub thresholds: Vec<MetricSummary>,
    /// All checks of the run by name (`TOTAL RESULTS`), if any.
    pub checks: Option<ChecksBlock>,
    /// `handleSummary`'s `root_group`.
    pub root_group: GroupNode,
    /// Groups outside non-default scenarios (full summary).
    pub groups: Vec<(String, Breakdown)>,
    /// Per-scenario results, except `default` (full summary), sorted by name.
    pub scenarios: Vec<(String, Breakdown)>,
}

/// `^p\((\d+(?:\.\d+)?)\)\s*[<>=]` on a trimmed threshold source: the
/// percentile key (`p(99.9)`) and value k6 adds to the thresholds' values.
pub(crate) fn percentile_source(source: &str) -> Option<(String, f64)> {
    let rest = source.trim().strip_prefix("p(")?;
    let close = rest.find(')')?;
    let num = &rest[..close];
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (num, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    let after = rest[close + 1..].trim_start();
    if !after.starts_with(['<', '>', '=']) {
        return None;
    }
    Some((format!("p({num})"), num.parse().ok()?))
}

impl Model {
    /// Builds the model. `trend_stats` pairs each stat as the user wrote it
    /// with its parsed form.
    pub fn build(
        store: &Store,
        registry: &Registry,
        thresholds: Option<&Thresholds>,
        duration: Duration,
        trend_stats: &[(String, Stat)],
    ) -> Model {
        let ctx = Ctx {
            registry,
            duration,
            trend_stats,
        };
        let results = thresholds.map(Thresholds::results).unwrap_or_default();
        let mut model = Model::default();
        model.collect_metrics(&ctx, store, &results);
        model.collect_by_tags(&ctx, store, &results);
        model
    }

    /// Metrics: those with samples, those with thresholds (and their
    /// parents), the sub-metrics thresholds name, `{expected_response:true}`.
    fn collect_metrics(&mut self, ctx: &Ctx<'_>, store: &Store, results: &[SelectorResults]) {
        // Positions in `self.metrics` by name: each (sub-)metric once.
        let mut seen: HashMap<String, usize> = HashMap::new();
        let push = |metrics: &mut Vec<MetricSummary>,
                    seen: &mut HashMap<String, usize>,
                    m: MetricSummary| {
            if !seen.contains_key(&m.name) {
                seen.insert(m.name.clone(), metrics.len());
                metrics.push(m);
            }
        };
        let whole = |id: MetricId, kind: MetricType| {
            store
                .get(id, &TagSet::empty())
                .unwrap_or_else(|| Aggregate::new(kind))
        };
        for id in store.metrics_seen() {
            if let Some(def) = ctx.registry.get_def(id) {
                let agg = whole(id, def.kind);
                push(
                    &mut self.metrics,
                    &mut seen,
                    ctx.summarize(&def.name, def.kind, def.contains, &agg),
                );
            }
        }
        for r in results {
            let Some(metric) = ctx.registry.lookup(&r.selector.metric) else {
                continue;
            };
            let def = ctx.registry.def(metric.id);
            let agg = whole(metric.id, def.kind);
            push(
                &mut self.metrics,
                &mut seen,
                ctx.summarize(&def.name, def.kind, def.contains, &agg),
            );
            let agg = store
                .get(metric.id, &r.selector.tags)
                .unwrap_or_else(|| Aggregate::new(def.kind));
            let mut m = ctx.summarize(&r.name, def.kind, def.contains, &agg);
            m.thresholds = r
                .thresholds
                .iter()
                .map(|t| ThresholdOutcome {
                    source: t.source.clone(),
                    ok: t.ok,
                })
                .collect();
            if let Aggregate::Trend(trend) = &agg {
                // k6 adds the percentiles its thresholds name to their values.
                for t in &m.thresholds {
                    if let Some((key, pct)) = percentile_source(&t.source) {
                        let v = trend.percentile(pct);
                        match m.values.iter_mut().find(|(k, _)| *k == key) {
                            Some(slot) => slot.1 = v,
                            None => m.values.push((key, v)),
                        }
                    }
                }
                self.thresholds.push(m.clone());
                m.values
                    .retain(|(k, _)| ctx.trend_stats.iter().any(|(s, _)| s == k));
            } else {
                self.thresholds.push(m.clone());
            }
            match seen.get(&m.name) {
                // The metric itself (`http_req_duration`), or a sub-metric
                // named by two selectors.
                Some(&i) if self.metrics[i].thresholds.is_empty() => {
                    self.metrics[i].thresholds = m.thresholds;
                }
                Some(_) => {}
                None => push(&mut self.metrics, &mut seen, m),
            }
        }
        let dur = Builtin::HttpReqDuration;
        let expected = TagSet::from_pairs([("expected_response", "true")]);
        if let Some(agg) = store.get(dur.id(), &expected).filter(|a| !a.is_empty()) {
            let name = "http_req_duration{expected_response:true}";
            push(
                &mut self.metrics,
                &mut seen,
                ctx.summarize(name, dur.kind(), dur.contains(), &agg),
            );
        }
        self.metrics
            .sort_by(|a, b| compare_metric_names(&a.name, &b.name));
        self.thresholds
            .sort_by(|a, b| compare_metric_names(&a.name, &b.name));
    }

    /// Checks, the group tree and the group and scenario breakdowns, from
    /// each series' `check`, `group` and `scenario` tags.
    fn collect_by_tags(&mut self, ctx: &Ctx<'_>, store: &Store, results: &[SelectorResults]) {
        let mut root = Acc::default();
        let mut scenarios: Vec<(String, Acc)> = Vec::new();
        let mut tree = GroupNode::new("", String::new());
        let mut all_checks: Option<ChecksBlock> = None;
        for (id, tags, agg) in store.entries() {
            let group_tag = tags.get("group").filter(|g| !g.is_empty());
            // The tree holds the groups scripts ran (group_duration) and
            // those with checks: as in k6, the implicit setup/teardown groups
            // appear only when they have checks.
            let in_tree = id == Builtin::Checks.id() || id == Builtin::GroupDuration.id();
            let mut node = &mut tree;
            for name in group_tag
                .filter(|_| in_tree)
                .into_iter()
                .flat_map(group_names)
            {
                node = node.child(name);
            }
            if id == Builtin::Checks.id() {
                if let (Aggregate::Rate(r), Some(check)) = (agg, tags.get("check")) {
                    all_checks.get_or_insert_with(ChecksBlock::default).add(
                        Some(check),
                        r.passes,
                        r.total,
                    );
                    add_check(&mut node.checks, check, r.passes, r.total);
                }
            }

            let mut acc = &mut root;
            if let Some(s) = tags.get("scenario").filter(|s| *s != "default") {
                let i = match scenarios.iter().position(|(n, _)| n == s) {
                    Some(i) => i,
                    None => {
                        scenarios.push((s.to_owned(), Acc::default()));
                        scenarios.len() - 1
                    }
                };
                acc = &mut scenarios[i].1;
                acc.add(id, tags, agg);
            }
            // k6 leaves out of the group breakdowns what setup() and
            // teardown() record outside their own groups.
            let phase = matches!(g_trimmed(group_tag), Some("setup" | "teardown"));
            if let (Some(g), false) = (group_tag, phase) {
                for name in group_names(g) {
                    acc = acc.group(name);
                }
                acc.add(id, tags, agg);
            }
        }
        if let Some(Aggregate::Rate(r)) = store.get(Builtin::Checks.id(), &TagSet::empty()) {
            let block = all_checks.get_or_insert_with(ChecksBlock::default);
            block.total = r.total;
            block.passes = r.passes;
        } else if results.iter().any(|r| r.selector.metric == "checks") {
            // k6 shows the checks block (with zeros) when `checks` has thresholds.
            all_checks.get_or_insert_with(ChecksBlock::default);
        }
        self.checks = all_checks;
        self.root_group = tree;
        self.groups = root.finish(ctx).groups;
        self.scenarios = scenarios
            .into_iter()
            .map(|(n, a)| (n, a.finish(ctx)))
            .collect();
        self.scenarios
            .sort_by(|a, b| crate::collate::locale_compare(&a.0, &b.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_md5_of_paths() {
        // k6 v1.1.0 handleSummary root_group ids.
        assert_eq!(path_id(""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(path_id("::g1"), "9ccb03cc5acd728a2fe595bbd1f14da3");
        assert_eq!(path_id("::g1::inner"), "e60245afebe70f40c79b355791487095");
        assert_eq!(
            path_id("::g1::inner::inner ok"),
            "5f9693a2c5c2a1da3b3f70482212f136"
        );
        assert_eq!(path_id("::top check"), "73cf7c782b0c12b75dc3e5fa2573f05a");
        assert_eq!(path_id("::setup"), "5c0f8025f7e0b6654089e5b00e950f1a");
    }

    #[test]
    fn submetric_inner_like_javascript_substring() {
        assert_eq!(submetric_inner("a{b:c}").as_deref(), Some("b:c"));
        assert_eq!(submetric_inner("abc"), None);
        assert_eq!(submetric_inner("a{").as_deref(), Some("{"));
        assert_eq!(submetric_inner("{").as_deref(), Some("{"));
        assert_eq!(submetric_inner("é{ü:ß}").as_deref(), Some("ü:ß"));
    }

    #[test]
    fn percentile_sources_like_k6() {
        assert_eq!(
            percentile_source("p(99)<100"),
            Some(("p(99)".to_owned(), 99.0))
        );
        assert_eq!(
            percentile_source(" p(99.9) < 5 "),
            Some(("p(99.9)".to_owned(), 99.9))
        );
        assert_eq!(percentile_source("p( 99)<5"), None);
        assert_eq!(percentile_source("avg<5"), None);
        assert_eq!(percentile_source("p(99)"), None);
        assert_eq!(percentile_source("p(.5)<1"), None);
    }
}
