//! k6's pre-v1 text summary (`--summary-mode=legacy`, and the k6-summary
//! jslib's `textSummary(data, options)`), rendered from `handleSummary` data.

use serde_json::Value;

use crate::ansi::{str_width, Painter};
use crate::collate::compare_metric_names;
use crate::humanize::{humanize_value, TimeUnit};
use crate::jsfmt::js_string;

use super::DEFAULT_TREND_STATS;

const GREEN: u8 = 32;
const RED: u8 = 31;
const CYAN: u8 = 36;
const FAINT: u8 = 2;

/// Which legacy summary code to reproduce; they differ in two details.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub enum LegacyFlavor {
    /// The k6-summary jslib from 0.0.3 on: rates as `✓ 20 ✗ 0`, metrics
    /// sorted with `localeCompare`, sub-metrics after their parent.
    #[default]
    Jslib,
    /// The k6-summary jslib 0.0.1 and 0.0.2: rates as `✓ 20 ✗ 0`, metric
    /// names sorted by UTF-16 code units (`names.sort()`).
    JslibPlainSort,
    /// k6 v1.1's `--summary-mode=legacy`: rates as `20 out of 20`,
    /// `localeCompare` order.
    K6,
}

/// `textSummary`'s options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextOptions {
    /// Prefix of every line (`' '` by default).
    pub indent: String,
    /// Whether to emit ANSI colors (`true` by default, as in the jslib).
    pub enable_colors: bool,
    /// Overrides `data.options.summaryTrendStats`.
    pub summary_trend_stats: Option<Vec<String>>,
    /// Overrides `data.options.summaryTimeUnit`.
    pub summary_time_unit: Option<String>,
    /// Which implementation to reproduce.
    pub flavor: LegacyFlavor,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            indent: " ".into(),
            enable_colors: true,
            summary_trend_stats: None,
            summary_time_unit: None,
            flavor: LegacyFlavor::Jslib,
        }
    }
}

impl TextOptions {
    /// The defaults of the k6-summary jslib `version` a script imports
    /// (`https://jslib.k6.io/k6-summary/<version>/index.js`).
    pub fn for_jslib(version: &str) -> Self {
        let flavor = match version {
            "0.0.1" | "0.0.2" => LegacyFlavor::JslibPlainSort,
            _ => LegacyFlavor::Jslib,
        };
        TextOptions {
            flavor,
            ..TextOptions::default()
        }
    }
}

/// A metric as the legacy summary reads it from the data.
struct Metric<'a> {
    name: &'a str,
    kind: &'a str,
    contains: &'a str,
    values: Option<&'a serde_json::Map<String, Value>>,
    /// `None` without a `thresholds` key; `Some(all_ok)` with one.
    thresholds_ok: Option<bool>,
}

impl Metric<'_> {
    fn value(&self, key: &str) -> f64 {
        self.values
            .and_then(|v| v.get(key))
            .and_then(Value::as_f64)
            .unwrap_or(f64::NAN)
    }

    fn humanize(&self, v: f64, unit: Option<TimeUnit>) -> String {
        use stampede_metrics::{MetricType, ValueType};
        let kind = match self.kind {
            "rate" => MetricType::Rate,
            "counter" => MetricType::Counter,
            "gauge" => MetricType::Gauge,
            _ => MetricType::Trend,
        };
        let contains = match self.contains {
            "data" => ValueType::Data,
            "time" => ValueType::Time,
            _ => ValueType::Default,
        };
        humanize_value(v, kind, contains, unit)
    }

    /// `nonTrendMetricValueForSum`.
    fn non_trend_values(&self, unit: Option<TimeUnit>, flavor: LegacyFlavor) -> Vec<String> {
        let h = |key: &str| self.humanize(self.value(key), unit);
        match self.kind {
            "counter" => vec![h("count"), format!("{}/s", h("rate"))],
            "gauge" => vec![
                h("value"),
                format!("min={}", h("min")),
                format!("max={}", h("max")),
            ],
            "rate" if flavor != LegacyFlavor::K6 => {
                let raw = |k: &str| js_concat(self.values.and_then(|v| v.get(k)));
                vec![
                    h("rate"),
                    format!("✓ {}", raw("passes")),
                    format!("✗ {}", raw("fails")),
                ]
            }
            "rate" => {
                let passes = self.value("passes");
                let fails = self.value("fails");
                vec![
                    h("rate"),
                    format!("{} out of {}", js_string(passes), js_string(passes + fails)),
                ]
            }
            _ => vec!["[no data]".into()],
        }
    }
}

