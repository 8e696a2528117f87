//! Declarative HTTP scenarios: a load test written as data (YAML or JSON),
//! run natively in Rust through the engine's executors — no JavaScript
//! runtime is created — or converted to the equivalent k6 script.
//!
//! The pipeline, each step its own module:
//!
//! 1. **Format** (`format.rs`): serde types with `deny_unknown_fields`, from
//!    which the published JSON Schema is derived ([`schema`]). YAML is read
//!    with `serde_norway` (the maintained serde_yaml fork), JSON with
//!    `serde_json`; both report structural errors (unknown keys, wrong
//!    types, bad syntax) at `file:line:col`.
//! 2. **Compilation and validation** (`compile.rs`, into the compiled form
//!    of `types.rs`, with the position-free rules of `rules.rs`): templates compiled
//!    (`template.rs`), every name they use resolved (variables, values some
//!    request extracts, feeder columns), feeders read and checked
//!    (`feeder.rs`), `once` requests ordered by the values they need from
//!    each other (a cycle is an error), checks and extractions parsed, and
//!    the `load` section turned into k6 options and validated by the very
//!    code that validates a script's options. Every problem is reported at
//!    once, each at `file:line:col`, before any load.
//! 3. **Execution** (`vu.rs`): a [`stampede_engine::NativeProgram`] whose
//!    VUs run on the engine's scheduler threads and coroutines. The
//!    engine's executors, execution segments, thresholds, summary, outputs
//!    and exit codes apply unchanged, and the VUs record k6's metrics with
//!    k6's names and tags (`http_reqs`, `http_req_duration`,
//!    `http_req_failed`, `checks`, `iterations`, `data_*`; `name`, `method`,
//!    `status`, `url`...).
//! 4. **Conversion** (`convert.rs`): the equivalent k6 script, for users who
//!    outgrow the format, checked against real k6 by a differential test.
//!
//! The format is documented, schema included, in `docs/scenarios.md`.

mod compile;
mod convert;
mod feeder;
mod format;
mod rules;
mod template;
mod tls;
mod types;
mod vu;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use stampede_js::{Archive, FileData};

pub use compile::{Compiled, Diagnostic, ReadFile};
pub use format::{schema, ScenarioFile};
pub use tls::TlsFiles;

/// A loaded, validated scenario.
pub struct Scenario {
    compiled: Arc<Compiled>,
    /// Its text.
    source: Arc<str>,
    /// Where it was read from (its files are relative to it).
    path: PathBuf,
    /// The files it named (feeders, uploads), by full path, as read.
    files: BTreeMap<PathBuf, Vec<u8>>,
}

/// Whether `path` names a scenario file rather than a script
/// (`.yaml`, `.yml`, `.json`).
pub fn is_scenario_path(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("yaml" | "yml" | "json")
    )
}

impl Scenario {
    /// Reads and validates a scenario file.
    pub fn load(path: &Path) -> Result<Self, Vec<Diagnostic>> {
        let src = std::fs::read_to_string(path).map_err(|e| {
            vec![Diagnostic {
                file: path.display().to_string(),
                line: 1,
                col: 1,
                message: format!("cannot read the scenario: {e}"),
            }]
        })?;
        Self::parse(&src, path)
    }

    /// Validates a scenario's text; `path` places its errors and its
    /// relative files. JSON when the path ends in `.json`, else YAML.
    pub fn parse(src: &str, path: &Path) -> Result<Self, Vec<Diagnostic>> {
        Self::parse_with(src, path, &|p| std::fs::read(p))
    }

    /// [`Scenario::parse`], reading the files the scenario names with
    /// `read` (e.g. from an archive) instead of the disk.
    pub fn parse_with(src: &str, path: &Path, read: ReadFile<'_>) -> Result<Self, Vec<Diagnostic>> {
        let files = RefCell::new(BTreeMap::new());
        let recording = |p: &Path| {
            let data = read(p)?;
            files.borrow_mut().insert(p.to_path_buf(), data.clone());
            Ok(data)
        };
        let file = parse_file(src, path)?;
        let compiled = compile::compile(file, src, path, &recording)?;
        Ok(Self {
            compiled: Arc::new(compiled),
            source: src.into(),
            path: path.to_path_buf(),
            files: files.into_inner(),
        })
    }

