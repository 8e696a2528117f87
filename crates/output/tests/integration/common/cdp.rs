//! Headless Chromium driven over the DevTools protocol (a blocking
//! WebSocket): navigate, evaluate, emulate a phone, capture full-page
//! screenshots, and record console messages, exceptions and network
//! requests while doing so.

use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use super::servers::{http, Proc};

/// A Chromium process and a DevTools session on its page.
pub struct Browser {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
    /// Every event received, in order.
    pub events: Vec<Value>,
    // Declared last: the socket closes before the process is killed.
    _proc: Proc,
}

impl Browser {
    /// Starts `exe` headless with a fresh profile in `dir`.
    pub fn launch(exe: &Path, dir: &Path) -> Browser {
        let profile = dir.join("profile");
        let mut cmd = Command::new(exe);
        cmd.args(stampede_output::export::pdf::CHROMIUM_FLAGS)
            .args([
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank");
        let mut proc = Proc::spawn("chromium", cmd, &dir.join("chromium.log"));
        let port_file = profile.join("DevToolsActivePort");
        proc.wait_until("listening for DevTools", Duration::from_secs(30), || {
            std::fs::read_to_string(&port_file).is_ok_and(|s| s.lines().count() >= 2)
        });
        let port: u16 = std::fs::read_to_string(&port_file)
            .unwrap()
            .lines()
            .next()
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let mut page_ws = None;
        let start = Instant::now();
        while page_ws.is_none() && start.elapsed() < Duration::from_secs(10) {
            if let Some((200, body)) = http("GET", port, "/json/list", b"", &[]) {
                let list: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                page_ws = list
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|t| t["type"] == "page")
                    .and_then(|t| t["webSocketDebuggerUrl"].as_str().map(str::to_owned));
            }
            if page_ws.is_none() {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let url = page_ws.unwrap_or_else(|| panic!("no page target:\n{}", proc.log()));
        let (ws, _) = tungstenite::connect(url.as_str()).expect("DevTools WebSocket");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        }
        let mut b = Browser {
            ws,
            next_id: 0,
            events: Vec::new(),
            _proc: proc,
        };
        for domain in ["Page", "Runtime", "Log", "Network"] {
            b.call(&format!("{domain}.enable"), json!({}));
        }
        b
    }

    fn read(&mut self) -> Value {
        loop {
            match self.ws.read().expect("DevTools message") {
                Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
                Message::Close(_) => panic!("DevTools closed the connection"),
                _ => continue,
            }
        }
    }

    /// Calls `method` and returns its `result` (panics on a protocol error).
    pub fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let msg = json!({"id": id, "method": method, "params": params});
        self.ws
            .send(Message::Text(msg.to_string().into()))
            .expect("send to DevTools");
        loop {
            let v = self.read();
            if v["id"] == id {
                if let Some(err) = v.get("error") {
                    panic!("{method}: {err}");
                }
                return v["result"].clone();
            }
            self.events.push(v);
        }
    }

    /// Waits for event `method` (one received since the last wait counts).
    pub fn wait_event(&mut self, method: &str, timeout: Duration) -> Value {
        let start = Instant::now();
        if let Some(i) = self.events.iter().position(|e| e["method"] == method) {
            return self.events.remove(i);
        }
        while start.elapsed() < timeout {
            let v = self.read();
            if v["method"] == method {
                return v;
            }
            self.events.push(v);
        }
        panic!("no {method} within {timeout:?}");
    }

    /// Loads `url` and waits for its load event.
    pub fn navigate(&mut self, url: &str) {
        self.events.clear();
        self.call("Page.navigate", json!({ "url": url }));
        self.wait_event("Page.loadEventFired", Duration::from_secs(30));
        // Let late console messages arrive.
        self.eval("new Promise(r => setTimeout(r, 200))");
    }

    /// Evaluates `expr` in the page (awaiting promises) and returns its value.
    pub fn eval(&mut self, expr: &str) -> Value {
        let r = self.call(
            "Runtime.evaluate",
            json!({"expression": expr, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{expr}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// The viewport: `width` CSS pixels wide, as a phone (`mobile`) or not.
    pub fn viewport(&mut self, width: u32, height: u32, mobile: bool) {
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        );
    }

    /// A PNG of the whole page.
    pub fn screenshot(&mut self) -> Vec<u8> {
        let m = self.call("Page.getLayoutMetrics", json!({}));
        let size = &m["cssContentSize"];
        let (w, h) = (
            size["width"].as_f64().unwrap(),
            size["height"].as_f64().unwrap(),
        );
        let r = self.call(
            "Page.captureScreenshot",
            json!({"format": "png", "captureBeyondViewport": true,
                   "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1}}),
        );
        base64::engine::general_purpose::STANDARD
            .decode(r["data"].as_str().unwrap())
            .unwrap()
    }

    /// Console messages (any level), uncaught exceptions and browser log
    /// errors received so far.
    pub fn console(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|e| match e["method"].as_str()? {
                "Runtime.consoleAPICalled" => Some(format!(
                    "console.{}: {}",
                    e["params"]["type"].as_str().unwrap_or("?"),
                    e["params"]["args"]
                )),
                "Runtime.exceptionThrown" => {
                    Some(format!("exception: {}", e["params"]["exceptionDetails"]))
                }
                "Log.entryAdded" => Some(format!(
                    "log.{}: {}",
                    e["params"]["entry"]["level"].as_str().unwrap_or("?"),
                    e["params"]["entry"]["text"]
                )),
                _ => None,
            })
            .collect()
    }

    /// URLs the page requested so far.
    pub fn requests(&self) -> Vec<String> {
        self.events
            .iter()
            .filter(|e| e["method"] == "Network.requestWillBeSent")
            .filter_map(|e| e["params"]["request"]["url"].as_str().map(str::to_owned))
            .collect()
    }
}
