//! A small Chrome DevTools Protocol client that drives Debian's headless
//! `chromium` for UI tests: launch, open a page, evaluate JavaScript, wait
//! for a condition, change the viewport and colour scheme, take
//! screenshots, allow downloads. Nothing is downloaded at test time and
//! nothing but loopback is reachable: the browser runs with every
//! background service off and a host resolver that answers only for
//! `localhost` and `127.0.0.1` (every other name fails to resolve).
//!
//! Reusable by any crate's tests with
//! `#[path = "../../cli/tests/common/browser.rs"] mod browser;`; it needs
//! `tokio`, `tokio-tungstenite`, `futures-util`, `serde_json`, `base64` and
//! `tempfile` as dev-dependencies, and `stampede-output` (the launch flags,
//! `export::pdf::CHROMIUM_FLAGS`, shared with the PDF export). The browser
//! is killed by its PID when the [`Browser`] drops.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// The browser binary: `$CHROMIUM` or Debian's `/usr/bin/chromium`.
pub fn chromium_path() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, String>>>>>;

/// A headless Chromium and its DevTools connection.
pub struct Browser {
    child: Child,
    out: mpsc::UnboundedSender<String>,
    pending: Pending,
    next_id: AtomicU64,
    /// Console errors, uncaught exceptions and CSP violations of every page.
    pub problems: Arc<Mutex<Vec<String>>>,
    _profile: tempfile::TempDir,
}

/// One tab.
pub struct Page<'b> {
    browser: &'b Browser,
    session: String,
}

impl Browser {
    /// Starts the browser with a fresh profile and connects to it.
    pub async fn launch() -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let mut child = Command::new(chromium_path())
            .args(stampede_output::export::pdf::CHROMIUM_FLAGS)
            .args([
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", chromium_path().display()));
        let stderr = child.stderr.take().expect("stderr");
        let (url_tx, url_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    if !sent {
                        let _ = url_tx.send(url.trim().to_owned());
                        sent = true;
                    }
                }
            }
        });
        let url = url_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("chromium printed its DevTools address");
        assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
        let (ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .expect("connect to DevTools");
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(text) = out_rx.recv().await {
                if sink.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
        });
        let pending: Pending = Arc::default();
        let problems: Arc<Mutex<Vec<String>>> = Arc::default();
        let (p, pr) = (pending.clone(), problems.clone());
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                let Message::Text(text) = msg else { continue };
                let Ok(v) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                if let Some(id) = v.get("id").and_then(Value::as_u64) {
                    if let Some(tx) = p.lock().unwrap().remove(&id) {
                        let r = match v.get("error") {
                            Some(e) => Err(e.to_string()),
                            None => Ok(v.get("result").cloned().unwrap_or(Value::Null)),
                        };
                        let _ = tx.send(r);
                    }
                } else {
                    note_problem(&v, &pr);
                }
            }
        });
        Browser {
            child,
            out,
            pending,
            next_id: AtomicU64::new(1),
            problems,
            _profile: profile,
        }
    }

    /// Sends a command (to the browser, or to a page's `session`).
    pub async fn call(&self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        self.out
            .send(msg.to_string())
            .expect("DevTools connection open");
        match tokio::time::timeout(Duration::from_secs(30), rx).await {
            Ok(Ok(Ok(v))) => v,
            Ok(Ok(Err(e))) => panic!("{method} failed: {e}"),
            _ => panic!("{method}: no answer from the browser"),
        }
    }

    /// Opens a new tab.
    pub async fn page(&self) -> Page<'_> {
        let target = self
            .call(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let target_id = target["targetId"].as_str().expect("targetId").to_owned();
        let attached = self
            .call(
                None,
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
            )
            .await;
        let session = attached["sessionId"]
            .as_str()
            .expect("sessionId")
            .to_owned();
        let page = Page {
            browser: self,
            session,
        };
        for domain in ["Page.enable", "Runtime.enable", "Log.enable"] {
            page.call(domain, json!({})).await;
        }
        page
    }

    /// Lets the browser save downloads into `dir`.
    pub async fn allow_downloads(&self, dir: &Path) {
        self.call(
            None,
            "Browser.setDownloadBehavior",
            json!({"behavior": "allow", "downloadPath": dir.display().to_string()}),
        )
        .await;
    }
}

