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
        let file = File::create(path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("could not create {}: {e}", path.display()),
            )
        })?;
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
