//! Exports of stored runs (`stampede_output::export`): built from
//! per-interval wire snapshots, they must agree exactly with what a local
//! run's recorder computes from the same samples; the PDF is printed by the
//! real headless Chromium and read back with `pdftotext`.

use std::process::Command;
use std::time::Duration;

use stampede_metrics::thresholds::ThresholdSpec;
use stampede_metrics::{Builtin, Registry, Sink, TagSet, WireSnapshot};
use stampede_output::export::{self, timeseries, StoredRun};
use stampede_output::results::compare::CompareOptions;
use stampede_output::results::{Recorder, RecorderConfig};

use crate::common::servers::binary;

const SEC: u64 = 1_000_000_000;

/// One request sample set: (second, endpoint, status, duration ms).
type Req = (u64, &'static str, &'static str, f64);

fn requests(slow: f64) -> Vec<Req> {
    let mut out = Vec::new();
    for s in 0..6u64 {
        for i in 0..20u64 {
            let ms = 10.0 + ((s * 31 + i * 17) % 97) as f64 * slow;
            out.push((s, "home", "200", ms));
            if i % 4 == 0 {
                let status = if i == 8 { "500" } else { "200" };
                out.push((s, "login, \"v2\"", status, ms * 3.0));
            }
        }
    }
    out
}

fn tags(name: &str, status: &str) -> TagSet {
    TagSet::from_pairs([
        ("name", name),
        ("method", "GET"),
        ("status", status),
        ("scenario", "default"),
    ])
}

fn add_all(mut add: impl FnMut(stampede_metrics::Metric, &TagSet, f64, u64), reqs: &[Req]) {
    for (i, &(s, name, status, ms)) in reqs.iter().enumerate() {
        let t = s * SEC + i as u64 * 1000;
        let tags = tags(name, status);
        add(Builtin::HttpReqs.metric(), &tags, 1.0, t);
        add(Builtin::HttpReqDuration.metric(), &tags, ms, t);
        add(
            Builtin::HttpReqFailed.metric(),
            &tags,
            f64::from(status != "200"),
            t,
        );
        add(
            Builtin::Iterations.metric(),
            &TagSet::from_pairs([("scenario", "default")]),
            1.0,
            t,
        );
        let check = TagSet::from_pairs([("check", "ok"), ("group", "")]);
        add(
            Builtin::Checks.metric(),
            &check,
            f64::from(status == "200"),
            t,
        );
    }
}

/// The per-second wire snapshots of `reqs`, as a controller stores them.
fn intervals(reqs: &[Req]) -> Vec<WireSnapshot> {
    let reg = Registry::new();
    let mut out = Vec::new();
    for s in 0..6u64 {
        let mut sink = Sink::new();
        let this: Vec<Req> = reqs.iter().copied().filter(|r| r.0 == s).collect();
        add_all(|m, t, v, ts| sink.add(m, t, v, ts), &this);
        sink.add(Builtin::Vus.metric(), &TagSet::empty(), 5.0, s * SEC);
        out.push(sink.take(s * SEC, (s + 1) * SEC).to_wire(&reg));
    }
    out
}

fn thresholds() -> Vec<ThresholdSpec> {
    vec![
        ThresholdSpec::new("http_req_duration", "p(95)<200"),
        ThresholdSpec::new("http_req_failed", "rate<0.01"),
    ]
}

