//! `stampede archive`: bundle a test into a k6 archive (tar) that
//! `stampede run archive.tar` (or `k6 run`) runs without the original files.
//! It loads the script as `run` does (same flags, same errors and exit
//! codes), then writes what the init code loaded; a declarative scenario
//! (YAML/JSON) is packed with the files it names, and runs natively again
//! from the archive.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use stampede_engine::{ExitCode, Loaded};
use stampede_js::log::{Level, Logger};
use stampede_js::Archive;

use crate::cmd_run::load;
use crate::flags::OptionFlags;

/// Arguments of `stampede archive`.
#[derive(Debug, Args)]
pub struct ArchiveArgs {
    #[command(flatten)]
    opts: OptionFlags,
    /// Where to write the archive.
    #[arg(short = 'O', long = "archive-out", default_value = "archive.tar")]
    archive_out: PathBuf,
    /// The script to bundle.
    script: PathBuf,
}

/// Runs the command; returns the exit code.
pub fn run(args: ArchiveArgs) -> i32 {
    let logger = Arc::new(Logger::stderr());
    let loaded = match load(&args.opts, &args.script, logger.clone(), None) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let bytes = match archive_of(&loaded, &args.script) {
        Ok(a) => a.to_tar(),
        Err(e) => {
            logger.log(Level::Error, &e, &[]);
            return ExitCode::InvalidConfig.code();
        }
    };
    if let Err(e) = std::fs::write(&args.archive_out, bytes) {
        logger.log(
            Level::Error,
            &format!("cannot write {}: {e}", args.archive_out.display()),
            &[],
        );
        return 255;
    }
    0
}

/// The archive of a loaded test: what its init code loaded, or for a
/// declarative scenario (YAML/JSON, which has no init code) the scenario
/// file and the feeder and upload files it names.
pub fn archive_of(loaded: &Loaded, script: &Path) -> Result<Archive, String> {
    let archive = loaded.archive();
    if !stampede_scenario::is_scenario_path(script) {
        return Ok(archive);
    }
    let scenario = stampede_scenario::Scenario::load(script).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        lines.join("\n")
    })?;
    let meta = archive.metadata;
    Ok(scenario.to_archive(meta.options, meta.env))
}

/// The archive at `path` when the file is a tar archive (by its `ustar`
/// magic, as k6 tells archives from scripts), else `None`.
pub fn read_if_archive(path: &Path) -> Result<Option<Archive>, String> {
    if path == Path::new("-") {
        return Ok(None);
    }
    let mut head = [0u8; 262];
    let is_tar = std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head[257..262] == b"ustar");
    if !is_tar {
        return Ok(None);
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Archive::from_tar(&bytes)
        .map(Some)
        .map_err(|e| e.to_string())
}
