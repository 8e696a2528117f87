//! Remote modules (`import … from "https://…"`), fetched at init as k6
//! does, cached on disk, and pinned in a lock file next to the script.
//!
//! k6 fetches a remote module every time a test starts and runs whatever
//! the server sends. Stampede fetches it the same way (HTTPS only,
//! redirects followed, `?_k6=1` tried first, k6's error texts) but records
//! the SHA-256 of each module in `stampede.lock` beside the entry script the
//! first time; afterwards a module whose content differs from its lock entry
//! is an error until the lock is updated on purpose. Modules are cached by
//! URL under the user's cache directory, so a locked module whose cached
//! copy matches is not fetched again, and an offline run uses the cache
//! only.
//!
//! The environment steers it (the CLI and the server both load programs):
//!
//! | variable | effect |
//! |----------|--------|
//! | `STAMPEDE_MODULES=offline` | never fetch: cached modules only |
//! | `STAMPEDE_MODULES=update` | fetch every remote module again and rewrite its lock entry |
//! | `STAMPEDE_CACHE_DIR` | the cache directory (default `$XDG_CACHE_HOME/stampede/modules` or `~/.cache/stampede/modules`) |
//! | `SSL_CERT_FILE` | PEM certificates trusted besides the built-in Mozilla roots (as Go, hence k6, reads it) |
//!
//! Fetches obey the test's `hosts`, `blacklistIPs` and `blockHostnames`
//! as set before the script loads (the config file, `K6_*` variables and
//! flags: see [`ModuleNetwork`]), which k6's loader ignores; the script's
//! own `options` come from the very code being loaded, so they cannot
//! govern its imports. A module larger than [`MAX_MODULE_BYTES`] is an
//! error.
//!
//! Fetching blocks the calling thread (the init code of the first VU; the
//! program caches the result for every other VU) on a thread of its own
//! with a current-thread Tokio runtime, since the caller may already be
//! inside one.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// The name of the lock file beside the entry script.
pub const LOCK_FILE: &str = "stampede.lock";

/// The largest remote module accepted (jslib's biggest bundles are a few
/// hundred kB).
pub const MAX_MODULE_BYTES: usize = 16 * 1024 * 1024;

/// The test's network rules that remote module fetches obey, as the test's
/// own requests do.
#[derive(Debug, Clone, Default)]
pub struct ModuleNetwork {
    /// `hosts`: names mapped to other addresses.
    pub hosts: HashMap<String, stampede_http::HostOverride>,
    /// `blacklistIPs`: networks never connected to.
    pub blacklist_ips: Vec<stampede_http::IpNet>,
    /// `blockHostnames`: host name patterns never resolved.
    pub block_hostnames: Vec<String>,
}

/// How remote modules are obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModulesMode {
    /// Cache when it matches the lock, else the network; new modules are
    /// added to the lock.
    Normal,
    /// The cache only.
    Offline,
    /// The network always; lock entries are rewritten.
    Update,
}

/// Where remote modules come from and where their hashes are pinned.
#[derive(Debug)]
pub struct RemoteModules {
    /// The mode, or why `STAMPEDE_MODULES` is invalid (reported when a
    /// remote module is needed).
    mode: Result<ModulesMode, String>,
    cache_dir: Option<PathBuf>,
    lock_path: PathBuf,
    ca_file: Option<PathBuf>,
    lock: Mutex<Option<BTreeMap<String, String>>>,
    network: Mutex<ModuleNetwork>,
}