#[test]
fn results_from_stored_intervals_match_the_recorder() {
    let reqs = requests(1.0);
    let mut rec = Recorder::new(RecorderConfig {
        thresholds: thresholds(),
        start_ns: Some(0),
        ..RecorderConfig::default()
    });
    add_all(|m, t, v, ts| rec.add(m, t, v, ts), &reqs);
    let local = rec.finish(Some(6 * SEC));

    let stored = intervals(&reqs);
    let run = StoredRun {
        intervals: &stored,
        thresholds: thresholds(),
        ..StoredRun::default()
    };
    let r = export::results(&run).unwrap();
    assert_eq!(r.totals.requests, local.totals.requests);
    assert_eq!(r.totals.failed, 6);
    assert_eq!(
        r.totals.latency, local.totals.latency,
        "exact merged percentiles"
    );
    assert_eq!(r.totals.rps, local.totals.rps);
    assert_eq!(r.endpoints, local.endpoints);
    assert_eq!(r.thresholds, local.thresholds);
    assert!(
        !r.thresholds[1].ok,
        "6 failures in 150 requests break rate<0.01"
    );
    assert_eq!(r.checks, local.checks);
    assert_eq!(r.test.duration_s, 6.0);
    assert_eq!(r.series.points.len(), 6);
    for (a, b) in r.series.points.iter().zip(&local.series.points) {
        assert_eq!(
            (a.t, a.requests, a.failed, a.iterations),
            (b.t, b.requests, b.failed, b.iterations)
        );
        assert_eq!(a.latency, b.latency);
    }
    let data = r.summary.as_ref().unwrap();
    assert_eq!(data["metrics"]["http_reqs"]["values"]["count"], 150.0);

    // Rolled-up (merged) intervals give the same whole-run figures.
    let merged: Vec<WireSnapshot> = stored
        .chunks(3)
        .map(|c| {
            let reg = Registry::new();
            let mut s = stampede_metrics::Snapshot::default();
            for w in c {
                s.merge(&w.clone().into_snapshot(&reg).unwrap());
            }
            s.to_wire(&reg)
        })
        .collect();
    let coarse = export::results(&StoredRun {
        intervals: &merged,
        thresholds: thresholds(),
        ..StoredRun::default()
    })
    .unwrap();
    assert_eq!(coarse.totals, r.totals);
    assert_eq!(coarse.endpoints, r.endpoints);
    assert_eq!(coarse.series.interval_ms, 3000);
    assert_eq!(coarse.series.points.len(), 2);
}

#[test]
fn json_and_csv_exports() {
    let stored = intervals(&requests(1.0));
    let run = StoredRun {
        intervals: &stored,
        thresholds: thresholds(),
        ..StoredRun::default()
    };
    let r = export::results(&run).unwrap();
    let doc = export::json::export(&run, &r).unwrap();
    assert_eq!(
        doc["metrics"]["http_reqs"]["count"], 150.0,
        "--summary-export shape"
    );
    assert_eq!(
        doc["metrics"]["http_req_failed"]["thresholds"]["rate<0.01"],
        true
    );
    let iv = doc["intervals"].as_array().unwrap();
    assert_eq!(iv.len(), 6);
    assert_eq!(iv[2]["start_s"], 2.0);
    assert_eq!(iv[2]["metrics"]["http_reqs"]["count"], 25.0);
    assert_eq!(iv[2]["metrics"]["http_reqs"]["rate"], 25.0);
    assert!(iv[2]["metrics"]["http_req_duration"]["p(99)"].is_number());

    let rows = export::csv::intervals(&r);
    let lines: Vec<&str> = rows.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), 7);
    assert!(lines[0].starts_with("t_s,interval_s,vus,requests,failed,rps"));
    assert!(lines[1].starts_with("0,1,5,25,1,25,25,"), "{}", lines[1]);
    let eps = export::csv::endpoints(&r);
    assert!(eps.contains("\"login, \"\"v2\"\"\",GET,30,6,0.2,"), "{eps}");
    assert!(eps.contains("200:24 500:6"), "{eps}");
}

#[test]
fn comparison_of_two_stored_runs() {
    let a = intervals(&requests(1.0));
    let b = intervals(&requests(2.0));
    let ra = export::results(&StoredRun {
        intervals: &a,
        ..StoredRun::default()
    })
    .unwrap();
    let rb = export::results(&StoredRun {
        intervals: &b,
        ..StoredRun::default()
    })
    .unwrap();
    let same = export::compare::runs(&ra, &ra, CompareOptions::default());
    assert!(same.passed());
    let worse = export::compare::runs(&ra, &rb, CompareOptions::default());
    assert!(!worse.passed());
    let home_p95 = worse
        .rows
        .iter()
        .find(|row| row.endpoint == "home" && row.stat.map(|s| s.key()) == Some("p95"))
        .unwrap();
    assert_eq!(
        home_p95.baseline,
        Some(ra.endpoint("home").unwrap().latency.p95)
    );
    assert_eq!(
        home_p95.current,
        Some(rb.endpoint("home").unwrap().latency.p95)
    );
    assert!(worse.render().contains("REGRESSED"));
}

