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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn an_archive_loads_like_its_script_without_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        std::fs::create_dir_all(root.join("lib")).unwrap();
        std::fs::write(root.join("lib/data.txt"), "payload").unwrap();
        std::fs::write(
            root.join("lib/helper.js"),
            "export const data = open('./data.txt');\n",
        )
        .unwrap();
        std::fs::write(
            root.join("main.js"),
            "import { data } from './lib/helper.js';\n\
             if (data !== 'payload' || __ENV.K !== 'v') throw new Error('bad init');\n\
             export const options = { vus: 3, iterations: 6 };\n\
             export function other() {}\n\
             export default function () {}\n",
        )
        .unwrap();
        let mut cfg = RunConfig::for_script(root.join("main.js"));
        cfg.cli_options.env = Some([("K".to_string(), "v".to_string())].into());
        let archive = build_archive(cfg).unwrap();
        let main = root.join("main.js").to_string_lossy().into_owned();
        assert_eq!(archive.main(), main);
        let names: Vec<&str> = archive.file_names().collect();
        let lib = root.join("lib");
        assert_eq!(
            names,
            [
                lib.join("data.txt").to_str().unwrap(),
                lib.join("helper.js").to_str().unwrap()
            ]
        );
        assert_eq!(archive.metadata.env["K"], "v");
        assert_eq!(archive.metadata.options["vus"], 3);

        let bytes = archive.to_tar();
        std::fs::remove_dir_all(&root).unwrap();
        let back = Arc::new(stampede_js::Archive::from_tar(&bytes).unwrap());
        let loaded = Loaded::load(RunConfig::for_archive(back)).unwrap();
        assert_eq!(loaded.plan.scenarios.len(), 1);
        let mut exports = loaded.exports.clone();
        exports.sort();
        assert_eq!(exports, ["default", "other"]);
        // A loaded archive archives to the same files.
        assert_eq!(
            Archive::from_tar(&loaded.archive().to_tar())
                .unwrap()
                .main(),
            main
        );
    }
}