impl RemoteModules {
    /// Settings from the environment (see the module documentation), with
    /// the lock file in `script_dir`.
    pub fn from_env(script_dir: &Path) -> Self {
        let mode = match std::env::var("STAMPEDE_MODULES").as_deref() {
            Ok("offline") => Ok(ModulesMode::Offline),
            Ok("update") => Ok(ModulesMode::Update),
            Ok("") | Err(std::env::VarError::NotPresent) => Ok(ModulesMode::Normal),
            Ok(other) => Err(format!(
                "STAMPEDE_MODULES must be \"offline\" or \"update\" (or unset), not {other:?}"
            )),
            Err(std::env::VarError::NotUnicode(v)) => Err(format!(
                "STAMPEDE_MODULES must be \"offline\" or \"update\" (or unset), not {v:?}"
            )),
        };
        let cache_dir = std::env::var_os("STAMPEDE_CACHE_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME")
                    .map(PathBuf::from)
                    .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
                    .map(|c| c.join("stampede").join("modules"))
            });
        Self {
            mode,
            cache_dir,
            lock_path: script_dir.join(LOCK_FILE),
            ca_file: std::env::var_os("SSL_CERT_FILE")
                .filter(|f| !f.is_empty())
                .map(PathBuf::from),
            lock: Mutex::new(None),
            network: Mutex::new(ModuleNetwork::default()),
        }
    }

    /// Sets the network rules later fetches obey.
    pub fn set_network(&self, network: ModuleNetwork) {
        *self.network.lock().unwrap_or_else(|p| p.into_inner()) = network;
    }

    /// The module at `url` (an `https://` URL), from the cache or the
    /// network, checked against the lock. Errors are k6's texts (for
    /// fetching) or say how to fix the lock or the cache.
    pub fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let mode = self.mode.clone()?;
        let mut lock = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if lock.is_none() {
            *lock = Some(read_lock(&self.lock_path)?);
        }
        let entries = lock.as_mut().expect("read above");
        let pinned = entries.get(url).cloned();
        let network = self
            .network
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        // A cached copy is no way around the rules: the host is checked
        // before the cache is (its addresses, when fetching).
        refused_host(url, &network)?;
        let cached = self.cache_path(url).and_then(|p| std::fs::read(p).ok());
        if mode != ModulesMode::Update {
            if let Some(body) = &cached {
                let hash = sha256(body);
                match &pinned {
                    Some(p) if *p == hash => return Ok(body.clone()),
                    None if mode == ModulesMode::Offline => {
                        entries.insert(url.to_string(), hash);
                        write_lock(&self.lock_path, entries)?;
                        return Ok(body.clone());
                    }
                    _ => {}
                }
            }
        }
        if mode == ModulesMode::Offline {
            return Err(match (&pinned, &cached) {
                (Some(p), Some(_)) => format!(
                    "remote module {url}: the cached copy does not match {} ({p}); run once \
                     without STAMPEDE_MODULES=offline to fetch it again",
                    self.lock_path.display()
                ),
                _ => format!(
                    "remote module {url} is not in the module cache and STAMPEDE_MODULES=offline \
                     forbids fetching it; run once online to cache it"
                ),
            });
        }
        let body = download(url, self.ca_file.as_deref(), network)?;
        let hash = sha256(&body);
        if let Some(p) = &pinned {
            if *p != hash && mode != ModulesMode::Update {
                return Err(format!(
                    "remote module {url} changed: {} pins {p} but the server sent {hash}; if the \
                     change is expected, run with STAMPEDE_MODULES=update to update the lock",
                    self.lock_path.display()
                ));
            }
        }
        if let Some(path) = self.cache_path(url) {
            // The cache is an optimisation: a failure to write it is not an error.
            let _ = path
                .parent()
                .map(std::fs::create_dir_all)
                .transpose()
                .and_then(|_| std::fs::write(&path, &body));
        }
        if pinned.as_ref() != Some(&hash) {
            entries.insert(url.to_string(), hash);
            write_lock(&self.lock_path, entries)?;
        }
        Ok(body)
    }

    fn cache_path(&self, url: &str) -> Option<PathBuf> {
        let dir = self.cache_dir.as_ref()?;
        Some(dir.join(&sha256(url.as_bytes())["sha256-".len()..]))
    }
}

/// k6's error for a module URL whose host is a blocked name or a
/// blacklisted address literal.
fn refused_host(url: &str, network: &ModuleNetwork) -> Result<(), String> {
    let Some(host) = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host().map(|h| h.to_owned()))
    else {
        return Ok(());
    };
    match host {
        url::Host::Domain(name) => match stampede_http::blocked_by(&network.block_hostnames, &name)
        {
            Some(p) => Err(format!("hostname ({name}) is in a blocked pattern ({p})")),
            None => Ok(()),
        },
        url::Host::Ipv4(ip) => refused_ip(ip.into(), network),
        url::Host::Ipv6(ip) => refused_ip(ip.into(), network),
    }
}

fn refused_ip(ip: std::net::IpAddr, network: &ModuleNetwork) -> Result<(), String> {
    match network.blacklist_ips.iter().find(|n| n.contains(ip)) {
        Some(n) => Err(format!("IP ({ip}) is in a blacklisted range ({n})")),
        None => Ok(()),
    }
}

