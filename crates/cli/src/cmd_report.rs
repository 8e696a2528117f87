//! `stampede report`: the HTML report of a stored run, from a results file
//! (`--out results=FILE`) or a k6 `--out json` file (from k6 or Stampede,
//! optionally gzipped).

use std::path::PathBuf;

use clap::Args;
use stampede_output::results;

/// Arguments of `stampede report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Where to write the report.
    #[arg(short = 'o', long = "output", default_value = "report.html")]
    output: PathBuf,
    /// The test's name in the report's title (default: the script, if known).
    #[arg(long)]
    title: Option<String>,
    /// A results file, or a k6 `--out json` file (`.gz` too).
    results: PathBuf,
}

/// Exit code for input that cannot be read or is not results.
pub const EXIT_BAD_INPUT: i32 = stampede_engine::ExitCode::BadInput.code();

/// Runs the command; returns the exit code: 0 when the report was written,
/// 2 when the input could not be read, 1 when the report could not be written.
pub fn run(args: ReportArgs) -> i32 {
    let mut results = match results::load(&args.results) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stampede report: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if let Some(title) = args.title {
        results.test.script = Some(title);
    }
    let html = stampede_output::html::render(&results);
    if let Err(e) = std::fs::write(&args.output, html) {
        eprintln!(
            "stampede report: cannot write {}: {e}",
            args.output.display()
        );
        return stampede_engine::ExitCode::SystemError.code();
    }
    eprintln!(
        "wrote {} ({} requests, {} endpoints, {} thresholds, {} checks)",
        args.output.display(),
        results.totals.requests,
        results.endpoints.len(),
        results.thresholds.len(),
        results.checks.len()
    );
    stampede_engine::ExitCode::Ok.code()
}
