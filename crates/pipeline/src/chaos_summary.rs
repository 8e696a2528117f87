//! The recovery block of a chaos run's summary (`stampede_chaos` in the
//! summary export, "CHAOS RECOVERY" after the summary text, a section of
//! the HTML report), for scripts that declare seed 000's phases with
//! `stampede/chaos` (scenarios `inject` and `recover` tagged `phase`).
//!
//! One implementation for `stampede run` (which feeds it its own
//! per-second figures) and for the server (which feeds it the run's stored
//! intervals): the recovery is measured as the pipeline's `recovery` gate
//! measures it — from the moment the `recover` scenario first ran until
//! the SLO holds `k` one-second intervals in a row. The SLO and `k` come
//! from the `recover` scenario's `env` ([`SLO_ENV`], set by
//! `chaos.phases({slo, k})`).

use serde_json::{json, Value};
use stampede_chaos::Slo;
use stampede_output::results::Results;

use crate::gate::{fault_end, measure_recovery};

/// The key of the recovery in `handleSummary`'s data and the summary export.
pub const KEY: &str = "stampede_chaos";
/// The `recover` scenario's variable with the SLO: JSON `{"error_rate":
/// 0.01, "p95_ms": 500, "k": 3}` (every field optional).
pub const SLO_ENV: &str = "STAMPEDE_CHAOS_SLO";
/// The scenario that runs while the fault is on.
pub const INJECT: &str = "inject";
/// The scenario that starts when the fault ends.
pub const RECOVER: &str = "recover";

/// The SLO the recovery is measured against.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measure {
    /// What must hold.
    pub slo: Slo,
    /// For this many one-second intervals in a row.
    pub k: usize,
}

/// Reads [`SLO_ENV`]'s text: default error rate ≤ 1 %, no latency bound, k = 3.
pub fn measure_from(env: Option<&str>) -> Result<Measure, String> {
    let mut m = Measure {
        slo: Slo {
            p95_ms: None,
            error_rate: Some(0.01),
        },
        k: 3,
    };
    let Some(text) = env else {
        return Ok(m);
    };
    let v: Value =
        serde_json::from_str(text).map_err(|e| format!("{SLO_ENV} is not JSON ({e}): {text}"))?;
    let num = |key: &str| -> Result<Option<f64>, String> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(x) => x
                .as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(Some)
                .ok_or_else(|| format!("{SLO_ENV}: {key} must be a number ≥ 0, got {x}")),
        }
    };
    if let Some(r) = num("error_rate")? {
        m.slo.error_rate = Some(r);
    }
    m.slo.p95_ms = num("p95_ms")?;
    if let Some(k) = num("k")? {
        if k < 1.0 || k.fract() != 0.0 {
            return Err(format!("{SLO_ENV}: k must be a whole number ≥ 1, got {k}"));
        }
        m.k = k as usize;
    }
    Ok(m)
}

/// The recovery of `results` as documented under [`KEY`].
pub fn value(results: &Results, measure: &Measure) -> Value {
    let slo = json!({
        "error_rate": measure.slo.error_rate,
        "p95_ms": measure.slo.p95_ms,
        "k": measure.k,
        "interval_s": 1,
    });
    match fault_end(results, Some(RECOVER), None) {
        Ok(end) => {
            let rec = measure_recovery(results, end, &measure.slo, measure.k);
            json!({
                "slo": slo,
                "faults": [{
                    "phase": INJECT,
                    "fault_end_s": rec.fault_end_s,
                    "recovery_s": rec.recovery_s,
                    "recovered": rec.recovery_s.is_some(),
                }],
            })
        }
        Err(e) => json!({ "slo": slo, "faults": [], "error": e }),
    }
}

/// The block shown after the summary, from a [`value`].
pub fn text(v: &Value) -> String {
    let mut slo = Vec::new();
    if let Some(r) = v["slo"]["error_rate"].as_f64() {
        slo.push(format!("error rate ≤ {:.2}%", r * 100.0));
    }
    if let Some(p) = v["slo"]["p95_ms"].as_f64() {
        slo.push(format!("p95 ≤ {p}ms"));
    }
    let k = v["slo"]["k"].as_u64().unwrap_or(0);
    let mut out = format!(
        "\n  CHAOS RECOVERY (SLO: {}, held {k} one-second intervals in a row)\n",
        slo.join(", ")
    );
    let faults = v["faults"].as_array().cloned().unwrap_or_default();
    if faults.is_empty() {
        let why = v["error"].as_str().unwrap_or("the recover phase never ran");
        out.push_str(&format!("    not measured: {why}\n"));
    }
    for f in faults {
        let end = f["fault_end_s"].as_f64().unwrap_or(0.0);
        match f["recovery_s"].as_f64() {
            Some(s) => out.push_str(&format!(
                "    fault ended at {end:.1}s: recovered in {s:.1}s\n"
            )),
            None => out.push_str(&format!(
                "    fault ended at {end:.1}s: NOT RECOVERED before the end of the test\n"
            )),
        }
    }
    out.push('\n');
    out
}

/// `html` (a Stampede HTML run report) with a "Chaos recovery" section
/// before its thresholds; `None` when it is not such a report.
pub fn patch_html(html: &str, v: &Value) -> Option<String> {
    let at = html.find("<section id=\"thresholds\">")?;
    let escaped = text(v)
        .trim()
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let section = format!(
        "<section id=\"chaos-recovery\"><h2>Chaos recovery</h2><pre>{escaped}</pre></section>\n"
    );
    Some(format!("{}{section}{}", &html[..at], &html[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_slo_from_the_recover_scenario() {
        let d = measure_from(None).unwrap();
        assert_eq!(d.k, 3);
        assert_eq!(d.slo.error_rate, Some(0.01));
        let m = measure_from(Some(r#"{"error_rate":0.05,"p95_ms":300,"k":2}"#)).unwrap();
        assert_eq!(m.k, 2);
        assert_eq!(m.slo.p95_ms, Some(300.0));
        assert_eq!(m.slo.error_rate, Some(0.05));
        assert!(measure_from(Some(r#"{"k":0}"#))
            .unwrap_err()
            .contains("k must"));
        assert!(measure_from(Some(r#"{"p95_ms":"fast"}"#))
            .unwrap_err()
            .contains("p95_ms"));
        assert!(measure_from(Some("nope")).is_err());
    }

    #[test]
    fn text_and_html_show_the_recovery() {
        let v = json!({"slo": {"error_rate": 0.01, "k": 3},
                       "faults": [{"fault_end_s": 4.0, "recovery_s": 2.0}]});
        let t = text(&v);
        assert!(
            t.contains("recovered in 2.0s") && t.contains("≤ 1.00%"),
            "{t}"
        );
        let html = patch_html("<main><section id=\"thresholds\"></section></main>", &v).unwrap();
        assert!(html.contains("<section id=\"chaos-recovery\">"), "{html}");
        assert!(html.find("chaos-recovery") < html.find("thresholds"));
        assert!(patch_html("<p>other</p>", &v).is_none());
        let none = text(&json!({"slo": {}, "faults": [], "error": "no <recover>"}));
        assert!(none.contains("not measured: no <recover>"), "{none}");
    }
}