/// `sha256-` and the hex digest of `data` (the lock's notation).
fn sha256(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    let mut out = String::from("sha256-");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

const LOCK_HEADER: &str = "\
# Stampede: SHA-256 of each remote module this directory's scripts import.
# A module whose content differs is an error. To accept a change, run the
# test once with STAMPEDE_MODULES=update. Commit this file with the scripts.
";

/// Reads a lock file (`URL HASH` per line, `#` comments); none is empty.
fn read_lock(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_whitespace().collect::<Vec<_>>()[..] {
            [url, hash] if hash.starts_with("sha256-") => {
                out.insert(url.to_string(), hash.to_string());
            }
            _ => {
                return Err(format!(
                    "{}:{}: expected \"URL sha256-HEX\", got {line:?}",
                    path.display(),
                    i + 1
                ))
            }
        }
    }
    Ok(out)
}

fn write_lock(path: &Path, entries: &BTreeMap<String, String>) -> Result<(), String> {
    let mut text = String::from(LOCK_HEADER);
    for (url, hash) in entries {
        text.push_str(&format!("{url} {hash}\n"));
    }
    std::fs::write(path, text).map_err(|e| {
        format!(
            "cannot write the remote module lock {}: {e}",
            path.display()
        )
    })
}

/// Fetches `url` as k6's loader does: first with `?_k6=1` (when it has no
/// query), then as is when that is not a 200.
fn download(url: &str, ca_file: Option<&Path>, network: ModuleNetwork) -> Result<Vec<u8>, String> {
    let mut extra_roots = Vec::new();
    if let Some(path) = ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read SSL_CERT_FILE {}: {e}", path.display()))?;
        for cert in rustls_pemfile::certs(&mut &pem[..]) {
            let cert = cert.map_err(|e| format!("SSL_CERT_FILE {}: {e}", path.display()))?;
            extra_roots.push(cert.to_vec());
        }
    }
    let url = url.to_string();
    std::thread::scope(|s| {
        s.spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot fetch {url}: {e}"))?;
            rt.block_on(download_async(&url, extra_roots, network))
        })
        .join()
        .unwrap_or_else(|_| Err("the module download thread panicked".into()))
    })
}

async fn download_async(
    url: &str,
    extra_roots: Vec<Vec<u8>>,
    network: ModuleNetwork,
) -> Result<Vec<u8>, String> {
    let cfg = stampede_http::ClientConfig {
        user_agent: Some(format!("stampede/{}", env!("CARGO_PKG_VERSION"))),
        extra_root_certs: extra_roots,
        hosts: network.hosts,
        blacklist_ips: network.blacklist_ips,
        block_hostnames: network.block_hostnames,
        ..Default::default()
    };
    let client = stampede_http::Client::new(cfg).map_err(|e| e.to_string())?;
    let session = client.session();
    let parsed = url::Url::parse(url).map_err(|e| format!("invalid URL {url}: {e}"))?;
    let mut attempts = Vec::new();
    if parsed.query().is_none() {
        let mut hinted = parsed.clone();
        hinted.set_query(Some("_k6=1"));
        attempts.push(hinted);
    }
    attempts.push(parsed);
    let mut last = String::new();
    for attempt in attempts {
        let mut req = stampede_http::Request::get(attempt);
        req.timeout = Duration::from_secs(60);
        let ex = session.request(req, None).await;
        let res = ex.response;
        if let Some(e) = &res.error {
            if res.status == 0 {
                return Err(e.log_line("GET", url));
            }
        }
        match res.status {
            200 if res.body.len() > MAX_MODULE_BYTES => {
                return Err(format!(
                    "remote module {url} is {} bytes, more than the limit of {} MiB",
                    res.body.len(),
                    MAX_MODULE_BYTES >> 20
                ))
            }
            200 => return Ok(res.body.to_vec()),
            404 => last = format!("not found: {url}"),
            other => last = format!("wrong status code ({other}) for: {url}"),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_files_round_trip_and_reject_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(LOCK_FILE);
        assert!(read_lock(&path).unwrap().is_empty());
        let mut m = BTreeMap::new();
        m.insert("https://h/x.js".to_string(), sha256(b"x"));
        write_lock(&path, &m).unwrap();
        assert_eq!(read_lock(&path).unwrap(), m);
        std::fs::write(&path, "https://h/x.js\n").unwrap();
        let e = read_lock(&path).unwrap_err();
        assert!(e.contains(":1: expected"), "{e}");
    }

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            sha256(b""),
            "sha256-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
