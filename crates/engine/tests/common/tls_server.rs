//! A keep-alive HTTPS/1.1 server on loopback for the TLS tests.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

/// Serves `config` on a free loopback port, answering every request head of
/// a connection with a 200 whose body is `body(&connection)`; the port.
pub fn serve(
    config: Arc<rustls::ServerConfig>,
    body: impl Fn(&rustls::ServerConnection) -> String + Send + Sync + 'static,
) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = Arc::new(body);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut tcp) = stream else { return };
            let (config, body) = (config.clone(), body.clone());
            std::thread::spawn(move || {
                let mut conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                // Keep-alive: answer every request head until the client leaves.
                loop {
                    let n = match tls.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    head.extend_from_slice(&buf[..n]);
                    while let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                        head.drain(..end + 4);
                        let text = body(tls.conn);
                        let reply = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{text}",
                            text.len()
                        );
                        if tls.write_all(reply.as_bytes()).is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    port
}