#[test]
fn time_series_rebucket_exactly() {
    let reqs = requests(1.0);
    let stored = intervals(&reqs);
    let q = timeseries::Query {
        metric: "http_req_duration".into(),
        tags: TagSet::from_pairs([("name", "home")]),
        from: Some(Duration::from_secs(1)),
        to: None,
        step: Some(Duration::from_secs(2)),
    };
    let points = timeseries::query(&stored, &q).unwrap();
    assert_eq!(
        points.iter().map(|p| p.t).collect::<Vec<_>>(),
        [0.0, 2.0, 4.0]
    );
    assert_eq!(points[0].count, 20.0, "only second 1 of bucket 0..2");
    assert_eq!(points[1].count, 40.0);
    // The bucket's p95 is the p95 of exactly its samples.
    let mut t = stampede_metrics::TrendAgg::default();
    for r in reqs
        .iter()
        .filter(|r| (2..4).contains(&r.0) && r.1 == "home")
    {
        t.add(r.3);
    }
    assert_eq!(points[1].p95, Some(t.percentile(95.0)));
    assert_eq!(points[1].max, Some(t.max()));

    let reqs_q = timeseries::Query {
        metric: "http_reqs".into(),
        tags: TagSet::empty(),
        from: None,
        to: None,
        step: None,
    };
    let per_sec = timeseries::query(&stored, &reqs_q).unwrap();
    assert_eq!(per_sec.len(), 6);
    assert_eq!((per_sec[0].count, per_sec[0].rate), (25.0, Some(25.0)));

    let unknown = timeseries::Query {
        metric: "nope".into(),
        ..reqs_q.clone()
    };
    assert!(matches!(
        timeseries::query(&stored, &unknown),
        Err(timeseries::QueryError::UnknownMetric(_))
    ));
    let bad = timeseries::Query {
        step: Some(Duration::ZERO),
        ..reqs_q
    };
    assert!(matches!(
        timeseries::query(&stored, &bad),
        Err(timeseries::QueryError::InvalidRange(_))
    ));
}

#[test]
fn thresholds_from_run_options() {
    let opts = serde_json::json!({"thresholds": {
        "http_req_duration{name:home}": ["p(95)<200", {"threshold": "p(99)<300", "abortOnFail": true}],
        "checks": "rate>0.9"
    }});
    let specs = export::thresholds_from_options(&opts).unwrap();
    assert_eq!(specs.len(), 3);
    assert!(specs[1].abort_on_fail);
    assert!(export::thresholds_from_options(&serde_json::json!({"thresholds": [1]})).is_err());
    assert!(export::thresholds_from_options(&serde_json::json!({}))
        .unwrap()
        .is_empty());
}

#[test]
fn pdf_has_the_html_reports_sections() {
    let Some(_) = binary("chromium", "chromium") else {
        return;
    };
    let Some(pdftotext) = binary("pdftotext", "poppler-utils") else {
        return;
    };
    let stored = intervals(&requests(1.0));
    let run = StoredRun {
        intervals: &stored,
        thresholds: thresholds(),
        script: Some("checkout.js".into()),
        ..StoredRun::default()
    };
    let r = export::results(&run).unwrap();
    let html = stampede_output::html::render(&r);
    let chromium = export::pdf::find_chromium().unwrap();
    let pdf = export::pdf::render(&chromium, &html, Duration::from_secs(120)).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let out = Command::new(pdftotext)
        .arg(&path)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "checkout.js",
        "Summary",
        "Thresholds",
        "Checks",
        "Over time",
        "Endpoints",
        "home",
        "p(95)<200",
    ] {
        assert!(
            text.contains(want),
            "{want:?} missing from the PDF text:\n{text}"
        );
    }
}

#[test]
fn pdf_without_chromium_is_a_clear_error() {
    let err = export::pdf::render(
        std::path::Path::new("/nonexistent/chromium"),
        "<p>x</p>",
        Duration::from_secs(5),
    )
    .unwrap_err();
    assert!(
        matches!(err, export::pdf::PdfError::ChromiumMissing),
        "{err}"
    );
    assert!(err.to_string().contains("apt-get install chromium"));
}
