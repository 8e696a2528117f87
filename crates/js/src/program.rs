//! A test script and the files it loads, read once and shared by all VUs.

use std::collections::{BTreeMap, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::archive::Archive;
use crate::error::ScriptError;
use crate::remote::RemoteModules;

/// Where built-in jslib modules are served from when imported by URL.
const JSLIB_PREFIX: &str = "https://jslib.k6.io/";

/// A file's contents, shared by every VU that loads or opens it.
pub type FileData = Arc<[u8]>;

/// The entry script and a cache of every file read.
///
/// VUs load modules and `open()` files through the cache, so each file is
/// read once whatever the number of VUs. A program reads the local disk, or
/// only an [`Archive`] when it was built from one.
#[derive(Debug)]
pub struct Program {
    main: String,
    main_source: Arc<str>,
    origin: Origin,
    /// Files read so far, by module name (absolute path or URL).
    files: Mutex<BTreeMap<String, FileData>>,
    /// Compiled modules by name, written by the first VU that compiled
    /// them. Entries are never replaced or removed: VUs' runtimes read
    /// bytecode in place (QuickJS "ROM data") for as long as they live.
    bytecode: Mutex<HashMap<String, Compiled>>,
    /// User modules' kinds and the names imported from each.
    graph: crate::commonjs::Graph,
}

/// Where a program's files come from.
#[derive(Debug)]
enum Origin {
    /// The local file system, and the network for remote modules.
    Disk(Box<RemoteModules>),
    /// An archive, and nothing else.
    Archive(Arc<Archive>),
}

/// What a path names, for `k6/experimental/fs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    File,
    Dir,
}

/// A module's bytecode and the optional built-ins its code names.
pub(crate) type Compiled = (Arc<[u8]>, crate::intrinsics::Needs);

impl Program {
    /// Reads the entry script at `path`.
    pub fn load(path: &Path) -> Result<Arc<Self>, ScriptError> {
        let abs = absolute(path).map_err(|e| ScriptError::load(path.display(), e))?;
        let bytes = std::fs::read(&abs).map_err(|e| ScriptError::load(path.display(), e))?;
        let source = String::from_utf8(bytes)
            .map_err(|_| ScriptError::load(path.display(), "the file is not valid UTF-8"))?;
        Ok(Self::from_source(&abs, source))
    }

    /// Uses `source` as the script at `path` (which need not exist on disk;
    /// relative imports and `open()` resolve against its directory).
    pub fn from_source(path: &Path, source: impl Into<Arc<str>>) -> Arc<Self> {
        let main = normalize(&absolute(path).unwrap_or_else(|_| path.to_path_buf()));
        let remote = RemoteModules::from_env(main.parent().unwrap_or(Path::new("/")));
        Arc::new(Self {
            main: main.to_string_lossy().into_owned(),
            main_source: source.into(),
            origin: Origin::Disk(Box::new(remote)),
            files: Mutex::new(BTreeMap::new()),
            bytecode: Mutex::new(HashMap::new()),
            graph: Default::default(),
        })
    }

    /// The program of an archive: modules and files come from it only.
    pub fn from_archive(archive: Arc<Archive>) -> Arc<Self> {
        Arc::new(Self {
            main: archive.main().to_string(),
            main_source: archive.main_source(),
            origin: Origin::Archive(archive),
            files: Mutex::new(BTreeMap::new()),
            bytecode: Mutex::new(HashMap::new()),
            graph: Default::default(),
        })
    }

    /// Makes later remote module fetches obey `network` (the test's
    /// `hosts`, `blacklistIPs` and `blockHostnames`); archives fetch nothing.
    pub fn restrict_remote_modules(&self, network: crate::remote::ModuleNetwork) {
        if let Origin::Disk(remote) = &self.origin {
            remote.set_network(network);
        }
    }

    /// The archive the program reads from, if it was built from one.
    pub fn archive(&self) -> Option<&Arc<Archive>> {
        match &self.origin {
            Origin::Archive(a) => Some(a),
            Origin::Disk(_) => None,
        }
    }

    /// The entry script's source.
    pub fn main_source(&self) -> Arc<str> {
        self.main_source.clone()
    }

