//! The compact and full text summaries, laid out exactly as k6 v1.1's
//! `summary.js` lays them out (line items joined the way its `build()` does).

use std::collections::HashMap;

use stampede_metrics::{MetricType, ValueType};

use std::time::Duration;

use super::model::{go_rate, Breakdown, ChecksBlock, MetricSummary};
use super::Report;
use crate::ansi::{str_width, Color, Painter};
use crate::collate::{compare_metric_names, locale_compare};
use crate::humanize::{humanize_value, TimeUnit};
use crate::jsfmt::js_string;

/// A line, or the bare newline `summary.js` pushes as `'\n'`.
enum Item {
    Line(String),
    Newline,
}

/// `RenderContext`: an indentation level of two spaces per step.
#[derive(Copy, Clone)]
struct Ctx {
    base: usize,
}

impl Ctx {
    fn indent_level(self, level: usize) -> String {
        " ".repeat((self.base + level) * 2)
    }

    fn indent(self, text: &str) -> String {
        format!("{}{text}", self.indent_level(1))
    }

    fn deeper(self) -> Ctx {
        Ctx {
            base: self.base + 1,
        }
    }
}

/// The summary sections metrics are filed under, in k6's order.
const SECTIONS: [&str; 8] = [
    "custom",
    "http",
    "execution",
    "network",
    "browser",
    "web_vitals",
    "grpc",
    "websocket",
];

fn has_prefix(name: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| name.starts_with(p))
}

/// The section of a (sub-)metric; k6 matches built-in names as prefixes.
fn section_of(name: &str) -> &'static str {
    if has_prefix(
        name,
        &[
            "http_reqs",
            "http_req_failed",
            "http_req_duration",
            "http_req_blocked",
            "http_req_connecting",
            "http_req_tls_handshaking",
            "http_req_sending",
            "http_req_waiting",
            "http_req_receiving",
        ],
    ) {
        "http"
    } else if has_prefix(
        name,
        &[
            "vus",
            "vus_max",
            "iterations",
            "iteration_duration",
            "dropped_iterations",
        ],
    ) {
        "execution"
    } else if has_prefix(name, &["data_sent", "data_received"]) {
        "network"
    } else if name.starts_with("browser_web_vital_") {
        "web_vitals"
    } else if name.starts_with("browser_") {
        "browser"
    } else if name.starts_with("grpc_") {
        "grpc"
    } else if name.starts_with("ws_") {
        "websocket"
    } else {
        "custom"
    }
}

/// Metrics the summary leaves out: checks and group durations always; the
/// network timings too in the compact summary.
fn skipped(name: &str, full: bool) -> bool {
    if has_prefix(name, &["checks", "group_duration"]) {
        return true;
    }
    !full
        && has_prefix(
            name,
            &[
                "http_req_blocked",
                "http_req_connecting",
                "http_req_receiving",
                "http_req_sending",
                "http_req_tls_handshaking",
                "http_req_waiting",
            ],
        )
}

/// `renderMetricDisplayName`: `{ tags }` for sub-metrics (two spaces first).
fn display_name(name: &str) -> String {
    match super::model::submetric_inner(name) {
        Some(inner) => format!("  {{ {inner} }}"),
        None => name.to_owned(),
    }
}

struct Renderer<'a> {
    paint: Painter,
    unit: Option<TimeUnit>,
    trend_stats: Vec<&'a str>,
}

/// `computeSummaryInfo`: every formatted value and the column widths.
#[derive(Default)]
struct Info {
    max_name_width: usize,
    non_trend_values: HashMap<String, String>,
    non_trend_extras: HashMap<String, Vec<String>>,
    trend_cols: HashMap<String, Vec<String>>,
    trend_keys: HashMap<String, Vec<(String, String)>>,
    trend_col_max: Vec<usize>,
    non_trend_max: usize,
    extra_max: Vec<usize>,
}