fn number(v: Option<&Value>) -> f64 {
    v.and_then(Value::as_f64).unwrap_or(f64::NAN)
}

/// A value as JavaScript's `'' + v` prints it (for hand-made data).
fn js_concat(v: Option<&Value>) -> String {
    match v {
        None => "undefined".into(),
        Some(Value::Null) => "null".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => js_string(n.as_f64().unwrap_or(f64::NAN)),
        Some(Value::Bool(b)) => b.to_string(),
        Some(Value::Array(_)) | Some(Value::Object(_)) => "[object Object]".into(),
    }
}

/// `summarizeCheck`.
fn check_line(indent: &str, check: &Value, paint: &Painter) -> String {
    let name = check.get("name").and_then(Value::as_str).unwrap_or("");
    let passes = number(check.get("passes"));
    let fails = number(check.get("fails"));
    // `check.fails == 0` is also true for "0", false, "" and null... but
    // only numbers come from k6; anything else counts as failing.
    if fails == 0.0 {
        return paint.legacy(&format!("{indent}✓ {name}"), &[GREEN]);
    }
    let pct = (100.0 * passes / (passes + fails)).floor();
    paint.legacy(
        &format!(
            "{indent}✗ {name}\n{indent} ↳  {}% — ✓ {} / ✗ {}",
            js_string(pct),
            js_concat(check.get("passes")),
            js_concat(check.get("fails"))
        ),
        &[RED],
    )
}

/// `summarizeGroup`.
fn group_lines(indent: &str, group: &Value, paint: &Painter, out: &mut Vec<String>) {
    let mut indent = indent.to_owned();
    let name = group.get("name").and_then(Value::as_str).unwrap_or("");
    if !name.is_empty() {
        out.push(format!("{indent}█ {name}\n"));
        indent.push_str("  ");
    }
    let checks = group.get("checks").and_then(Value::as_array);
    for c in checks.into_iter().flatten() {
        out.push(check_line(&indent, c, paint));
    }
    if checks.is_some_and(|c| !c.is_empty()) {
        out.push(String::new());
    }
    let groups = group.get("groups").and_then(Value::as_array);
    for g in groups.into_iter().flatten() {
        group_lines(&indent, g, paint, out);
    }
}

fn indent_for(name: &str) -> &'static str {
    if name.contains('{') {
        "  "
    } else {
        ""
    }
}

fn display_name(name: &str) -> String {
    match super::model::submetric_inner(name) {
        Some(inner) => format!("{{ {inner} }}"),
        None => name.to_owned(),
    }
}

