//! JUnit XML (`--out junit=FILE`): a `thresholds` suite with one test case
//! per threshold expression and a `checks` suite with one per check, so CI
//! systems (GitHub Actions, GitLab, Jenkins) show a run's gates as tests.
//! A threshold fails when it failed at the end of the test; a check fails
//! when any of its evaluations failed.

use std::fmt::Write;

use crate::results::Results;
use crate::units;

/// Escapes text for XML attributes and content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit XML document of `results`.
pub fn render(results: &Results) -> String {
    let time = results.test.duration_s;
    let th_fail = results.thresholds.iter().filter(|t| !t.ok).count();
    let ck_fail = results.checks.iter().filter(|c| c.fails > 0).count();
    let tests = results.thresholds.len() + results.checks.len();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let name = results.test.script.as_deref().unwrap_or("stampede");
    let _ = writeln!(
        x,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{}\" errors=\"0\" time=\"{time:.3}\">",
        escape(name),
        th_fail + ck_fail
    );
    let stamp = results.test.started_at.trim_end_matches('Z');
    let _ = writeln!(
        x,
        "  <testsuite name=\"thresholds\" tests=\"{}\" failures=\"{th_fail}\" errors=\"0\" skipped=\"0\" time=\"{time:.3}\" timestamp=\"{}\">",
        results.thresholds.len(),
        escape(stamp)
    );
    for t in &results.thresholds {
        let observed = match t.observed {
            Some(_) => t.observed_text(),
            None => "no samples".into(),
        };
        let _ = write!(
            x,
            "    <testcase classname=\"thresholds.{}\" name=\"{}\" time=\"0\"",
            escape(&t.metric),
            escape(&t.expression)
        );
        if t.ok {
            x.push_str("/>\n");
        } else {
            let msg = format!("{} {} failed: observed {observed}", t.metric, t.expression);
            let _ = writeln!(
                x,
                ">\n      <failure type=\"threshold\" message=\"{}\">{}</failure>\n    </testcase>",
                escape(&msg),
                escape(&msg)
            );
        }
    }
    x.push_str("  </testsuite>\n");
    let _ = writeln!(
        x,
        "  <testsuite name=\"checks\" tests=\"{}\" failures=\"{ck_fail}\" errors=\"0\" skipped=\"0\" time=\"{time:.3}\" timestamp=\"{}\">",
        results.checks.len(),
        escape(stamp)
    );
    for c in &results.checks {
        let class = if c.group.is_empty() {
            "checks".to_owned()
        } else {
            format!("checks{}", c.group.replace("::", "."))
        };
        let _ = write!(
            x,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
            escape(&class),
            escape(&c.name)
        );
        if c.fails == 0 {
            x.push_str("/>\n");
        } else {
            let total = c.passes + c.fails;
            let msg = format!(
                "{} of {} evaluations failed ({} passed)",
                units::count(c.fails),
                units::count(total),
                units::pct(c.passes as f64 / total as f64)
            );
            let _ = writeln!(
                x,
                ">\n      <failure type=\"check\" message=\"{}\">{}</failure>\n    </testcase>",
                escape(&msg),
                escape(&msg)
            );
        }
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{CheckResult, Results, Series, TestInfo, ThresholdResult, Totals, SCHEMA};

    #[test]
    fn thresholds_and_checks_as_cases() {
        let r = Results {
            schema: SCHEMA.into(),
            generator: "t".into(),
            test: TestInfo {
                script: Some("load & soak.js".into()),
                started_at: "2026-11-23T22:05:25Z".into(),
                duration_s: 30.5,
                ..TestInfo::default()
            },
            totals: Totals::default(),
            thresholds: vec![
                ThresholdResult {
                    metric: "http_req_duration".into(),
                    expression: "p(95)<500".into(),
                    ok: false,
                    observed: Some(612.34),
                    contains: "time".into(),
                    kind: "trend".into(),
                },
                ThresholdResult {
                    metric: "http_req_failed".into(),
                    expression: "rate<0.01".into(),
                    ok: true,
                    observed: Some(0.0),
                    contains: "default".into(),
                    kind: "rate".into(),
                },
            ],
            checks: vec![
                CheckResult {
                    name: "status is 200".into(),
                    group: "::api".into(),
                    passes: 97,
                    fails: 3,
                },
                CheckResult {
                    name: "body <ok>".into(),
                    group: String::new(),
                    passes: 100,
                    fails: 0,
                },
            ],
            endpoints: vec![],
            series: Series::default(),
            summary: None,
        };
        let x = render(&r);
        assert!(x.contains(r#"<testsuites name="load &amp; soak.js" tests="4" failures="2" errors="0" time="30.500">"#), "{x}");
        assert!(x.contains(r#"<testcase classname="thresholds.http_req_duration" name="p(95)&lt;500" time="0">"#), "{x}");
        assert!(
            x.contains(r#"message="http_req_duration p(95)&lt;500 failed: observed 612ms""#),
            "{x}"
        );
        assert!(
            x.contains(
                r#"<testcase classname="thresholds.http_req_failed" name="rate&lt;0.01" time="0"/>"#
            ),
            "{x}"
        );
        assert!(
            x.contains(r#"<testcase classname="checks.api" name="status is 200" time="0">"#),
            "{x}"
        );
        assert!(
            x.contains("3 of 100 evaluations failed (97% passed)"),
            "{x}"
        );
        assert!(
            x.contains(r#"<testcase classname="checks" name="body &lt;ok&gt;" time="0"/>"#),
            "{x}"
        );
        assert!(x.contains(r#"timestamp="2026-11-23T22:05:25""#), "{x}");
    }
}