    /// Every file read so far besides the entry script (modules, `open()`ed
    /// files), by module name: what an archive of the test must hold.
    pub fn loaded_files(&self) -> BTreeMap<String, FileData> {
        self.files.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The entry module's name (its absolute path).
    pub fn main(&self) -> &str {
        &self.main
    }

    /// The directory of the entry script.
    pub fn root_dir(&self) -> &Path {
        Path::new(&self.main).parent().unwrap_or(Path::new("/"))
    }

    /// The source of a module file (the entry script or a file it imports).
    pub(crate) fn module_source(&self, path: &str) -> Result<Arc<str>, String> {
        if path == self.main {
            return Ok(self.main_source.clone());
        }
        let data = self.read_name(path)?;
        std::str::from_utf8(&data)
            .map(Arc::from)
            .map_err(|_| format!("{path}: the file is not valid UTF-8"))
    }

    /// What the program learned about its user modules.
    pub(crate) fn graph(&self) -> &crate::commonjs::Graph {
        &self.graph
    }

    /// The compiled bytecode of module `name` and the optional built-ins it
    /// uses, if a VU compiled it already.
    pub(crate) fn bytecode(&self, name: &str) -> Option<Compiled> {
        self.bytecode
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// Keeps the bytecode of module `name` (the first copy stored wins).
    pub(crate) fn store_bytecode(
        &self,
        name: &str,
        bytes: Vec<u8>,
        needs: crate::intrinsics::Needs,
    ) {
        self.bytecode
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(name.to_string())
            .or_insert_with(|| (bytes.into(), needs));
    }

    /// Reads a file through the cache.
    pub fn read(&self, path: &Path) -> Result<FileData, String> {
        self.read_name(&path.to_string_lossy())
    }

    /// Reads the file or module `name` (an absolute path) through the cache.
    pub(crate) fn read_name(&self, name: &str) -> Result<FileData, String> {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(data) = files.get(name) {
            return Ok(data.clone());
        }
        let data: FileData = match &self.origin {
            Origin::Archive(a) => a
                .file(name)
                .ok_or_else(|| format!("open {name}: file does not exist in the archive"))?,
            Origin::Disk(remote) if is_remote(name) => remote
                .fetch(name)
                .map_err(|e| {
                    format!(
                        "The moduleSpecifier \"{name}\" couldn't be retrieved from the resolved \
                         url \"{name}\". Error : \"{e}\""
                    )
                })?
                .into(),
            Origin::Disk(_) => std::fs::read(name)
                .map_err(|e| format!("open {name}: {}", io_reason(&e)))?
                .into(),
        };
        files.insert(name.to_string(), data.clone());
        Ok(data)
    }

    /// Records a built-in jslib copy imported by its URL as the file at
    /// that URL, so that archives carry it and `k6 run archive.tar` needs no
    /// network. Only copies written in plain k6 JavaScript qualify
    /// (k6-utils); k6-summary's copy is native, so k6 still fetches that one.
    pub(crate) fn note_jslib(&self, url: &str, builtin: &str) {
        if !matches!(self.origin, Origin::Disk(_)) || !url.starts_with(JSLIB_PREFIX) {
            return;
        }
        let Some(source) = crate::modules::portable_jslib(builtin) else {
            return;
        };
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(url.to_string())
            .or_insert_with(|| source.as_bytes().to_vec().into());
    }

    /// Checks that local module `name`, imported as `spec`, exists, with
    /// k6's message when it does not. Remote modules are checked when
    /// fetched.
    pub(crate) fn check_module(&self, name: &str, spec: &str) -> Result<(), String> {
        if !name.starts_with('/') || name == self.main {
            return Ok(());
        }
        if self
            .files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(name)
        {
            return Ok(());
        }
        match self.stat(Path::new(name)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
                "The moduleSpecifier \"{spec}\" couldn't be found on local disk. Make sure that \
                 you've specified the right path to the file."
            )),
            _ => Ok(()),
        }
    }

    /// Whether `path` is a file or a directory, without reading it.
    pub(crate) fn stat(&self, path: &Path) -> std::io::Result<FileKind> {
        let name = path.to_string_lossy();
        match &self.origin {
            Origin::Archive(a) => {
                if name == self.main || a.file(&name).is_some() {
                    Ok(FileKind::File)
                } else if a.has_dir(&name) {
                    Ok(FileKind::Dir)
                } else {
                    Err(std::io::ErrorKind::NotFound.into())
                }
            }
            Origin::Disk(_) => std::fs::metadata(path).map(|m| {
                if m.is_dir() {
                    FileKind::Dir
                } else {
                    FileKind::File
                }
            }),
        }
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    if path.is_absolute() {
        Ok(path.to_path_buf())
    } else {
        Ok(std::env::current_dir()?.join(path))
    }
}

/// Removes `.` and `..` components without touching the filesystem.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Whether module `name` is a remote module (an `https://` URL).
pub(crate) fn is_remote(name: &str) -> bool {
    name.starts_with("https://")
}

/// Whether module `name` is the user's code (a file or a remote module),
/// not a built-in.
pub(crate) fn is_user_module(name: &str) -> bool {
    name.starts_with('/') || is_remote(name)
}

/// What an import specifier refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Specifier {
    /// A module built into Stampede (`k6`, `k6/http`, a jslib shim...).
    Builtin(String),
    /// A file by absolute path, or a remote module by URL.
    File(String),
}

