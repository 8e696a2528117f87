//! `stampede compare`: the regression gate. Compares a run's endpoints with
//! a baseline (the `api_endpoints` YAML of a test plan, or a previous
//! results file) and fails when a statistic regressed by more than
//! `--max-regression`.
//!
//! With `--server` (or after `stampede login`), two run ids compare two
//! runs stored on the server instead (`stampede compare -b 12 15`); `-b
//! baseline` is the run's scenario's baseline run, as marked on the server
//! (`stampede compare -b baseline 15`, for CI).
//!
//! Exit codes: 0 no regression; 1 a regression, or a baseline endpoint the
//! run did not request (unless `--allow-missing`); 2 the baseline or the
//! results could not be read or are malformed, or a flag is invalid.

use std::path::PathBuf;

use clap::Args;
use stampede_output::results::{
    self,
    baseline::{parse_latency, Baseline, YamlValue},
    compare::{compare, CompareOptions},
};

/// No regression.
pub const EXIT_PASS: i32 = stampede_engine::ExitCode::Ok.code();
/// A regression or a missing endpoint.
pub const EXIT_REGRESSION: i32 = stampede_engine::ExitCode::CheckFailed.code();
/// Unreadable or malformed input, or an invalid flag.
pub const EXIT_BAD_INPUT: i32 = stampede_engine::ExitCode::BadInput.code();

/// Arguments of `stampede compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The baseline: YAML with an `api_endpoints` section, a results file,
    /// or a run id on the server (`baseline`: the scenario's baseline run).
    #[arg(short = 'b', long)]
    baseline: PathBuf,
    /// Largest allowed growth of a statistic, in percent of its baseline.
    #[arg(long, default_value = "10%", value_parser = parse_percent)]
    max_regression: f64,
    /// An error rate must also grow by more than this many percentage points to regress.
    #[arg(long, default_value = "0.1%", value_parser = parse_percent)]
    error_rate_tolerance: f64,
    /// A latency must also grow by more than this to regress (e.g. 2ms).
    #[arg(long, default_value = "0ms", value_parser = parse_ms)]
    latency_tolerance: f64,
    /// Do not fail when the run did not request an endpoint of the baseline.
    #[arg(long)]
    allow_missing: bool,
    /// Print the comparison as JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Compare runs stored on this server: the baseline and the run are
    /// run ids (default server: the one of `stampede login`).
    #[arg(long)]
    server: Option<String>,
    /// The run: a results file, or a k6 `--out json` file (`.gz` too), or
    /// a run id on the server.
    results: PathBuf,
}

/// `10%` or `10` (percent) as a fraction.
fn parse_percent(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let num = t.strip_suffix('%').unwrap_or(t).trim();
    let v: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a percentage (use e.g. 10% or 2.5)"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{s:?} must be a percentage of 0 or more"));
    }
    Ok(v / 100.0)
}

/// A duration (`2ms`, `0.5s`, `250us`; a bare number is milliseconds) in ms.
fn parse_ms(s: &str) -> Result<f64, String> {
    let v: YamlValue = match s.trim().parse::<f64>() {
        Ok(n) => n.into(),
        Err(_) => s.trim().into(),
    };
    parse_latency(&v)
}

/// The run ids when both arguments are ids and no files of those names
/// exist; the baseline `baseline` (no such file) is the run's scenario's
/// baseline run, marked on the server.
fn run_ids(args: &CompareArgs) -> Option<(String, i64)> {
    let id = |p: &PathBuf| -> Option<i64> {
        if p.exists() {
            return None;
        }
        p.to_str()?.parse().ok()
    };
    let run = id(&args.results)?;
    if args.baseline.as_os_str() == "baseline" && !args.baseline.exists() {
        return Some(("baseline".into(), run));
    }
    Some((id(&args.baseline)?.to_string(), run))
}

/// Compares two runs stored on a server.
fn run_remote(args: &CompareArgs, a: &str, b: i64) -> i32 {
    let query = format!(
        "max_regression={}&error_rate_tolerance={}&latency_tolerance_ms={}&allow_missing={}",
        args.max_regression, args.error_rate_tolerance, args.latency_tolerance, args.allow_missing
    );
    let answer = crate::client::runtime().and_then(|rt| {
        rt.block_on(async {
            let creds = crate::client::load(args.server.as_deref())?;
            let api = crate::client::Api::new(&creds.url, Some(creds.token))?;
            // The scenario's baseline is named by the run's own address.
            let path = if a == "baseline" {
                format!("/api/v1/runs/{b}/compare/baseline?{query}")
            } else {
                format!("/api/v1/runs/{a}/compare/{b}?{query}")
            };
            api.call(http::Method::GET, &path, None).await
        })
    });
    let doc = match answer {
        Ok(d) => d,
        Err(e) => {
            eprintln!("stampede compare: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&doc["comparison"]).unwrap_or_default()
        );
    } else {
        print!("{}", doc["text"].as_str().unwrap_or_default());
    }
    if doc["passed"].as_bool() == Some(true) {
        EXIT_PASS
    } else {
        EXIT_REGRESSION
    }
}

/// Runs the command; returns the exit code (see the module docs).
pub fn run(args: CompareArgs) -> i32 {
    if let Some((a, b)) = run_ids(&args) {
        return run_remote(&args, &a, b);
    }
    let baseline = match Baseline::load(&args.baseline) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("stampede compare: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let results = match results::load(&args.results) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stampede compare: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if !baseline.skipped_sections.is_empty() {
        eprintln!(
            "note: {}: skipped section(s) {} (a load test does not measure them)",
            args.baseline.display(),
            baseline.skipped_sections.join(", ")
        );
    }
    let options = CompareOptions {
        max_regression: args.max_regression,
        error_rate_tolerance: args.error_rate_tolerance,
        latency_tolerance_ms: args.latency_tolerance,
        allow_missing: args.allow_missing,
    };
    let cmp = compare(&baseline, &results, options);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&cmp.to_json()).unwrap_or_default()
        );
    } else {
        print!("{}", cmp.render());
    }
    if cmp.passed() {
        EXIT_PASS
    } else {
        EXIT_REGRESSION
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages() {
        assert_eq!(parse_percent("10%"), Ok(0.1));
        assert_eq!(parse_percent("2.5"), Ok(0.025));
        assert_eq!(parse_percent(" 0 % "), Ok(0.0));
        assert!(parse_percent("ten").is_err());
        assert!(parse_percent("-1%").is_err());
        assert_eq!(parse_ms("2ms"), Ok(2.0));
        assert_eq!(parse_ms("0.5s"), Ok(500.0));
        assert_eq!(parse_ms("3"), Ok(3.0));
        assert!(parse_ms("soon").is_err());
    }
}
