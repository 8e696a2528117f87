//! Real servers and browsers for tests: found on PATH, started on free
//! loopback ports with temporary data directories, killed when dropped.
//!
//! A test that needs one skips (with a note) when its binary is missing,
//! unless `STAMPEDE_REQUIRE_SERVERS` is set (`.ci/run` sets it and installs
//! the packages): then a missing binary fails the test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `name` on PATH (or in `/usr/sbin`, `/usr/bin`), or `None` after
/// printing why the test is skipped; panics when servers are required.
pub fn binary(name: &str, package: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/bin"].map(PathBuf::from));
    if let Some(p) = dirs.iter().map(|d| d.join(name)).find(|p| p.is_file()) {
        return Some(p);
    }
    if std::env::var_os("STAMPEDE_REQUIRE_SERVERS").is_some() {
        panic!("`{name}` is not installed (apt-get install {package}) and STAMPEDE_REQUIRE_SERVERS is set");
    }
    eprintln!("skipping: `{name}` is not installed (apt-get install {package})");
    None
}

/// A child process killed (by its own pid) when dropped.
pub struct Proc {
    child: Child,
    pub name: String,
    log: PathBuf,
}

impl Proc {
    /// Starts `cmd` with output to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Proc {
        let file = std::fs::File::create(log).unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            child,
            name: name.to_owned(),
            log: log.to_owned(),
        }
    }

    /// The process's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `ready()` holds (polling), or panics with the log.
    pub fn wait_until(&mut self, what: &str, timeout: Duration, ready: impl Fn() -> bool) {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} exited ({status}) before {what}:\n{}",
                    self.name,
                    self.log()
                );
            }
            if ready() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "{} not {what} after {timeout:?}:\n{}",
            self.name,
            self.log()
        );
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP/1.1 request on loopback (`Connection: close`); returns
/// the status and body. Enough for the servers' query APIs.
pub fn http(
    method: &str,
    port: u16,
    path: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    // Read the head, then Content-Length bytes (some servers keep the
    // connection open despite `Connection: close`), else until EOF.
    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = s.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let lower = head.to_ascii_lowercase();
    let length: Option<usize> = lower
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok());
    let mut rest = raw[head_end + 4..].to_vec();
    match length {
        Some(n) => {
            while rest.len() < n {
                let k = s.read(&mut buf).ok()?;
                if k == 0 {
                    break;
                }
                rest.extend_from_slice(&buf[..k]);
            }
            rest.truncate(n);
        }
        None => {
            let _ = s.read_to_end(&mut rest);
        }
    }
    let text = String::from_utf8_lossy(&rest).into_owned();
    let body = if lower.contains("transfer-encoding: chunked") {
        dechunk(&text)
    } else {
        text
    };
    Some((status, body))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The workspace's `target/` directory (where tests leave artifacts to look at).
pub fn target_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One request a [`Capture`] server received.
#[derive(Clone, Debug)]
pub struct Captured {
    /// `POST /write?db=x`.
    pub line: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Captured {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP/1.1 server on loopback that records every request (keep-alive
/// connections included) and answers each with `status` and no body.
pub struct Capture {
    pub port: u16,
    pub requests: std::sync::Arc<std::sync::Mutex<Vec<Captured>>>,
}

impl Capture {
    pub fn start(status: u16) -> Capture {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let store = requests.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let store = store.clone();
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(conn.try_clone().unwrap());
                    let mut writer = conn;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let mut headers = Vec::new();
                        loop {
                            let mut h = String::new();
                            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                                return;
                            }
                            let h = h.trim_end();
                            if h.is_empty() {
                                break;
                            }
                            if let Some((k, v)) = h.split_once(':') {
                                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                            }
                        }
                        let len: usize = headers
                            .iter()
                            .find(|(k, _)| k == "content-length")
                            .and_then(|(_, v)| v.parse().ok())
                            .unwrap_or(0);
                        let mut body = vec![0; len];
                        if reader.read_exact(&mut body).is_err() {
                            return;
                        }
                        store.lock().unwrap().push(Captured {
                            line: line.trim_end().to_owned(),
                            headers,
                            body,
                        });
                        let reply = format!("HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n");
                        if writer.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Capture { port, requests }
    }

    pub fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

/// Percent-encodes a query parameter value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A real InfluxDB 1.x on a free loopback port, with its data in `dir`,
/// answering `/ping`; `None` when `influxd` is missing (see [`binary`]).
pub fn start_influxdb(dir: &Path) -> Option<(Proc, u16)> {
    let influxd = binary("influxd", "influxdb")?;
    let (port, rpc) = (free_port(), free_port());
    let d = dir.display();
    let conf = dir.join("influxdb.conf");
    std::fs::write(
        &conf,
        format!(
            "reporting-disabled = true\nbind-address = \"127.0.0.1:{rpc}\"\n\
             [meta]\n  dir = \"{d}/meta\"\n\
             [data]\n  dir = \"{d}/data\"\n  wal-dir = \"{d}/wal\"\n  query-log-enabled = false\n\
             [http]\n  enabled = true\n  bind-address = \"127.0.0.1:{port}\"\n  log-enabled = false\n\
             [monitor]\n  store-enabled = false\n\
             [continuous_queries]\n  enabled = false\n\
             [subscriber]\n  enabled = false\n"
        ),
    )
    .unwrap();
    let mut cmd = Command::new(influxd);
    cmd.arg("-config").arg(&conf);
    let mut server = Proc::spawn("influxd", cmd, &dir.join("influxd.log"));
    server.wait_until("answering /ping", Duration::from_secs(30), || {
        http("GET", port, "/ping", b"", &[]).is_some_and(|(s, _)| s == 204)
    });
    Some((server, port))
}

/// A real Prometheus on a free loopback port, with its data in `dir`, the
/// remote-write receiver and native histograms enabled, scraping nothing;
/// `None` when `prometheus` is missing (see [`binary`]).
pub fn start_prometheus(dir: &Path) -> Option<(Proc, u16)> {
    let prometheus = binary("prometheus", "prometheus")?;
    let port = free_port();
    let conf = dir.join("prometheus.yml");
    std::fs::write(&conf, "global:\n  scrape_interval: 1h\n").unwrap();
    let mut cmd = Command::new(prometheus);
    cmd.arg(format!("--config.file={}", conf.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-remote-write-receiver")
        .arg("--enable-feature=native-histograms");
    let mut server = Proc::spawn("prometheus", cmd, &dir.join("prometheus.log"));
    server.wait_until("ready", Duration::from_secs(60), || {
        http("GET", port, "/-/ready", b"", &[]).is_some_and(|(s, _)| s == 200)
    });
    Some((server, port))
}