/// `summarizeMetrics`.
fn metric_lines(
    indent: &str,
    data: &Value,
    stats: &[String],
    unit: Option<TimeUnit>,
    paint: &Painter,
    flavor: LegacyFlavor,
) -> Vec<String> {
    let indent = format!("{indent}  ");
    let mut metrics: Vec<Metric<'_>> = Vec::new();
    if let Some(map) = data.get("metrics").and_then(Value::as_object) {
        for (name, m) in map {
            let thresholds_ok =
                m.get("thresholds")
                    .filter(|t| !t.is_null())
                    .map(|t| match t.as_object() {
                        Some(th) => th
                            .values()
                            .all(|r| r.get("ok").and_then(Value::as_bool).unwrap_or(false)),
                        None => true,
                    });
            metrics.push(Metric {
                name,
                kind: m.get("type").and_then(Value::as_str).unwrap_or(""),
                contains: m.get("contains").and_then(Value::as_str).unwrap_or(""),
                values: m.get("values").and_then(Value::as_object),
                thresholds_ok,
            });
        }
    }

    let mut name_max = 0;
    let mut value_max = 0;
    let mut extra_max = vec![0usize, 0];
    let mut trend_max = vec![0usize; stats.len()];
    let mut cols: Vec<Vec<String>> = Vec::with_capacity(metrics.len());
    for m in &metrics {
        let shown = format!("{}{}", indent_for(m.name), display_name(m.name));
        name_max = name_max.max(str_width(&shown));
        if m.kind == "trend" {
            let row: Vec<String> = stats
                .iter()
                .map(|s| {
                    let v = m.value(s);
                    if s == "count" {
                        js_string(v)
                    } else {
                        m.humanize(v, unit)
                    }
                })
                .collect();
            for (i, c) in row.iter().enumerate() {
                trend_max[i] = trend_max[i].max(str_width(c));
            }
            cols.push(row);
        } else {
            let row = m.non_trend_values(unit, flavor);
            value_max = value_max.max(str_width(&row[0]));
            for (i, extra) in row.iter().enumerate().skip(1) {
                let w = str_width(extra);
                match extra_max.get_mut(i - 1) {
                    Some(max) => *max = (*max).max(w),
                    None => extra_max.push(w),
                }
            }
            cols.push(row);
        }
    }

    let mut order: Vec<usize> = (0..metrics.len()).collect();
    match flavor {
        LegacyFlavor::JslibPlainSort => order.sort_by(|&a, &b| {
            metrics[a]
                .name
                .encode_utf16()
                .cmp(metrics[b].name.encode_utf16())
        }),
        _ => order.sort_by(|&a, &b| compare_metric_names(metrics[a].name, metrics[b].name)),
    }

    let mut out = Vec::with_capacity(order.len());
    for i in order {
        let m = &metrics[i];
        let row = &cols[i];
        let data = if m.kind == "trend" {
            row.iter()
                .enumerate()
                .map(|(j, c)| {
                    format!(
                        "{}={}{}",
                        stats[j],
                        paint.legacy(c, &[CYAN]),
                        " ".repeat(trend_max[j].saturating_sub(str_width(c)))
                    )
                })
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            let mut s = format!(
                "{}{}",
                paint.legacy(&row[0], &[CYAN]),
                " ".repeat(value_max.saturating_sub(str_width(&row[0])))
            );
            let extras = &row[1..];
            if extras.len() == 1 {
                s.push(' ');
                s.push_str(&paint.legacy(&extras[0], &[CYAN, FAINT]));
            } else if extras.len() > 1 {
                let parts: Vec<String> = extras
                    .iter()
                    .enumerate()
                    .map(|(j, e)| {
                        format!(
                            "{}{}",
                            paint.legacy(e, &[CYAN, FAINT]),
                            " ".repeat(extra_max[j].saturating_sub(str_width(e)))
                        )
                    })
                    .collect();
                s.push(' ');
                s.push_str(&parts.join(" "));
            }
            s
        };
        let mark = match m.thresholds_ok {
            None => " ".to_owned(),
            Some(true) => paint.legacy("✓", &[GREEN]),
            Some(false) => paint.legacy("✗", &[RED]),
        };
        let fmt_indent = indent_for(m.name);
        let shown = display_name(m.name);
        let dots = (name_max + 3).saturating_sub(str_width(&shown) + str_width(fmt_indent));
        let dotted = format!(
            "{shown}{}",
            paint.legacy(&format!("{}:", ".".repeat(dots)), &[FAINT])
        );
        out.push(format!("{indent}{fmt_indent}{mark} {dotted} {data}"));
    }
    out
}

/// The k6-summary jslib's `textSummary(data, options)`, or k6's own legacy
/// summary ([`LegacyFlavor`]): checks by group, then every metric of
/// `data.metrics`, one line each. Reads `summaryTrendStats` and
/// `summaryTimeUnit` from `data.options` unless `opts` overrides them.
pub fn render_legacy_from_data(data: &Value, opts: &TextOptions) -> String {
    let data_opts = data.get("options");
    let stats: Vec<String> = match &opts.summary_trend_stats {
        Some(s) => s.clone(),
        None => data_opts
            .and_then(|o| o.get("summaryTrendStats"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_else(|| DEFAULT_TREND_STATS.iter().map(|s| s.to_string()).collect()),
    };
    let unit = match &opts.summary_time_unit {
        Some(u) => TimeUnit::parse(u),
        None => data_opts
            .and_then(|o| o.get("summaryTimeUnit"))
            .and_then(Value::as_str)
            .and_then(TimeUnit::parse),
    };
    let paint = Painter {
        enabled: opts.enable_colors,
    };
    let mut lines = Vec::new();
    if let Some(root) = data.get("root_group") {
        group_lines(&format!("{}    ", opts.indent), root, &paint, &mut lines);
    }
    lines.extend(metric_lines(
        &opts.indent,
        data,
        &stats,
        unit,
        &paint,
        opts.flavor,
    ));
    lines.join("\n")
}
