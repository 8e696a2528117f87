//! WebSocket servers for the engine's WebSocket tests, on loopback ports and
//! their own thread: an echo (with a few commands) and a broadcast room.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

/// Connections a server holds open right now and has accepted in all.
#[derive(Default)]
pub struct Counts {
    pub open: AtomicUsize,
    pub total: AtomicUsize,
}

impl Counts {
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    pub fn total(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }

    /// Waits (up to 5 s) until no connection is open.
    pub fn wait_all_closed(&self) -> bool {
        for _ in 0..500 {
            if self.open() == 0 {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

/// Decrements `open` when a connection's task ends.
struct Open(Arc<Counts>);

impl Open {
    fn new(c: &Arc<Counts>) -> Self {
        c.open.fetch_add(1, Ordering::SeqCst);
        c.total.fetch_add(1, Ordering::SeqCst);
        Open(c.clone())
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A server on its own thread; stops with the test process.
pub struct WsServer {
    pub addr: SocketAddr,
    pub counts: Arc<Counts>,
}

impl WsServer {
    /// `ws://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("ws://{}", self.addr)
    }
}

fn start<F, Fut>(serve: F) -> WsServer
where
    F: Fn(tokio::net::TcpStream, Arc<Counts>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let counts = Arc::new(Counts::default());
    let c = counts.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let serve = Arc::new(serve);
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(serve(tcp, c.clone()));
            }
        });
    });
    WsServer {
        addr: rx.recv().unwrap(),
        counts,
    }
}

/// Echoes text and binary messages. Text commands: `close CODE REASON`
/// (closes with that code), `ping DATA` (sends a ping), `binary N` (N bytes
/// 0, 1, 2...), `drop` (ends the connection without a close frame),
/// `headers` (answers the upgrade request's `Cookie`, `User-Agent` and
/// `X-Token` headers as `name=value` lines).
/// Subprotocol `chat` is accepted when offered.
// tungstenite's handshake callback returns its (large) error response.
#[allow(clippy::result_large_err)]
pub fn echo() -> WsServer {
    start(|tcp, counts| async move {
        let seen = Arc::new(std::sync::Mutex::new(String::new()));
        let record = seen.clone();
        let callback =
            move |req: &tokio_tungstenite::tungstenite::handshake::server::Request,
                  mut res: tokio_tungstenite::tungstenite::handshake::server::Response| {
                let mut lines = record.lock().unwrap();
                for name in ["cookie", "user-agent", "x-token"] {
                    if let Some(v) = req.headers().get(name).and_then(|v| v.to_str().ok()) {
                        lines.push_str(&format!("{name}={v}\n"));
                    }
                }
                let offered = req
                    .headers()
                    .get("Sec-WebSocket-Protocol")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                if offered.split(',').any(|p| p.trim() == "chat") {
                    res.headers_mut()
                        .insert("Sec-WebSocket-Protocol", "chat".parse().unwrap());
                }
                Ok(res)
            };
        let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
            return;
        };
        let _open = Open::new(&counts);
        while let Some(Ok(m)) = ws.next().await {
            let reply = match m {
                Message::Text(t) => {
                    let t = t.as_str();
                    if let Some(rest) = t.strip_prefix("close ") {
                        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
                        Message::Close(Some(CloseFrame {
                            code: CloseCode::from(code.parse::<u16>().unwrap()),
                            reason: reason.to_string().into(),
                        }))
                    } else if let Some(data) = t.strip_prefix("ping ") {
                        Message::Ping(data.as_bytes().to_vec().into())
                    } else if let Some(n) = t.strip_prefix("binary ") {
                        let n: usize = n.parse().unwrap();
                        Message::Binary((0..n).map(|i| i as u8).collect::<Vec<u8>>().into())
                    } else if t == "drop" {
                        return;
                    } else if t == "headers" {
                        let lines = seen.lock().unwrap().clone();
                        Message::Text(lines.into())
                    } else {
                        Message::Text(t.into())
                    }
                }
                m @ Message::Binary(_) => m,
                _ => continue,
            };
            if ws.send(reply).await.is_err() {
                return;
            }
        }
    })
}

/// A room: every text message a client sends goes to every connected
/// client (the sender included), prefixed with the number of clients
/// connected: `N:text`.
pub fn broadcast() -> WsServer {
    let (tx, _) = broadcast::channel::<String>(1024);
    start(move |tcp, counts| {
        let tx = tx.clone();
        async move {
            let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                return;
            };
            let _open = Open::new(&counts);
            let mut rx = tx.subscribe();
            let (mut sink, mut stream) = ws.split();
            loop {
                tokio::select! {
                    m = stream.next() => match m {
                        Some(Ok(Message::Text(t))) => {
                            let _ = tx.send(format!("{}:{}", counts.open(), t.as_str()));
                        }
                        Some(Ok(_)) => {}
                        _ => return,
                    },
                    b = rx.recv() => match b {
                        Ok(text) => {
                            if sink.send(Message::Text(text.into())).await.is_err() {
                                return;
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(_) => return,
                    },
                }
            }
        }
    })
}