    /// The scenario of a k6 archive whose entry is a scenario file (by its
    /// extension, as [`is_scenario_path`]), its files read from the archive
    /// only; `None` for a script archive.
    pub fn from_archive(archive: &Archive) -> Option<Result<Self, Vec<Diagnostic>>> {
        let main = Path::new(archive.main());
        if !is_scenario_path(main) {
            return None;
        }
        let read = |p: &Path| {
            lexical_absolute(p)
                .to_str()
                .and_then(|name| archive.file(name))
                .map(|d| d.to_vec())
                .ok_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, "not in the archive")
                })
        };
        Some(Self::parse_with(&archive.main_source(), main, &read))
    }

    /// A k6 archive of the scenario: its text as the entry and every file
    /// it named, so that it runs without the originals ([`Self::from_archive`]).
    /// `options` and `env` go to `metadata.json`.
    pub fn to_archive(&self, options: serde_json::Value, env: BTreeMap<String, String>) -> Archive {
        let abs = |p: &Path| lexical_absolute(p).to_string_lossy().into_owned();
        let files = self
            .files
            .iter()
            .map(|(p, d)| (abs(p), FileData::from(&d[..])))
            .collect();
        Archive::from_files(&abs(&self.path), self.source.clone(), files, options, env)
    }

    /// The native program the engine runs.
    pub fn program(&self) -> Arc<dyn stampede_engine::NativeProgram> {
        Arc::new(vu::Program::new(self.compiled.clone()))
    }

    /// The k6 options the scenario amounts to.
    pub fn options(&self) -> serde_json::Value {
        self.compiled.options.clone()
    }

    /// The equivalent k6 script, to be written into `out_dir` (its file
    /// paths are relative to the scenario's directory when that is the
    /// same, else absolute).
    pub fn to_k6_script(&self, out_dir: Option<&Path>) -> String {
        convert::k6_script(&self.compiled, out_dir)
    }

    /// The compiled scenario.
    pub fn compiled(&self) -> &Compiled {
        &self.compiled
    }
}

/// `p` made absolute (against the current directory) with its `.` and `..`
/// components resolved by name, as archive file names are written.
fn lexical_absolute(p: &Path) -> PathBuf {
    use std::path::Component;
    let p = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Reads a scenario's structure only (no file is read, nothing compiled):
/// YAML, or JSON when `path` ends in `.json`; structural errors at
/// `file:line:col`.
pub fn parse_file(src: &str, path: &Path) -> Result<ScenarioFile, Vec<Diagnostic>> {
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let parsed: Result<ScenarioFile, (usize, usize, String)> = if is_json {
        serde_json::from_str(src).map_err(|e| {
            let msg = strip_position(&e.to_string());
            (e.line().max(1), e.column().max(1), msg)
        })
    } else {
        serde_norway::from_str(src).map_err(|e| {
            let (line, col) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            (line, col, strip_position(&e.to_string()))
        })
    };
    parsed.map_err(|(line, col, message)| {
        vec![Diagnostic {
            file: path.display().to_string(),
            line,
            col,
            message,
        }]
    })
}

impl ScenarioFile {
    /// The files the scenario reads, as written (feeders by name, then multipart
    /// uploads and body files of `setup` and `requests`, then TLS certificates and keys), without duplicates: what must
    /// travel with it to another machine.
    pub fn data_files(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let feeders = self
            .feeders
            .values()
            .flat_map(|f| f.csv.iter().chain(f.json.iter()));
        let uploads = self.setup.iter().chain(&self.requests).flat_map(|r| {
            let parts = r.multipart.iter().flat_map(|m| m.values());
            let files = parts.filter_map(|p| match p {
                format::Part::File { file, .. } => Some(file),
                format::Part::Field(_) => None,
            });
            files.chain(r.body_file.iter())
        });
        let h = &self.http;
        let tls = h
            .ca_certs
            .iter()
            .chain(h.tls_auth.iter().flat_map(|a| [&a.cert, &a.key]));
        for f in feeders.chain(uploads).chain(tls) {
            if !out.contains(f) {
                out.push(f.clone());
            }
        }
        out
    }
}

/// Drops the parsers' own " at line L column C" (the diagnostic says it).
fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests;
