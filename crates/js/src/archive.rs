//! k6 archives: a test's entry script, every module and file its init code
//! loaded, its options and `-e` environment, in one tar file that runs
//! anywhere without the disk or the network.
//!
//! The layout is k6's (checked against `k6 archive` v1.1.0), so an archive
//! written by either tool runs in the other:
//!
//! ```text
//! metadata.json            {"type":"js","options":{…},"filename":"file:///abs/script.js",
//!                           "pwd":"file:///abs","env":{…},"k6version":…}
//! data                     the entry script
//! file/abs/script.js       a hard link to `data`
//! file/abs/lib/helper.js   local modules and open()ed files, by absolute path
//! https/host/path/mod.js   remote modules, by URL
//! ```
//!
//! Files are kept by their module name (an absolute path or an `https://`
//! URL), the name the loader asks for, so a [`Program`] built from an archive
//! resolves imports exactly as it did on the machine that wrote it and never
//! falls back to the local disk.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::ScriptError;
use crate::program::{FileData, Program};

/// What `metadata.json` says about an archive (k6's field names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchiveMetadata {
    /// Always `js`.
    #[serde(rename = "type", default = "js_type")]
    pub kind: String,
    /// The consolidated options of the test, as `k6 inspect` prints them.
    #[serde(default)]
    pub options: serde_json::Value,
    /// The entry script as a URL (`file:///abs/script.js`).
    pub filename: String,
    /// The directory `archive` ran in, as a URL.
    #[serde(default)]
    pub pwd: String,
    /// The `-e KEY=VALUE` pairs given when the archive was made.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// k6's JavaScript compatibility mode (`extended`).
    #[serde(rename = "compatibilityMode", default = "extended")]
    pub compatibility_mode: String,
    /// The k6 version the archive is compatible with.
    #[serde(rename = "k6version", default)]
    pub k6_version: String,
    /// The operating system that wrote it (Go's `GOOS`).
    #[serde(default)]
    pub goos: String,
}

fn js_type() -> String {
    "js".into()
}

fn extended() -> String {
    "extended".into()
}

/// The k6 version whose archive format Stampede writes.
pub const K6_VERSION: &str = "1.1.0";

/// A k6 archive in memory: metadata, the entry script and every file.
///
/// ```
/// # fn demo() -> Result<(), stampede_js::ScriptError> {
/// use stampede_js::Archive;
/// let bytes = std::fs::read("archive.tar").unwrap_or_default();
/// # let bytes = Archive::from_files("/t/s.js", "export default function () {}".into(),
/// #     Default::default(), serde_json::json!({}), Default::default()).to_tar();
/// let archive = std::sync::Arc::new(Archive::from_tar(&bytes)?);
/// let program = archive.program(); // loads modules and files from the archive only
/// assert_eq!(program.main(), archive.main());
/// # Ok(()) }
/// # demo().unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Archive {
    /// What `metadata.json` holds.
    pub metadata: ArchiveMetadata,
    main: String,
    main_source: Arc<str>,
    files: BTreeMap<String, FileData>,
}

impl Archive {
    /// An archive of the entry script `main` (an absolute path or URL) with
    /// `source`, the other `files` by module name, the test's consolidated
    /// `options` and its `-e` environment.
    pub fn from_files(
        main: &str,
        source: Arc<str>,
        files: BTreeMap<String, FileData>,
        options: serde_json::Value,
        env: BTreeMap<String, String>,
    ) -> Self {
        let pwd = std::env::current_dir()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_else(|_| "/".into());
        let metadata = ArchiveMetadata {
            kind: js_type(),
            options,
            filename: to_url(main),
            pwd: to_url(&pwd),
            env,
            compatibility_mode: extended(),
            k6_version: K6_VERSION.into(),
            goos: std::env::consts::OS.into(),
        };
        let mut files = files;
        files.remove(main);
        Self {
            metadata,
            main: main.to_string(),
            main_source: source,
            files,
        }
    }

    /// An archive of what `program` loaded so far (run its init code
    /// first), with the test's consolidated `options` and `-e` environment.
    pub fn of_program(
        program: &Program,
        options: serde_json::Value,
        env: BTreeMap<String, String>,
    ) -> Self {
        Self::from_files(
            program.main(),
            program.main_source(),
            program.loaded_files(),
            options,
            env,
        )
    }

