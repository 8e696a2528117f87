//! `stampede archive`: a test's init code runs once, as for a run, and what
//! it loaded (entry script, local and remote modules, `open()`ed files)
//! goes into a k6 archive with the consolidated options and the `-e`
//! environment. The server builds archives in-process with the same call
//! and runs them with [`RunConfig::for_archive`].

use stampede_js::Archive;

use crate::error::EngineError;
use crate::load::{Loaded, RunConfig};

/// Loads the test `config` describes (its init code runs once, its options
/// are merged and validated as for a run) and returns its archive. Write it
/// with [`Archive::to_tar`]; run it with [`RunConfig::for_archive`].
///
/// ```no_run
/// # fn demo() -> Result<(), stampede_engine::EngineError> {
/// use std::sync::Arc;
/// use stampede_engine::{build_archive, Loaded, RunConfig};
/// let archive = build_archive(RunConfig::for_script("script.js"))?;
/// let bytes: Vec<u8> = archive.to_tar();                  // k6's tar layout
/// let back = stampede_js::Archive::from_tar(&bytes)?;     // e.g. on a server
/// let loaded = Loaded::load(RunConfig::for_archive(Arc::new(back)))?;
/// # Ok(()) }
/// ```
///
/// Errors are those of [`Loaded::load`]: a script that cannot load or
/// throws in its init code (exit code 107), invalid options (104).
pub fn build_archive(config: RunConfig) -> Result<Archive, EngineError> {
    let loaded = Loaded::load(config)?;
    Ok(archive_of(&loaded))
}

/// The archive of a loaded test.
pub(crate) fn archive_of(loaded: &Loaded) -> Archive {
    if let Some(archive) = &loaded.config.archive {
        // Re-archiving an archive keeps its files, with today's options.
        let mut a = Archive::clone(archive);
        a.metadata.options = loaded.options.to_inspect_json();
        return a;
    }
    let env = loaded.options.env.clone().unwrap_or_default();
    Archive::of_program(&loaded.program, loaded.options.to_inspect_json(), env)
}

impl Loaded {
    /// The archive of this test (see [`build_archive`]).
    pub fn archive(&self) -> Archive {
        archive_of(self)
    }
}