impl Renderer<'_> {
    fn value(&self, m: &MetricSummary, key: &str) -> f64 {
        m.value(key).unwrap_or(f64::NAN)
    }

    fn humanize(&self, m: &MetricSummary, v: f64) -> String {
        humanize_value(v, m.kind, m.contains, self.unit)
    }

    fn trend_value(&self, m: &MetricSummary, stat: &str, v: f64) -> String {
        if stat == "count" {
            js_string(v)
        } else {
            self.humanize(m, v)
        }
    }

    /// `nonTrendMetricValueForSum`.
    fn non_trend_values(&self, m: &MetricSummary) -> Vec<String> {
        let h = |key: &str| self.humanize(m, self.value(m, key));
        match m.kind {
            MetricType::Counter => vec![h("count"), format!("{}/s", h("rate"))],
            MetricType::Gauge => vec![
                h("value"),
                format!("min={}", h("min")),
                format!("max={}", h("max")),
            ],
            MetricType::Rate => {
                let passes = self.value(m, "passes");
                let fails = self.value(m, "fails");
                vec![
                    h("rate"),
                    format!("{} out of {}", js_string(passes), js_string(passes + fails)),
                ]
            }
            MetricType::Trend => vec!["[no data]".into()],
        }
    }

    fn info(&self, metrics: &[&MetricSummary], ctx: Ctx) -> Info {
        let mut info = Info {
            trend_col_max: vec![0; self.trend_stats.len()],
            ..Info::default()
        };
        for m in metrics {
            let shown = ctx.indent(&format!("{}{}", m.name, display_name(&m.name)));
            info.max_name_width = info.max_name_width.max(str_width(&shown));
            if m.kind == MetricType::Trend {
                let keys = m
                    .values
                    .iter()
                    .filter(|(k, _)| !self.trend_stats.contains(&k.as_str()))
                    .map(|(k, v)| (k.clone(), self.trend_value(m, k, *v)))
                    .collect();
                let cols: Vec<String> = self
                    .trend_stats
                    .iter()
                    .map(|s| self.trend_value(m, s, self.value(m, s)))
                    .collect();
                for (i, c) in cols.iter().enumerate() {
                    info.trend_col_max[i] = info.trend_col_max[i].max(str_width(c));
                }
                info.trend_cols.insert(m.name.clone(), cols);
                info.trend_keys.insert(m.name.clone(), keys);
            } else {
                let mut values = self.non_trend_values(m);
                let main = values.remove(0);
                info.non_trend_max = info.non_trend_max.max(str_width(&main));
                for (i, extra) in values.iter().enumerate() {
                    let w = str_width(extra);
                    match info.extra_max.get_mut(i) {
                        Some(max) => *max = (*max).max(w),
                        None => info.extra_max.push(w),
                    }
                }
                info.non_trend_values.insert(m.name.clone(), main);
                info.non_trend_extras.insert(m.name.clone(), values);
            }
        }
        info
    }

    /// `renderMetricLine`.
    fn metric_line(&self, m: &MetricSummary, info: &Info, ctx: Ctx) -> String {
        let shown = display_name(&m.name);
        let dots = (info.max_name_width + 3)
            .saturating_sub(str_width(&shown) + str_width(&ctx.indent_level(1)));
        let dotted = format!(
            "{shown}{}",
            self.paint
                .paint(&format!("{}:", ".".repeat(dots)), Color::White, true)
        );
        let data = if m.kind == MetricType::Trend {
            let cols = &info.trend_cols[&m.name];
            cols.iter()
                .enumerate()
                .map(|(i, col)| {
                    let pad = info.trend_col_max[i].saturating_sub(str_width(col));
                    format!(
                        "{}={}{}",
                        self.trend_stats[i],
                        self.paint.paint(col, Color::Cyan, false),
                        " ".repeat(pad)
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            let value = &info.non_trend_values[&m.name];
            let extras = &info.non_trend_extras[&m.name];
            let mut out = self.paint.paint(value, Color::Cyan, false);
            out.push_str(&" ".repeat(info.non_trend_max.saturating_sub(str_width(value))));
            if extras.len() == 1 {
                out.push(' ');
                out.push_str(&self.paint.paint(&extras[0], Color::Cyan, true));
            } else if extras.len() > 1 {
                let parts: Vec<String> = extras
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let pad = info.extra_max[i].saturating_sub(str_width(v));
                        format!(
                            "{}{}",
                            self.paint.paint(v, Color::Cyan, true),
                            " ".repeat(pad)
                        )
                    })
                    .collect();
                out.push(' ');
                out.push_str(&parts.join(" "));
            }
            out
        };
        ctx.indent(&format!("{dotted} {data}"))
    }

    /// `renderThresholds`.
    fn thresholds(&self, metrics: &[MetricSummary], ctx: Ctx) -> Vec<Item> {
        let refs: Vec<&MetricSummary> = metrics.iter().collect();
        let info = self.info(&refs, ctx);
        let mut out = Vec::new();
        for m in metrics {
            let parent = m.name.split('{').next().unwrap_or("");
            let is_sub = m.name.len() > parent.len();
            let parent_shown = is_sub && metrics.iter().any(|x| x.name == parent);
            let inner = if parent_shown { ctx.deeper() } else { ctx };
            let label = if parent_shown {
                &m.name[parent.len()..]
            } else {
                &m.name
            };
            out.push(Item::Line(inner.indent(label)));
            for t in &m.thresholds {
                let status = if t.ok {
                    self.paint.paint("✓", Color::Green, false)
                } else {
                    self.paint.paint("✗", Color::Red, false)
                };
                let source =
                    self.paint
                        .paint(&format!("'{}'", t.source.trim()), Color::White, false);
                let agg = t.source.split(['=', '>', '<']).next().unwrap_or("").trim();
                let value: Option<String> = match m.kind {
                    MetricType::Trend => match self.trend_stats.iter().position(|s| *s == agg) {
                        Some(i) => info.trend_cols.get(&m.name).map(|c| c[i].clone()),
                        None => info.trend_keys.get(&m.name).and_then(|keys| {
                            keys.iter().find(|(k, _)| k == agg).map(|(_, v)| v.clone())
                        }),
                    },
                    MetricType::Counter if agg != "count" => info
                        .non_trend_extras
                        .get(&m.name)
                        .and_then(|e| e.first().cloned()),
                    _ => info.non_trend_values.get(&m.name).cloned(),
                };
                // JavaScript prints a missing value as "undefined" when it is
                // decorated, and as nothing when joined undecorated.
                let value = match value {
                    Some(v) => self.paint.paint(&v, Color::Cyan, false),
                    None if self.paint.enabled => self.paint.paint("undefined", Color::Cyan, false),
                    None => String::new(),
                };
                let observed = format!("{}={value}", self.paint.paint(agg, Color::White, false));
                out.push(Item::Line(
                    inner.indent(&format!("{status} {source} {observed}")),
                ));
            }
            out.push(Item::Newline);
        }
        out
    }

    /// `renderChecks` as `_renderChecks` wraps it.
    fn checks(&self, block: Option<&ChecksBlock>, ctx: Ctx, duration: Duration) -> Vec<Item> {
        let Some(block) = block else {
            return Vec::new();
        };
        let ctx = ctx.deeper();
        let total = block.total as f64;
        let passes = block.passes as f64;
        let fails = total - passes;
        let metric = |name: &str, kind, values: Vec<(&str, f64)>| MetricSummary {
            name: name.into(),
            kind,
            contains: ValueType::Default,
            values: values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            thresholds: Vec::new(),
        };
        let rate = go_rate(total, duration);
        let succeeded_rate = if total > 0.0 { passes / total } else { 0.0 };
        let metrics = [
            metric(
                "checks_total",
                MetricType::Counter,
                vec![("count", total), ("rate", rate)],
            ),
            metric(
                "checks_succeeded",
                MetricType::Rate,
                vec![
                    ("rate", succeeded_rate),
                    ("passes", passes),
                    ("fails", fails),
                ],
            ),
            metric(
                "checks_failed",
                MetricType::Rate,
                vec![
                    ("passes", fails),
                    ("fails", passes),
                    ("rate", fails / total),
                ],
            ),
        ];
        let refs: Vec<&MetricSummary> = metrics.iter().collect();
        let info = self.info(&refs, ctx);
        let mut out: Vec<Item> = metrics
            .iter()
            .map(|m| Item::Line(self.metric_line(m, &info, ctx)))
            .collect();
        out.push(Item::Newline);
        for c in &block.list {
            if c.fails == 0 {
                let line = self
                    .paint
                    .paint(&format!("✓ {}", c.name), Color::Green, false);
                out.push(Item::Line(ctx.indent(&line)));
                continue;
            }
            let pct = (100.0 * c.passes as f64 / (c.passes + c.fails) as f64).floor();
            let name = self
                .paint
                .paint(&format!("✗ {}", c.name), Color::Red, false);
            let results = self.paint.paint(
                &format!("↳  {}% — ✓ {} / ✗ {}", js_string(pct), c.passes, c.fails),
                Color::Red,
                false,
            );
            out.push(Item::Line(format!(
                "{}\n{}{results}",
                ctx.indent(&name),
                ctx.indent_level(ctx.base + 1)
            )));
        }
        out.push(Item::Newline);
        out
    }

    /// `_renderMetrics`: the sections, custom metrics first.
    fn metrics(&self, metrics: &[&MetricSummary], ctx: Ctx) -> Vec<Item> {
        let ctx = ctx.deeper();
        let info = self.info(metrics, ctx);
        let mut out = Vec::new();
        for section in SECTIONS {
            let mut list: Vec<&MetricSummary> = metrics
                .iter()
                .copied()
                .filter(|m| section_of(&m.name) == section)
                .collect();
            if list.is_empty() {
                continue;
            }
            list.sort_by(|a, b| compare_metric_names(&a.name, &b.name));
            out.push(Item::Line(
                ctx.indent(&self.paint.bold(&section.to_uppercase())),
            ));
            for m in list {
                out.push(Item::Line(self.metric_line(m, &info, ctx)));
            }
            out.push(Item::Newline);
        }
        out
    }

    /// `_renderGroupContent` / `_renderScenarioContent`.
    fn breakdown(&self, b: &Breakdown, ctx: Ctx, duration: Duration) -> Vec<Item> {
        let mut out = self.checks(b.checks.as_ref(), ctx, duration);
        let metrics: Vec<&MetricSummary> = b
            .metrics
            .iter()
            .filter(|m| !skipped(&m.name, true))
            .collect();
        out.extend(self.metrics(&metrics, ctx));
        let nested = ctx.deeper();
        for (name, g) in &b.groups {
            out.push(Item::Line(title(
                &self.paint,
                &format!("GROUP: {name}"),
                nested,
                "↳",
            )));
            out.extend(self.breakdown(g, nested, duration));
        }
        out
    }
}

