//! `stampede convert`: writes the k6 script equivalent to a declarative
//! scenario (YAML/JSON), for users who outgrow the format. The scenario is
//! validated first; a bad one fails with its `file:line:col` errors and k6's
//! invalid-config exit code, and nothing is written.

use std::path::PathBuf;

use clap::Args;
use stampede_engine::ExitCode;
use stampede_scenario::Scenario;

/// Arguments of `stampede convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Where to write the script (default: standard output).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// The scenario file (`.yaml`, `.yml` or `.json`).
    pub scenario: PathBuf,
}

/// Runs the command; returns the exit code.
pub fn run(args: ConvertArgs) -> i32 {
    let scenario = match Scenario::load(&args.scenario) {
        Ok(s) => s,
        Err(errors) => {
            for e in errors {
                eprintln!("{e}");
            }
            return ExitCode::InvalidConfig.code();
        }
    };
    let out_dir = args
        .output
        .as_ref()
        .map(|o| o.parent().map(PathBuf::from).unwrap_or_default());
    let script = scenario.to_k6_script(out_dir.as_deref());
    match &args.output {
        None => {
            print!("{script}");
            ExitCode::Ok.code()
        }
        Some(path) => match std::fs::write(path, script) {
            Ok(()) => ExitCode::Ok.code(),
            Err(e) => {
                eprintln!("cannot write {}: {e}", path.display());
                ExitCode::Generic.code()
            }
        },
    }
}
