//! The PDF export: the HTML report printed by headless Chromium, so the PDF
//! has the same sections and charts (inline SVG) as the HTML.
//!
//! Chromium is an external program (Debian's `chromium`), found on PATH.
//! [`find_chromium`] lets the server say at start that PDF is unavailable
//! while the other formats keep working. Each print gets a fresh profile
//! directory and runs with every background service off, on a file in a
//! private temp dir: the report is self-contained, so Chromium makes no
//! network requests. A print that takes longer than its timeout is killed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use thiserror::Error;

/// The program looked for on PATH.
pub const CHROMIUM: &str = "chromium";

/// Why no PDF was made.
#[derive(Debug, Error)]
pub enum PdfError {
    /// Chromium is not installed.
    #[error(
        "PDF export needs Chromium: `{CHROMIUM}` is not on PATH (Debian: apt-get install chromium)"
    )]
    ChromiumMissing,
    /// The temp dir or a file in it could not be written or read.
    #[error("PDF export: {0}")]
    Io(#[from] std::io::Error),
    /// Chromium exited without writing the PDF.
    #[error("Chromium could not print the report ({status}): {stderr}")]
    Failed {
        /// Its exit status.
        status: String,
        /// The end of what it wrote to stderr.
        stderr: String,
    },
    /// Chromium did not finish in time (it was killed).
    #[error("Chromium did not print the report within {0:?}")]
    Timeout(Duration),
}

/// Chromium's path, or [`PdfError::ChromiumMissing`].
pub fn find_chromium() -> Result<PathBuf, PdfError> {
    let path = std::env::var_os("PATH").ok_or(PdfError::ChromiumMissing)?;
    std::env::split_paths(&path)
        .map(|d| d.join(CHROMIUM))
        .find(|p| p.is_file())
        .ok_or(PdfError::ChromiumMissing)
}

/// A private directory removed (with its contents) when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!(
            "stampede-pdf-{}-{}-{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir)?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The flags every headless Chromium Stampede starts carries (the PDF
/// export here, the browser tests): no sandbox (containers), no GPU, every
/// background service off, no proxy, QUIC off, and a resolver that knows
/// only `localhost` and `127.0.0.1`, so the browser can reach nothing but
/// loopback.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-quic",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--no-pings",
    "--no-proxy-server",
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    "--hide-scrollbars",
    "--mute-audio",
];

/// Prints `html` (a self-contained document) to PDF with Chromium at
/// `chromium` (see [`find_chromium`]), within `timeout`.
pub fn render(chromium: &Path, html: &str, timeout: Duration) -> Result<Vec<u8>, PdfError> {
    let dir = TempDir::new()?;
    let page = dir.0.join("report.html");
    let pdf = dir.0.join("report.pdf");
    std::fs::write(&page, html)?;
    let stderr_path = dir.0.join("chromium.log");
    let stderr = std::fs::File::create(&stderr_path)?;
    let mut child = Command::new(chromium)
        .args(CHROMIUM_FLAGS)
        .arg("--no-pdf-header-footer")
        .arg(format!(
            "--user-data-dir={}",
            dir.0.join("profile").display()
        ))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .env("HOME", &dir.0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => PdfError::ChromiumMissing,
            _ => PdfError::Io(e),
        })?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(PdfError::Timeout(timeout));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    match std::fs::read(&pdf) {
        Ok(bytes) if status.success() && bytes.starts_with(b"%PDF") => Ok(bytes),
        _ => {
            let log = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            let tail: String = log
                .lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n");
            Err(PdfError::Failed {
                status: status.to_string(),
                stderr: tail,
            })
        }
    }
}