/// `renderTitle`: `█ TITLE ` (or `↳ ...`) plus the newline it carries.
fn title(paint: &Painter, text: &str, ctx: Ctx, prefix: &str) -> String {
    ctx.indent(&format!("{prefix} {} \n", paint.bold(text)))
}

/// The compact (or full) summary, without the newlines k6 wraps it in.
pub(crate) fn render(report: &Report, full: bool) -> String {
    let r = Renderer {
        paint: Painter {
            enabled: report.enable_colors(),
        },
        unit: report.unit(),
        trend_stats: report.trend_stats.iter().map(|(s, _)| s.as_str()).collect(),
    };
    let model = &report.model;
    let secs = report.duration;
    let top = Ctx { base: 0 };
    let mut sections: Vec<(String, Vec<Item>)> = Vec::new();

    if !model.thresholds.is_empty() {
        sections.push((
            "THRESHOLDS".into(),
            r.thresholds(&model.thresholds, top.deeper()),
        ));
    }

    let mut total = r.checks(model.checks.as_ref(), top, secs);
    let shown: Vec<&MetricSummary> = model
        .metrics
        .iter()
        .filter(|m| !skipped(&m.name, full))
        .collect();
    total.extend(r.metrics(&shown, top));
    sections.push(("TOTAL RESULTS".into(), total));

    if full {
        for (name, g) in &model.groups {
            sections.push((format!("GROUP: {name}"), r.breakdown(g, top, secs)));
        }
        let mut scenarios: Vec<&(String, Breakdown)> = model.scenarios.iter().collect();
        scenarios.sort_by(|a, b| locale_compare(&a.0, &b.0));
        for (name, s) in scenarios {
            sections.push((format!("SCENARIO: {name}"), r.breakdown(s, top, secs)));
        }
    }

    let mut out = String::new();
    for (name, content) in sections {
        out.push('\n');
        out.push_str(&title(&r.paint, &name, top, "█"));
        for item in content {
            match item {
                Item::Newline => out.push('\n'),
                Item::Line(l) => {
                    out.push('\n');
                    out.push_str(&l);
                }
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_by_prefix_like_k6() {
        assert_eq!(section_of("http_req_duration{status:200}"), "http");
        assert_eq!(section_of("http_reqs_custom"), "http");
        assert_eq!(section_of("vus_max"), "execution");
        assert_eq!(section_of("data_sent"), "network");
        assert_eq!(section_of("ws_ping"), "websocket");
        assert_eq!(section_of("grpc_req_duration"), "grpc");
        assert_eq!(section_of("browser_web_vital_lcp"), "web_vitals");
        assert_eq!(section_of("browser_data_sent"), "browser");
        assert_eq!(section_of("my_trend"), "custom");
        assert!(skipped("checks{check:a}", true));
        assert!(skipped("http_req_waiting", false));
        assert!(!skipped("http_req_waiting", true));
        assert!(!skipped("http_req_duration", false));
    }

    #[test]
    fn display_names() {
        assert_eq!(display_name("a{b:c}"), "  { b:c }");
        assert_eq!(display_name("abc"), "abc");
    }
}
