//! Native part of `k6/experimental/fs`: files opened in the init context
//! through the program's file cache (read once from disk whatever the number
//! of VUs), read by position.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use rquickjs::{Ctx, Exception, Object, Result, Value};

use super::set_fn;
use crate::program::FileData;
use crate::state::VuState;

/// The files a VU opened; a file's handle is its index.
#[derive(Default)]
pub(crate) struct OpenFiles(RefCell<Vec<FileData>>);

impl OpenFiles {
    fn add(&self, data: FileData) -> usize {
        let mut files = self.0.borrow_mut();
        files.push(data);
        files.len() - 1
    }

    fn get(&self, h: usize) -> Option<FileData> {
        self.0.borrow().get(h).cloned()
    }
}

/// Why a file cannot be opened, as k6 names it (the error's `name`).
fn open_file(
    state: &VuState,
    path: &str,
) -> std::result::Result<(String, FileData), (&'static str, String)> {
    if path.is_empty() {
        return Err((
            "TypeError",
            "open() failed; reason: path cannot be empty".into(),
        ));
    }
    let p = Path::new(path.strip_prefix("file://").unwrap_or(path));
    // k6 resolves relative paths against the entry script's directory, even
    // from an imported module.
    let full = crate::program::normalize(&state.test.program.root_dir().join(p));
    let shown = full.to_string_lossy().into_owned();
    match state.test.program.stat(&full) {
        Ok(crate::program::FileKind::Dir) => {
            return Err((
                "InvalidResourceError",
                format!("cannot open {shown:?}: opening a directory is not supported"),
            ))
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err((
                "NotFoundError",
                format!("no such file or directory {shown:?}"),
            ))
        }
        Err(e) => return Err(("FsError", format!("cannot open {shown:?}: {e}"))),
    }
    let data = state.test.program.read(&full).map_err(|m| ("FsError", m))?;
    Ok((shown, data))
}

/// Builds the native part of `k6/experimental/fs`.
pub(crate) fn native<'js>(ctx: &Ctx<'js>, state: &Rc<VuState>) -> Result<Object<'js>> {
    let obj = Object::new(ctx.clone())?;
    let files: Rc<OpenFiles> = Rc::default();

    let s = state.clone();
    let f = files.clone();
    // Returns `{handle, path, name, size}` or `{error, message}`: the
    // JavaScript part rejects the promise with an error of that name.
    set_fn(
        &obj,
        "open",
        move |ctx: Ctx<'js>, path: String| -> Result<Object<'js>> {
            let out = Object::new(ctx.clone())?;
            if !s.in_init() {
                out.set("error", "ForbiddenError")?;
                out.set(
                    "message",
                    "open() failed; reason: opening a file is allowed only in the Init context",
                )?;
                return Ok(out);
            }
            match open_file(&s, &path) {
                Ok((full, data)) => {
                    let name = Path::new(&full)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    out.set("size", data.len() as f64)?;
                    out.set("handle", f.add(data) as f64)?;
                    out.set("path", full)?;
                    out.set("name", name)?;
                }
                Err((kind, message)) => {
                    out.set("error", kind)?;
                    out.set("message", message)?;
                }
            }
            Ok(out)
        },
    )?;

    let f = files.clone();
    set_fn(
        &obj,
        "read",
        move |ctx: Ctx<'js>, handle: usize, offset: usize, len: usize| -> Result<Value<'js>> {
            let data = f
                .get(handle)
                .ok_or_else(|| Exception::throw_type(&ctx, "not an open file"))?;
            let start = offset.min(data.len());
            let end = start.saturating_add(len).min(data.len());
            crate::bytes::array_buffer(&ctx, &data[start..end])
        },
    )?;
    Ok(obj)
}