    /// Reads an archive written by `stampede archive` or `k6 archive`.
    pub fn from_tar(bytes: &[u8]) -> Result<Self, ScriptError> {
        let bad = |why: String| ScriptError::load("archive", why);
        let mut metadata: Option<ArchiveMetadata> = None;
        let mut data: Option<FileData> = None;
        let mut files = BTreeMap::new();
        let mut links = Vec::new();
        let mut tar = tar::Archive::new(bytes);
        for entry in tar
            .entries()
            .map_err(|e| bad(format!("not a tar file: {e}")))?
        {
            let mut entry = entry.map_err(|e| bad(format!("not a tar file: {e}")))?;
            let path = entry
                .path()
                .map_err(|e| bad(format!("bad entry name: {e}")))?
                .to_string_lossy()
                .into_owned();
            check_entry_name(&path).map_err(bad)?;
            let kind = entry.header().entry_type();
            if kind.is_dir() {
                continue;
            }
            if kind.is_symlink() {
                return Err(bad(format!(
                    "{path} is a symbolic link: archives may not contain links"
                )));
            }
            if kind.is_hard_link() {
                let target = entry
                    .link_name()
                    .map_err(|e| bad(format!("bad link in {path}: {e}")))?
                    .map(|t| t.to_string_lossy().into_owned())
                    .unwrap_or_default();
                // k6 links the entry script's `file/…` entry to `data`;
                // any other link could point outside the archive.
                if target.trim_start_matches("./") != "data" {
                    return Err(bad(format!(
                        "{path} links to {target:?}: archives may only link the entry script to `data`"
                    )));
                }
                links.push((path, target));
                continue;
            }
            if kind.is_character_special() || kind.is_block_special() || kind.is_fifo() {
                return Err(bad(format!("{path} is a device or pipe, not a file")));
            }
            if !kind.is_file() {
                continue;
            }
            let mut content = Vec::new();
            entry
                .read_to_end(&mut content)
                .map_err(|e| bad(format!("cannot read {path}: {e}")))?;
            match path.as_str() {
                "metadata.json" => {
                    metadata = Some(serde_json::from_slice(&content).map_err(|e| {
                        bad(format!("metadata.json is not valid archive metadata: {e}"))
                    })?)
                }
                "data" => data = Some(content.into()),
                _ => {
                    if let Some(name) = module_name(&path) {
                        files.insert(name, content.into());
                    }
                }
            }
        }
        let metadata = metadata.ok_or_else(|| bad("metadata.json is missing".into()))?;
        let main = from_url(&metadata.filename)
            .ok_or_else(|| bad(format!("unsupported entry script {:?}", metadata.filename)))?;
        for (path, target) in links {
            let content = if target == "data" {
                data.clone()
            } else {
                module_name(&target).and_then(|t| files.get(&t).cloned())
            };
            if let (Some(name), Some(content)) = (module_name(&path), content) {
                files.insert(name, content);
            }
        }
        let data = data
            .or_else(|| files.get(&main).cloned())
            .ok_or_else(|| bad("the entry script (data) is missing".into()))?;
        let source = std::str::from_utf8(&data)
            .map_err(|_| bad("the entry script is not valid UTF-8".into()))?;
        files.remove(&main);
        Ok(Self {
            metadata,
            main,
            main_source: source.into(),
            files,
        })
    }

