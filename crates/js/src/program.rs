//! A test script and the files it loads, read once and shared by all VUs.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::ScriptError;

/// Where built-in jslib modules are served from when imported by URL.
const JSLIB_PREFIX: &str = "https://jslib.k6.io/";

/// A file's contents, shared by every VU that loads or opens it.
pub type FileData = Arc<[u8]>;

/// The entry script and a cache of every file read from disk.
///
/// VUs load modules and `open()` files through the cache, so the disk is read
/// once per file whatever the number of VUs.
#[derive(Debug)]
pub struct Program {
    main: String,
    main_source: Arc<str>,
    files: Mutex<HashMap<PathBuf, FileData>>,
    /// Compiled modules by name, written by the first VU that compiled
    /// them. Entries are never replaced or removed: VUs' runtimes read
    /// bytecode in place (QuickJS "ROM data") for as long as they live.
    bytecode: Mutex<HashMap<String, Compiled>>,
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
        Arc::new(Self {
            main: main.to_string_lossy().into_owned(),
            main_source: source.into(),
            files: Mutex::new(HashMap::new()),
            bytecode: Mutex::new(HashMap::new()),
        })
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
        let data = self.read(Path::new(path))?;
        std::str::from_utf8(&data)
            .map(Arc::from)
            .map_err(|_| format!("{path}: the file is not valid UTF-8"))
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
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(data) = files.get(path) {
            return Ok(data.clone());
        }
        let data: FileData = std::fs::read(path)
            .map_err(|e| format!("open {}: {}", path.display(), io_reason(&e)))?
            .into();
        files.insert(path.to_path_buf(), data.clone());
        Ok(data)
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

/// What an import specifier refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Specifier {
    /// A module built into Stampede (`k6`, `k6/http`, a jslib shim...).
    Builtin(String),
    /// A file on disk, by absolute path.
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
    if let Some(rest) = name.strip_prefix(JSLIB_PREFIX) {
        return crate::modules::jslib_module(rest)
            .map(Specifier::Builtin)
            .ok_or_else(|| {
                format!(
                    "cannot import {name}: only the built-in copies of k6-utils and k6-summary \
                     are available from jslib.k6.io (Stampede does not download modules)"
                )
            });
    }
    if name.starts_with("http://") || name.starts_with("https://") {
        return Err(format!(
            "cannot import {name}: remote modules are not supported; download the file next \
             to your script and import it by a relative path"
        ));
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
        let err = resolve("/m.js", "https://example.com/x.js").unwrap_err();
        assert!(err.contains("remote modules are not supported"), "{err}");
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
