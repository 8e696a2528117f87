//! The CLI's client of a Stampede server: where `stampede login` keeps the
//! server URL and API token (a 0600 file in the config directory, or
//! `STAMPEDE_URL`/`STAMPEDE_TOKEN` for CI), and JSON calls to the API with
//! the server's `{"error": {...}}` answers turned into messages.

use std::path::PathBuf;
use std::time::Duration;

use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use stampede_http::{Client, ClientConfig, Request};

/// What `stampede login` stores.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Credentials {
    /// The server's base URL (`http://127.0.0.1:8080`).
    pub url: String,
    /// An API token (`stp_…`).
    pub token: String,
}

/// The credentials file: `$STAMPEDE_CONFIG_DIR/credentials.json`, else
/// `$XDG_CONFIG_HOME/stampede/…`, else `~/.config/stampede/…`.
pub fn credentials_path() -> Result<PathBuf, String> {
    let dir = if let Some(d) = std::env::var_os("STAMPEDE_CONFIG_DIR") {
        PathBuf::from(d)
    } else if let Some(d) = std::env::var_os("XDG_CONFIG_HOME") {
        PathBuf::from(d).join("stampede")
    } else if let Some(h) = std::env::var_os("HOME") {
        PathBuf::from(h).join(".config").join("stampede")
    } else {
        return Err("cannot find a config directory: set STAMPEDE_CONFIG_DIR".into());
    };
    Ok(dir.join("credentials.json"))
}

/// Saves credentials, readable by the owner only.
pub fn save(c: &Credentials) -> Result<PathBuf, String> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = credentials_path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let text = serde_json::to_string_pretty(c).expect("credentials serialize");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    // An existing file keeps its mode on open: tighten it.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot protect {}: {e}", path.display()))?;
    f.write_all(text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}

/// The credentials to use: the environment's, else the saved ones;
/// `server` overrides the URL.
pub fn load(server: Option<&str>) -> Result<Credentials, String> {
    let env_url = std::env::var("STAMPEDE_URL").ok();
    let env_token = std::env::var("STAMPEDE_TOKEN").ok();
    let saved = match credentials_path() {
        Ok(p) => std::fs::read_to_string(&p)
            .ok()
            .and_then(|t| serde_json::from_str::<Credentials>(&t).ok()),
        Err(_) => None,
    };
    let token = env_token
        .or_else(|| saved.as_ref().map(|c| c.token.clone()))
        .ok_or("not logged in: run `stampede login URL` or set STAMPEDE_TOKEN")?;
    let url = server
        .map(str::to_string)
        .or(env_url)
        .or_else(|| saved.map(|c| c.url))
        .ok_or("no server: pass --server URL or set STAMPEDE_URL")?;
    Ok(Credentials { url, token })
}

/// A JSON client of one server.
pub struct Api {
    base: String,
    token: Option<String>,
    client: Client,
}

impl Api {
    /// A client of `base` authenticating with `token`.
    pub fn new(base: &str, token: Option<String>) -> Result<Self, String> {
        let client = Client::new(ClientConfig::default()).map_err(|e| e.to_string())?;
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            token,
            client,
        })
    }

    /// Calls `method path` with an optional JSON body; the parsed answer on
    /// 2xx, the server's error message otherwise.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let parsed = url::Url::parse(&url).map_err(|e| format!("invalid server URL {url}: {e}"))?;
        let mut req = Request::new(method, parsed);
        if let Some(b) = body {
            req.body = b.to_string().into();
            req.headers
                .push(("Content-Type".into(), "application/json".into()));
        }
        if let Some(t) = &self.token {
            req.headers
                .push(("Authorization".into(), format!("Bearer {t}")));
        }
        req.timeout = Duration::from_secs(120);
        let res = self.client.session().request(req, None).await.response;
        if let Some(e) = res.error {
            return Err(format!("cannot reach the server at {}: {e}", self.base));
        }
        let doc: Value = if res.body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&res.body).map_err(|e| {
                format!(
                    "the server answered {} with a body that is not JSON: {e}",
                    res.status
                )
            })?
        };
        if (200..300).contains(&res.status) {
            Ok(doc)
        } else {
            let err = &doc["error"];
            Err(match err["message"].as_str() {
                Some(m) => format!(
                    "{} ({}): {m}",
                    res.status,
                    err["code"].as_str().unwrap_or("error")
                ),
                None => format!("the server answered {}", res.status),
            })
        }
    }
}

/// A current-thread runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))
}