    /// The archive as a tar file, in k6's layout.
    pub fn to_tar(&self) -> Vec<u8> {
        let mut out = tar::Builder::new(Vec::new());
        let metadata =
            serde_json::to_vec_pretty(&self.metadata).expect("archive metadata serializes");
        append(&mut out, "metadata.json", &metadata);
        append(&mut out, "data", self.main_source.as_bytes());
        if let Some(main_path) = tar_path(&self.main) {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Link);
            header.set_size(0);
            header.set_mode(0o644);
            header.set_mtime(0);
            out.append_link(&mut header, main_path, "data")
                .expect("writing to memory cannot fail");
        }
        for (name, content) in &self.files {
            if let Some(path) = tar_path(name) {
                append(&mut out, &path, content);
            }
        }
        out.into_inner().expect("writing to memory cannot fail")
    }

    /// The entry script's module name (its absolute path or URL).
    pub fn main(&self) -> &str {
        &self.main
    }

    /// The entry script's source.
    pub fn main_source(&self) -> Arc<str> {
        self.main_source.clone()
    }

    /// The archive with its entry script's source replaced (an edit of the
    /// script that keeps its modules and files).
    pub fn with_main_source(mut self, source: Arc<str>) -> Self {
        self.main_source = source;
        self
    }

    /// A file or module by module name (absolute path or URL).
    pub fn file(&self, name: &str) -> Option<FileData> {
        self.files.get(name).cloned()
    }

    /// Module names of the files besides the entry script, sorted.
    pub fn file_names(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Whether some file lies under directory `dir` (an absolute path).
    pub fn has_dir(&self, dir: &str) -> bool {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        self.main.starts_with(&prefix) || self.files.keys().any(|k| k.starts_with(&prefix))
    }

    /// A program that loads the entry script, its modules and files from
    /// this archive only (never the disk nor the network).
    pub fn program(self: &Arc<Self>) -> Arc<Program> {
        Program::from_archive(self.clone())
    }
}

