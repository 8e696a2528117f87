//! `stampede baseline`: a baseline YAML (each endpoint's p50, p95, p99 and
//! error rate) from a stored run, for `stampede compare` to gate later runs.

use std::path::PathBuf;

use clap::Args;
use stampede_output::results::{self, baseline::Baseline};

/// Arguments of `stampede baseline`.
#[derive(Debug, Args)]
pub struct BaselineArgs {
    /// Where to write the baseline (`-` for stdout).
    #[arg(short = 'o', long = "output", default_value = "baseline.yaml")]
    output: PathBuf,
    /// A results file, or a k6 `--out json` file (`.gz` too).
    results: PathBuf,
}

/// Runs the command; returns the exit code: 0 when the baseline was
/// written, 2 when the input could not be read or has no HTTP requests,
/// 1 when the file could not be written.
pub fn run(args: BaselineArgs) -> i32 {
    let results = match results::load(&args.results) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stampede baseline: {e}");
            return stampede_engine::ExitCode::BadInput.code();
        }
    };
    let baseline = Baseline::from_results(&results);
    if baseline.endpoints.is_empty() {
        eprintln!(
            "stampede baseline: {}: the run made no HTTP requests, there is nothing to baseline",
            args.results.display()
        );
        return stampede_engine::ExitCode::BadInput.code();
    }
    let header = vec![
        format!(
            "Baseline written by {} from {} (run of {}, {:.1}s, {} requests).",
            results.generator,
            args.results.display(),
            results.test.started_at,
            results.test.duration_s,
            results.totals.requests
        ),
        "Gate a later run with: stampede compare --baseline THIS_FILE RESULTS".to_owned(),
    ];
    let text = baseline.to_yaml(&header);
    if args.output.as_os_str() == "-" {
        print!("{text}");
        return stampede_engine::ExitCode::Ok.code();
    }
    if let Err(e) = std::fs::write(&args.output, text) {
        eprintln!(
            "stampede baseline: cannot write {}: {e}",
            args.output.display()
        );
        return stampede_engine::ExitCode::SystemError.code();
    }
    eprintln!(
        "wrote {} ({} endpoints)",
        args.output.display(),
        baseline.endpoints.len()
    );
    stampede_engine::ExitCode::Ok.code()
}
