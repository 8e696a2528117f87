//! Starting a demo target for a test, and JSON requests against it.

use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http_body_util::Full;
use serde_json::Value;
use stampede_demo::{DemoConfig, DemoTarget};

use crate::client::{req, Conn, Resp};

/// A small, fast configuration on a free loopback port.
pub fn config() -> DemoConfig {
    DemoConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        products: 200,
        task_duration: Duration::from_millis(300),
        ..DemoConfig::default()
    }
}

/// A target with [`config`] changed by `change`.
pub async fn start_with(change: impl FnOnce(&mut DemoConfig)) -> DemoTarget {
    let mut cfg = config();
    change(&mut cfg);
    DemoTarget::start(cfg).await.unwrap()
}

pub async fn start() -> DemoTarget {
    start_with(|_| {}).await
}

/// A keep-alive client of one target.
pub struct Client {
    conn: Conn,
    /// Sent as `Authorization: Bearer` when set.
    pub token: Option<String>,
}

impl Client {
    pub async fn new(target: &DemoTarget) -> Client {
        Client {
            conn: Conn::open(target.addr()).await,
            token: None,
        }
    }

    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut b = req(method, path);
        if let Some(token) = &self.token {
            b = b.header("authorization", format!("Bearer {token}"));
        }
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Full::new(Bytes::from(v.to_string()))
            }
            None => Full::default(),
        };
        self.conn.send(b.body(body).unwrap()).await
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.request(Method::GET, path, None, &[]).await
    }

    pub async fn post(&mut self, path: &str, body: Value) -> Resp {
        self.request(Method::POST, path, Some(&body), &[]).await
    }

    /// A raw body with a content type.
    pub async fn post_raw(&mut self, path: &str, content_type: &str, body: &str) -> Resp {
        let mut b = req(Method::POST, path).header("content-type", content_type);
        if let Some(token) = &self.token {
            b = b.header("authorization", format!("Bearer {token}"));
        }
        let body = Full::new(Bytes::from(body.to_string()));
        self.conn.send(b.body(body).unwrap()).await
    }
}

/// The `error` message of a JSON error response.
pub fn error_of(resp: &Resp) -> String {
    resp.json()["error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