fn append(out: &mut tar::Builder<Vec<u8>>, path: &str, content: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_size(content.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_entry_type(tar::EntryType::Regular);
    out.append_data(&mut header, path, content)
        .expect("writing to memory cannot fail");
}

/// `/abs/x.js` → `file:///abs/x.js`; URLs stay.
fn to_url(name: &str) -> String {
    if name.starts_with('/') {
        format!("file://{name}")
    } else {
        name.to_string()
    }
}

/// `file:///abs/x.js` → `/abs/x.js`; `https://…` stays; others: none.
fn from_url(url: &str) -> Option<String> {
    if let Some(p) = url.strip_prefix("file://") {
        return safe_path(p);
    }
    if url.starts_with("https://") {
        return Some(url.to_string());
    }
    None
}

/// The tar entry of module `name`: `file/abs/x.js` or `https/host/path`.
fn tar_path(name: &str) -> Option<String> {
    if let Some(p) = name.strip_prefix('/') {
        return Some(format!("file/{p}"));
    }
    name.strip_prefix("https://")
        .map(|rest| format!("https/{rest}"))
}

/// The module name of tar entry `path` (the inverse of [`tar_path`]).
fn module_name(path: &str) -> Option<String> {
    let path = path.trim_start_matches("./");
    if let Some(rest) = path.strip_prefix("file/") {
        return safe_path(&format!("/{rest}"));
    }
    if let Some(rest) = path.strip_prefix("https/") {
        return safe_path(&format!("/{rest}")).map(|p| format!("https:/{p}"));
    }
    None
}

/// Refuses a tar entry name that is absolute or climbs out with `..` (a
/// path an unpacking tool would write outside its directory).
fn check_entry_name(path: &str) -> Result<(), String> {
    if path.starts_with('/') || path.starts_with('\\') {
        return Err(format!("{path:?} is an absolute path"));
    }
    if path.split(['/', '\\']).any(|s| s == "..") {
        return Err(format!("{path:?} climbs out of the archive with `..`"));
    }
    if path.contains('\0') {
        return Err(format!("{path:?} contains a NUL byte"));
    }
    Ok(())
}

/// `path` if it is absolute and has no `.` or `..` components.
fn safe_path(path: &str) -> Option<String> {
    let clean = path.starts_with('/')
        && !path.split('/').any(|s| s == "." || s == "..")
        && !path.contains('\0');
    clean.then(|| path.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Archive {
        let mut files = BTreeMap::new();
        files.insert(
            "/t/lib/h.js".to_string(),
            FileData::from(&b"export const h = 1;"[..]),
        );
        files.insert("/t/data.txt".to_string(), FileData::from(&b"hello\n"[..]));
        files.insert(
            "https://mods.test/x/1.0/index.js".to_string(),
            FileData::from(&b"export const x = 2;"[..]),
        );
        let mut env = BTreeMap::new();
        env.insert("FOO".to_string(), "bar".to_string());
        Archive::from_files(
            "/t/s.js",
            "import { h } from './lib/h.js';".into(),
            files,
            serde_json::json!({"vus": 2}),
            env,
        )
    }

    #[test]
    fn round_trips_through_tar_in_k6_layout() {
        let a = sample();
        let bytes = a.to_tar();
        let mut names = Vec::new();
        for e in tar::Archive::new(&bytes[..]).entries().unwrap() {
            let e = e.unwrap();
            names.push(e.path().unwrap().to_string_lossy().into_owned());
        }
        assert_eq!(
            names,
            [
                "metadata.json",
                "data",
                "file/t/s.js",
                "file/t/data.txt",
                "file/t/lib/h.js",
                "https/mods.test/x/1.0/index.js"
            ]
        );
        let b = Archive::from_tar(&bytes).unwrap();
        assert_eq!(b.main(), "/t/s.js");
        assert_eq!(&*b.main_source(), "import { h } from './lib/h.js';");
        assert_eq!(b.metadata, a.metadata);
        assert_eq!(b.metadata.filename, "file:///t/s.js");
        assert_eq!(b.metadata.env["FOO"], "bar");
        assert_eq!(&*b.file("/t/data.txt").unwrap(), b"hello\n");
        assert_eq!(
            &*b.file("https://mods.test/x/1.0/index.js").unwrap(),
            b"export const x = 2;"
        );
        assert!(b.file("/t/s.js").is_none(), "the entry script is data");
        assert!(b.has_dir("/t/lib") && b.has_dir("/t") && !b.has_dir("/t/li"));
    }

    #[test]
    fn rejects_what_is_not_an_archive() {
        let e = Archive::from_tar(b"not a tar").unwrap_err().to_string();
        assert!(
            e.contains("metadata.json is missing") || e.contains("tar"),
            "{e}"
        );
        let mut out = tar::Builder::new(Vec::new());
        append(&mut out, "metadata.json", b"{");
        let e = Archive::from_tar(&out.into_inner().unwrap())
            .unwrap_err()
            .to_string();
        assert!(e.contains("metadata.json is not valid"), "{e}");
    }

    /// A tar entry written by hand, as a hostile client could (the tar
    /// crate's builder refuses such names).
    fn raw(out: &mut Vec<u8>, name: &str, kind: tar::EntryType, link: &str, data: &[u8]) {
        let mut h = tar::Header::new_ustar();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }

    fn hostile(name: &str, kind: tar::EntryType, link: &str) -> String {
        let good = sample().to_tar();
        // The sample without its two zero end blocks, then the bad entry.
        let mut bytes = good[..good.len() - 1024].to_vec();
        raw(&mut bytes, name, kind, link, b"x");
        bytes.extend_from_slice(&[0; 1024]);
        Archive::from_tar(&bytes).unwrap_err().to_string()
    }

    #[test]
    fn refuses_escaping_names_links_and_devices() {
        use tar::EntryType as T;
        let e = hostile("/etc/cron.d/x", T::Regular, "");
        assert!(e.contains("absolute path"), "{e}");
        let e = hostile("file/../../x.js", T::Regular, "");
        assert!(e.contains("climbs out"), "{e}");
        let e = hostile("file/t/evil.js", T::Symlink, "/etc/passwd");
        assert!(e.contains("symbolic link"), "{e}");
        let e = hostile("file/t/evil.js", T::Link, "/etc/passwd");
        assert!(e.contains("may only link the entry script"), "{e}");
        let e = hostile("file/t/dev", T::Char, "");
        assert!(e.contains("device"), "{e}");
        // k6's own layout (a hard link to `data`) is fine.
        let mut ok = sample().to_tar();
        ok.truncate(ok.len() - 1024);
        raw(&mut ok, "file/t/copy.js", T::Link, "data", b"");
        ok.extend_from_slice(&[0; 1024]);
        let a = Archive::from_tar(&ok).unwrap();
        assert_eq!(&*a.file("/t/copy.js").unwrap(), a.main_source().as_bytes());
    }

    #[test]
    fn entry_names_that_climb_out_are_ignored() {
        assert_eq!(module_name("file/a/../../etc/passwd"), None);
        assert_eq!(module_name("file/a/./b"), None);
        assert_eq!(
            module_name("https/h/p.js").as_deref(),
            Some("https://h/p.js")
        );
        assert_eq!(module_name("file/a/b.js").as_deref(), Some("/a/b.js"));
        assert_eq!(from_url("file:///a/../b.js"), None);
        assert_eq!(from_url("http://h/x.js"), None);
    }
}
