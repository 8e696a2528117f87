//! `stampede inspect`: the resolved options of a script, as `k6 inspect`.

use std::path::PathBuf;

use clap::Args;

use crate::cmd_run::load;
use crate::flags::OptionFlags;

/// Arguments of `stampede inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    #[command(flatten)]
    opts: OptionFlags,
    /// Include the execution requirements (max VUs and total duration).
    #[arg(long)]
    execution_requirements: bool,
    /// The script.
    script: PathBuf,
}

/// Runs the command; returns the exit code.
pub fn run(args: InspectArgs) -> i32 {
    let logger = std::sync::Arc::new(stampede_js::log::Logger::stderr());
    let loaded = match load(&args.opts, &args.script, logger.clone(), None) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let json = loaded.plan.to_inspect_json(args.execution_requirements);
    match serde_json::to_string_pretty(&json) {
        Ok(s) => {
            println!("{s}");
            stampede_engine::ExitCode::Ok.code()
        }
        Err(e) => {
            logger.log(stampede_js::log::Level::Error, &e.to_string(), &[]);
            stampede_engine::ExitCode::Generic.code()
        }
    }
}
