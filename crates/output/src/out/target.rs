//! Where a streaming output writes: a file (gzipped when its name ends in
//! `.gz`) or stdout, always buffered.

use std::fs::File;
use std::io::{self, BufWriter, Stdout, Write};
use std::path::Path;

use flate2::write::GzEncoder;
use flate2::Compression;

/// Large buffers: outputs write one short line per sample.
const BUF: usize = 256 * 1024;

/// An open destination.
pub(crate) enum Target {
    Plain(BufWriter<File>),
    Gzip(BufWriter<GzEncoder<File>>),
    Stdout(BufWriter<Stdout>),
}

impl Target {
    /// Creates (truncates) `path`; `None` is stdout.
    pub(crate) fn open(path: Option<&Path>) -> io::Result<Target> {
        let Some(path) = path else {
            return Ok(Target::Stdout(BufWriter::with_capacity(BUF, io::stdout())));
        };
        let file = File::create(path).map_err(|e| go_open_error(path, &e))?;
        if path.to_string_lossy().ends_with(".gz") {
            let gz = GzEncoder::new(file, Compression::default());
            Ok(Target::Gzip(BufWriter::with_capacity(BUF, gz)))
        } else {
            Ok(Target::Plain(BufWriter::with_capacity(BUF, file)))
        }
    }

    /// Flushes everything and closes the file (writing the gzip trailer).
    pub(crate) fn finish(self) -> io::Result<()> {
        match self {
            Target::Plain(mut w) => {
                w.flush()?;
                drop(w.into_inner().map_err(|e| e.into_error())?);
                Ok(())
            }
            Target::Gzip(w) => {
                let gz = w.into_inner().map_err(|e| e.into_error())?;
                drop(gz.finish()?);
                Ok(())
            }
            Target::Stdout(mut w) => w.flush(),
        }
    }
}

/// The error as Go (and so k6) words it: `open PATH: no such file or directory`.
pub(crate) fn go_open_error(path: &Path, e: &io::Error) -> io::Error {
    let text = e.to_string();
    let text = match text.find(" (os error ") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    let text: String = match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    };
    io::Error::new(e.kind(), format!("open {}: {text}", path.display()))
}

impl Write for Target {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Target::Plain(w) => w.write(buf),
            Target::Gzip(w) => w.write(buf),
            Target::Stdout(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Target::Plain(w) => w.write_all(buf),
            Target::Gzip(w) => w.write_all(buf),
            Target::Stdout(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Target::Plain(w) => w.flush(),
            Target::Gzip(w) => w.flush(),
            Target::Stdout(w) => w.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_errors_read_like_k6() {
        // k6 v1.1.0: --out json=/nonexistent/x.json
        let err = Target::open(Some(Path::new("/nonexistent/x.json")))
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "open /nonexistent/x.json: no such file or directory"
        );
    }
}
