//! Embeds the repository's `examples/` so `stampede demo` can run them from
//! any directory: generates a table of (relative path, contents).

use std::fmt::Write;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, base: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, base, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "js" | "json" | "csv" | "txt" | "md"))
        {
            let rel = path
                .strip_prefix(base)
                .expect("inside the examples directory")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, path));
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let examples = manifest.join("../../examples");
    println!("cargo:rerun-if-changed={}", examples.display());
    let mut files = Vec::new();
    collect(&examples, &examples, &mut files);
    let mut code = String::from("/// The files of `examples/`, by path relative to it.\n");
    code.push_str("pub static FILES: &[(&str, &str)] = &[\n");
    for (rel, path) in &files {
        let abs = path.canonicalize().expect("the file exists");
        let _ = writeln!(
            code,
            "    ({rel:?}, include_str!({:?})),",
            abs.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("examples.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