/// Resolves `name` imported from the module `base`.
pub(crate) fn resolve(base: &str, name: &str) -> Result<Specifier, String> {
    if name == "k6" || name.starts_with("k6/") {
        return if crate::modules::is_builtin(name) {
            Ok(Specifier::Builtin(name.to_string()))
        } else {
            Err(format!("unknown module: {name}"))
        };
    }
    if name.starts_with("stampede/") && crate::modules::is_builtin(name) {
        return Ok(Specifier::Builtin(name.to_string()));
    }
    if name.starts_with("stampede:") {
        return Ok(Specifier::Builtin(name.to_string()));
    }
    // The built-in copies of jslib modules work offline; other jslib
    // modules are remote modules like any other.
    if let Some(builtin) = name
        .strip_prefix(JSLIB_PREFIX)
        .and_then(crate::modules::jslib_module)
    {
        return Ok(Specifier::Builtin(builtin));
    }
    if let Some(scheme) = ["http", "ftp", "data"]
        .into_iter()
        .find(|s| name.starts_with(&format!("{s}:")))
    {
        return Err(format!(
            "only supported schemes for imports are file and https, {name} has `{scheme}`"
        ));
    }
    if is_remote(name) || (is_remote(base) && !name.starts_with("file://")) {
        // Absolute URLs, and anything a remote module imports by a path:
        // resolved as a browser does, against the importing module's URL.
        let joined = url::Url::parse(base)
            .and_then(|b| b.join(name))
            .or_else(|_| url::Url::parse(name))
            .map_err(|e| format!("invalid module URL {name:?}: {e}"))?;
        if joined.scheme() != "https" {
            return Err(format!(
                "only supported schemes for imports are file and https, {joined} has `{}`",
                joined.scheme()
            ));
        }
        return Ok(Specifier::File(joined.to_string()));
    }
    let path = if let Some(p) = name.strip_prefix("file://") {
        PathBuf::from(p)
    } else if name.starts_with('/') {
        PathBuf::from(name)
    } else if name.starts_with("./") || name.starts_with("../") {
        let dir = if base.starts_with('/') {
            Path::new(base)
                .parent()
                .unwrap_or(Path::new("/"))
                .to_path_buf()
        } else {
            std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))
        };
        dir.join(name)
    } else {
        return Err(format!(
            "cannot resolve module \"{name}\": bare module names are not supported; use a \
             relative path such as \"./{name}\""
        ));
    };
    Ok(Specifier::File(
        normalize(&path).to_string_lossy().into_owned(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_relative_paths_against_the_importer() {
        assert_eq!(
            resolve("/a/b/main.js", "./lib/x.js").unwrap(),
            Specifier::File("/a/b/lib/x.js".into())
        );
        assert_eq!(
            resolve("/a/b/main.js", "../x.js").unwrap(),
            Specifier::File("/a/x.js".into())
        );
        assert_eq!(
            resolve("/a/b/main.js", "file:///c/./d.js").unwrap(),
            Specifier::File("/c/d.js".into())
        );
    }

    #[test]
    fn resolves_builtins_and_jslib() {
        assert_eq!(
            resolve("/m.js", "k6/http").unwrap(),
            Specifier::Builtin("k6/http".into())
        );
        assert!(resolve("/m.js", "k6/nope")
            .unwrap_err()
            .contains("unknown module: k6/nope"));
        assert_eq!(
            resolve("/m.js", "https://jslib.k6.io/k6-utils/1.4.0/index.js").unwrap(),
            Specifier::Builtin("jslib/k6-utils".into())
        );
        assert_eq!(
            resolve("/m.js", "https://jslib.k6.io/k6-summary/0.0.2/index.js").unwrap(),
            Specifier::Builtin("jslib/k6-summary@0.0.2".into())
        );
        assert_eq!(
            resolve("/m.js", "https://mods.test/a/x.js").unwrap(),
            Specifier::File("https://mods.test/a/x.js".into())
        );
        assert_eq!(
            resolve("https://mods.test/a/x.js", "./y.js").unwrap(),
            Specifier::File("https://mods.test/a/y.js".into())
        );
        assert_eq!(
            resolve("https://mods.test/a/x.js", "../b/z.js").unwrap(),
            Specifier::File("https://mods.test/b/z.js".into())
        );
        let err = resolve("/m.js", "http://mods.test/x.js").unwrap_err();
        assert_eq!(
            err,
            "only supported schemes for imports are file and https, http://mods.test/x.js has `http`"
        );
        assert!(resolve("/m.js", "lodash")
            .unwrap_err()
            .contains("bare module"));
    }

    #[test]
    fn caches_file_reads() {
        let dir = std::env::temp_dir().join(format!("stampede-prog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("data.txt");
        std::fs::write(&f, "one").unwrap();
        let p = Program::from_source(&dir.join("main.js"), "");
        assert_eq!(&*p.read(&f).unwrap(), b"one");
        std::fs::write(&f, "two").unwrap();
        assert_eq!(&*p.read(&f).unwrap(), b"one");
        let missing = p.read(&dir.join("missing.txt")).unwrap_err();
        assert!(missing.contains("no such file or directory"), "{missing}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
