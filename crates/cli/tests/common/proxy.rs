//! A loopback TCP relay for UI tests that must lose their connection: the
//! browser talks to the server through it, and [`Relay::cut`] closes every
//! relayed connection and refuses new ones for a while, as a server restart
//! or a network blip would.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::copy_bidirectional;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running relay.
pub struct Relay {
    addr: SocketAddr,
    /// How many cuts so far, and until when new connections are refused.
    cut: Arc<watch::Sender<(u64, Option<Instant>)>>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Relays `127.0.0.1:<free port>` to `target`.
    pub async fn start(target: SocketAddr) -> Relay {
        assert!(target.ip().is_loopback(), "relay to loopback only");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let addr = listener.local_addr().expect("relay address");
        let cut = Arc::new(watch::channel((0u64, None::<Instant>)).0);
        let c = cut.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let (generation, refuse_until) = *c.borrow();
                if refuse_until.is_some_and(|until| Instant::now() < until) {
                    drop(inbound);
                    continue;
                }
                let mut cut_rx = c.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut_rx.wait_for(|c| c.0 != generation) => {}
                    }
                });
            }
        });
        Relay { addr, cut, task }
    }

    /// The relay's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Closes every relayed connection and refuses new ones for `pause`.
    pub fn cut(&self, pause: Duration) {
        self.cut
            .send_modify(|c| *c = (c.0 + 1, Some(Instant::now() + pause)));
    }

    /// Accepts connections again before the pause ends.
    pub fn restore(&self) {
        self.cut.send_modify(|c| c.1 = None);
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}