/// Records console errors, exceptions and security (CSP) messages.
fn note_problem(v: &Value, problems: &Mutex<Vec<String>>) {
    let params = &v["params"];
    let text = match v["method"].as_str() {
        Some("Runtime.exceptionThrown") => Some(params["exceptionDetails"].to_string()),
        Some("Log.entryAdded")
            if params["entry"]["level"] == "error" || params["entry"]["source"] == "security" =>
        {
            Some(format!(
                "{}: {}",
                params["entry"]["source"], params["entry"]["text"]
            ))
        }
        Some("Runtime.consoleAPICalled") if params["type"] == "error" => {
            Some(params["args"].to_string())
        }
        _ => None,
    };
    if let Some(t) = text {
        problems.lock().unwrap().push(t);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Page<'_> {
    /// Sends a command to this tab.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.browser.call(Some(&self.session), method, params).await
    }

    /// Navigates and waits for the document to load.
    pub async fn goto(&self, url: &str) {
        self.call("Page.navigate", json!({"url": url})).await;
        self.wait_for(
            "document.readyState === 'complete'",
            Duration::from_secs(30),
        )
        .await;
    }

    /// Evaluates `expr` (awaiting a promise) and returns its JSON value.
    pub async fn eval(&self, expr: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{expr}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Polls `expr` until it is truthy (JavaScript's sense); returns its value.
    pub async fn wait_for(&self, expr: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        let wrapped =
            format!("(() => {{ try {{ return ({expr}); }} catch (e) {{ return null; }} }})()");
        loop {
            let v = self.eval(&wrapped).await;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return v;
            }
            if Instant::now() >= deadline {
                let problems = self.browser.problems.lock().unwrap().clone();
                let body = self
                    .eval("document.body ? document.body.innerText.slice(0, 2000) : ''")
                    .await;
                panic!("timed out waiting for: {expr}\npage problems: {problems:#?}\npage text: {body}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the element matching `selector`.
    pub async fn click(&self, selector: &str) {
        let sel = serde_json::to_string(selector).unwrap();
        self.eval(&format!("document.querySelector({sel}).click()"))
            .await;
    }

    /// Presses and releases a key (`"Enter"`, `"Tab"`, `" "`) on whatever
    /// has the focus, as a keyboard would.
    pub async fn press(&self, key: &str) {
        let (code, vk, text) = match key {
            "Enter" => ("Enter", 13, "\r"),
            "Tab" => ("Tab", 9, ""),
            " " => ("Space", 32, " "),
            other => panic!("no key code for {other:?}"),
        };
        for kind in ["keyDown", "keyUp"] {
            let mut p = json!({"type": kind, "key": key, "code": code,
                "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk});
            if kind == "keyDown" && !text.is_empty() {
                p["text"] = json!(text);
            }
            self.call("Input.dispatchKeyEvent", p).await;
        }
    }

    /// The accessibility tree's (not ignored) nodes with `role`, each as
    /// `(accessible name, node JSON)`.
    pub async fn ax_nodes(&self, role: &str) -> Vec<(String, Value)> {
        let tree = self.call("Accessibility.getFullAXTree", json!({})).await;
        tree["nodes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|n| n["role"]["value"] == role && n["ignored"] != Value::Bool(true))
            .map(|n| {
                let name = n["name"]["value"].as_str().unwrap_or("").trim().to_owned();
                (name, n.clone())
            })
            .collect()
    }

    /// Sets the viewport (CSS pixels); `mobile` emulates a phone.
    pub async fn viewport(&self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await;
    }

    /// Emulates the system's colour-scheme preference.
    pub async fn color_scheme(&self, dark: bool) {
        let value = if dark { "dark" } else { "light" };
        self.call(
            "Emulation.setEmulatedMedia",
            json!({"features": [{"name": "prefers-color-scheme", "value": value}]}),
        )
        .await;
    }

    /// Saves a PNG of the whole page.
    pub async fn screenshot(&self, path: &Path) {
        let shot = self
            .call(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true}),
            )
            .await;
        let data = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().expect("png data"))
            .expect("base64");
        std::fs::create_dir_all(path.parent().expect("parent")).expect("screenshot dir");
        std::fs::write(path, data).expect("write screenshot");
    }

    /// Closes the tab.
    pub async fn close(self) {
        let _ = self.call("Page.close", json!({})).await;
    }
}
