//! The pipeline's reports: JSON (the [`PipelineReport`] itself), JUnit
//! (one test case per stage and gate condition, so CI shows each gate)
//! and HTML (the run report's look, one section per stage with its
//! verdict, checks, findings and its own run report with charts).

use std::fmt::Write;

use stampede_output::junit::escape;

use crate::run::{Outcome, PipelineReport, StageReport};

/// The JSON text.
pub fn json(r: &PipelineReport) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("the report serializes");
    s.push('\n');
    s
}

/// The JUnit XML document: a suite per stage, a case per gate condition
/// (a skipped stage is one skipped case).
pub fn junit(r: &PipelineReport) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let cases = |s: &StageReport| s.checks.len().max(1);
    let tests: usize = r.stages.iter().map(cases).sum();
    let failures: usize = r
        .stages
        .iter()
        .map(|s| s.checks.iter().filter(|c| !c.ok).count())
        .sum();
    let _ = writeln!(
        x,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{:.3}\">",
        escape(&r.name),
        r.duration_s
    );
    for s in &r.stages {
        let fails = s.checks.iter().filter(|c| !c.ok).count();
        let skipped = usize::from(s.outcome == Outcome::Skipped);
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{fails}\" errors=\"0\" skipped=\"{skipped}\" time=\"{:.3}\">",
            escape(&s.name),
            cases(s),
            s.duration_s
        );
        if s.outcome == Outcome::Skipped {
            let _ = writeln!(
                x,
                "    <testcase classname=\"pipeline.{0}\" name=\"{0}\" time=\"0\"><skipped message=\"{1}\"/></testcase>",
                escape(&s.name),
                escape(s.skipped_because.as_deref().unwrap_or(""))
            );
        }
        for c in &s.checks {
            let _ = write!(
                x,
                "    <testcase classname=\"pipeline.{}\" name=\"{}\" time=\"0\"",
                escape(&s.name),
                escape(&c.name)
            );
            if c.ok {
                let _ = writeln!(
                    x,
                    "><system-out>{}</system-out></testcase>",
                    escape(&c.detail)
                );
            } else {
                let _ = writeln!(
                    x,
                    "><failure message=\"{}\">{}</failure></testcase>",
                    escape(&c.detail),
                    escape(s.recommendation.as_deref().unwrap_or(""))
                );
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

fn pill(o: Outcome) -> &'static str {
    match o {
        Outcome::Passed => "<span class=\"pill pass\">passed</span>",
        Outcome::Failed => "<span class=\"pill fail\">failed</span>",
        Outcome::Skipped => "<span class=\"pill\">skipped</span>",
    }
}

/// The HTML page (self-contained but for the stages' own reports, which
/// sit next to it and are embedded; a stage run by the server links to
/// its run's page, `/runs/ID`).
pub fn html(r: &PipelineReport) -> String {
    let mut h = String::with_capacity(16 * 1024);
    let (class, label) = if r.passed {
        ("pass", "PASSED")
    } else {
        ("fail", "FAILED")
    };
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Pipeline report: {0}</title>\n<style>\n{1}\n\
         iframe.stage {{ width: 100%; height: 40rem; border: 1px solid #e5e7eb; border-radius: 8px; }}\n\
         </style>\n</head>\n<body>\n<main>\n\
         <header class=\"top\"><h1>Pipeline report: {0}</h1><span class=\"badge {class}\" id=\"verdict\">{label}</span></header>\n\
         <p class=\"meta\"><span>{2} stages</span><span>duration {3:.0}s</span>{4}</p>\n",
        escape(&r.name),
        stampede_output::html::STYLE,
        r.stages.len(),
        r.duration_s,
        if r.interrupted {
            "<span>interrupted</span>"
        } else {
            ""
        }
    );
    h.push_str("<section id=\"decisions\"><h2>Decision tree</h2><ul>");
    for d in &r.decisions {
        let _ = write!(h, "<li>{}</li>", escape(d));
    }
    h.push_str("</ul></section>\n<section id=\"stages\"><h2>Stages</h2><div class=\"table-wrap\"><table><thead><tr><th>Stage</th><th>Kind</th><th>Result</th><th class=\"num\">Start</th><th class=\"num\">Duration</th><th>Notes</th></tr></thead><tbody>");
    for s in &r.stages {
        let note = s
            .skipped_because
            .clone()
            .or_else(|| s.recommendation.clone())
            .unwrap_or_default();
        let _ = write!(
            h,
            "<tr><td class=\"name\"><a href=\"#stage-{0}\">{0}</a>{1}</td><td>{2:?}</td><td>{3}</td><td class=\"num\">{4:.0}s</td><td class=\"num\">{5:.1}s</td><td class=\"wrap\">{6}</td></tr>",
            escape(&s.name),
            if s.required { "" } else { " <small>(optional)</small>" },
            s.kind,
            pill(s.outcome),
            s.started_s,
            s.duration_s,
            escape(&note)
        );
    }
    h.push_str("</tbody></table></div></section>\n");
    for s in &r.stages {
        let _ = write!(
            h,
            "<section id=\"stage-{0}\"><h2>{0} {1} <small>{2}</small></h2>",
            escape(&s.name),
            pill(s.outcome),
            escape(&s.script)
        );
        if let Some(why) = &s.skipped_because {
            let _ = writeln!(
                h,
                "<p class=\"muted\">Skipped: {}</p></section>",
                escape(why)
            );
            continue;
        }
        h.push_str("<div class=\"table-wrap\"><table><thead><tr><th>Gate condition</th><th>Result</th><th>Detail</th></tr></thead><tbody>");
        for c in &s.checks {
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td>{}</td><td class=\"wrap\">{}</td></tr>",
                escape(&c.name),
                pill(if c.ok {
                    Outcome::Passed
                } else {
                    Outcome::Failed
                }),
                escape(&c.detail)
            );
        }
        h.push_str("</tbody></table></div>");
        let f = &s.findings;
        let mut cards = Vec::new();
        if let Some(bp) = &f.breaking_point {
            cards.push((
                "Breaking point",
                format!("{} VUs", bp.vus.map_or("?".into(), |v| format!("{v:.0}"))),
                format!("{:.0} req/s at {:.0}s", bp.rps, bp.t),
            ));
        }
        if let Some(e) = &f.first_error {
            cards.push((
                "First error",
                format!("{} VUs", e.vus.map_or("?".into(), |v| format!("{v:.0}"))),
                format!("{:.0} req/s at {:.0}s", e.rps, e.t),
            ));
        }
        if let Some(rec) = &f.recovery {
            cards.push((
                "Recovery time",
                rec.recovery_s
                    .map_or("not recovered".into(), |s| format!("{s:.0}s")),
                format!(
                    "after the fault ended at {:.0}s, SLO held {} intervals",
                    rec.fault_end_s, rec.k
                ),
            ));
        }
        if !cards.is_empty() {
            h.push_str("<div class=\"cards\">");
            for (k, v, sub) in cards {
                let _ = write!(
                    h,
                    "<div class=\"card\"><div class=\"k\">{}</div><div class=\"v\">{}</div><div class=\"s\">{}</div></div>",
                    escape(k),
                    escape(&v),
                    escape(&sub)
                );
            }
            h.push_str("</div>");
        }
        if let Some(rec) = &s.recommendation {
            let _ = write!(h, "<p><strong>Recommendation:</strong> {}</p>", escape(rec));
        }
        if let Some(page) = &s.html {
            let _ = write!(
                h,
                "<p><a href=\"{0}\">Full run report</a>{1}</p><iframe class=\"stage\" loading=\"lazy\" src=\"{0}\" title=\"{2} run report\"></iframe>",
                escape(page),
                s.log
                    .as_ref()
                    .map(|l| format!(" · <a href=\"{}\">log</a>", escape(l)))
                    .unwrap_or_default(),
                escape(&s.name)
            );
        } else if let Some(id) = s.run_id {
            let _ = write!(
                h,
                "<p><a href=\"/runs/{id}\">Run {id}</a> · <a href=\"/api/v1/export/{id}?format=html\">run report</a></p>"
            );
        }
        h.push_str("</section>\n");
    }
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

/// The decision-tree text the CLI prints at the end.
pub fn text(r: &PipelineReport) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "pipeline {}: {}",
        r.name,
        if r.passed { "PASSED" } else { "FAILED" }
    );
    for s in &r.stages {
        let mark = match s.outcome {
            Outcome::Passed => "✓",
            Outcome::Failed => "✗",
            Outcome::Skipped => "-",
        };
        let _ = writeln!(
            t,
            "  {mark} {:<12} {:<8} {}",
            s.name,
            format!("{:?}", s.outcome).to_lowercase(),
            s.skipped_because.as_deref().unwrap_or("")
        );
        for c in &s.checks {
            let _ = writeln!(
                t,
                "      {} {}: {}",
                if c.ok { "✓" } else { "✗" },
                c.name,
                c.detail
            );
        }
    }
    t.push_str("\ndecision tree:\n");
    for d in &r.decisions {
        let _ = writeln!(t, "  → {d}");
    }
    t
}
