//! Unit tests of the WebSocket client: close texts, frames, handshakes.

use super::*;

#[test]
fn close_error_texts_match_gorilla() {
    assert_eq!(close_error_text(4001, "bye"), "websocket: close 4001: bye");
    assert_eq!(
        close_error_text(1006, "unexpected EOF"),
        "websocket: close 1006 (abnormal closure): unexpected EOF"
    );
    assert_eq!(close_error_text(1000, ""), "websocket: close 1000 (normal)");
}

#[test]
fn only_ws_urls() {
    let u = |s: &str| Url::parse(s).unwrap();
    assert_eq!(
        http_equivalent(&u("ws://h:1/p?q=1")).unwrap().0.as_str(),
        "http://h:1/p?q=1"
    );
    assert!(http_equivalent(&u("wss://h/")).unwrap().1);
    assert!(http_equivalent(&u("http://h/")).is_err());
    assert!(http_equivalent(&u("ws://u:p@h/")).is_err());
}

#[test]
fn upgrade_request_head() {
    let mut req = WsRequest::new(Url::parse("ws://example.test:8080/chat?x=1").unwrap());
    req.headers.push(("x-custom".into(), "1".into()));
    req.subprotocols.push("chat".into());
    let url = http_equivalent(&req.url).unwrap().0;
    let head = request_head(&ClientConfig::default(), &req, &url, None, "KEY").unwrap();
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with(
        "GET /chat?x=1 HTTP/1.1\r\nHost: example.test:8080\r\nUser-Agent: Grafana k6/1.1.0\r\n"
    ));
    for line in [
        "Connection: Upgrade\r\n",
        "Sec-WebSocket-Key: KEY\r\n",
        "Sec-WebSocket-Protocol: chat\r\n",
        "Sec-WebSocket-Version: 13\r\n",
        "Upgrade: websocket\r\n",
        "X-Custom: 1\r\n",
    ] {
        assert!(head.contains(line), "{line:?} in {head}");
    }
    req.headers.push(("upgrade".into(), "x".into()));
    assert_eq!(
        request_head(&ClientConfig::default(), &req, &url, None, "KEY")
            .unwrap_err()
            .0,
        "websocket: duplicate header not allowed: Upgrade"
    );
}

/// An echo server: text and binary back, `close CODE` closes with that
/// code, anything else after the upgrade is answered by tungstenite.
async fn echo_server() -> SocketAddr {
    use futures_util::{SinkExt, StreamExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                ws.send(Message::Text("hi".into())).await.unwrap();
                while let Some(Ok(m)) = ws.next().await {
                    let reply = match m {
                        Message::Text(t) if t.as_str().starts_with("close ") => {
                            let code: u16 = t.as_str()[6..].parse().unwrap();
                            Message::Close(Some(CloseFrame {
                                code: CloseCode::from(code),
                                reason: "bye".into(),
                            }))
                        }
                        m @ (Message::Text(_) | Message::Binary(_)) => m,
                        _ => continue,
                    };
                    if ws.send(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn echo_ping_and_server_close() {
    rt().block_on(async {
        let addr = echo_server().await;
        let client = Client::new(ClientConfig::default()).unwrap();
        let url = Url::parse(&format!("ws://{addr}/")).unwrap();
        let open = connect(&client, WsRequest::new(url), None).await;
        assert_eq!(open.response.as_ref().unwrap().status, 101);
        let mut sock = open.socket.unwrap();
        // A message sent right after the 101, in the same packet.
        assert_eq!(sock.next().await, WsEvent::Text("hi".into()));
        let tx = sock.sender();
        tx.text("hello".into()).unwrap();
        tx.binary(vec![1, 2, 3]).unwrap();
        tx.ping(b"7".to_vec()).unwrap();
        assert_eq!(tx.buffered(), 8);
        assert_eq!(sock.next().await, WsEvent::Text("hello".into()));
        assert_eq!(tx.buffered(), 0);
        assert_eq!(
            sock.next().await,
            WsEvent::Binary(Bytes::from_static(&[1, 2, 3]))
        );
        assert_eq!(sock.next().await, WsEvent::Pong(Bytes::from_static(b"7")));
        tx.text("close 4001".into()).unwrap();
        let closed = sock.next().await;
        assert_eq!(
            closed,
            WsEvent::Closed(WsClosed::Frame {
                code: 4001,
                reason: "bye".into()
            })
        );
        let (sent, received) = sock.bytes();
        assert!(sent > 100 && received > 100, "{sent} {received}");
    });
}

#[test]
fn client_close_is_answered() {
    rt().block_on(async {
        let addr = echo_server().await;
        let client = Client::new(ClientConfig::default()).unwrap();
        let url = Url::parse(&format!("ws://{addr}/")).unwrap();
        let mut sock = connect(&client, WsRequest::new(url), None)
            .await
            .socket
            .unwrap();
        assert_eq!(sock.next().await, WsEvent::Text("hi".into()));
        let tx = sock.sender();
        tx.close(1000, "done").unwrap();
        assert_eq!(
            tx.text("late".into()).unwrap_err().0,
            "websocket: close sent"
        );
        match sock.next().await {
            WsEvent::Closed(WsClosed::Frame { code: 1000, .. }) => {}
            other => panic!("{other:?}"),
        }
    });
}

#[test]
fn refused_and_failed_upgrades() {
    rt().block_on(async {
        let client = Client::new(ClientConfig::default()).unwrap();
        // Nothing listens on port 1.
        let url = Url::parse("ws://127.0.0.1:1/").unwrap();
        let open = connect(&client, WsRequest::new(url), None).await;
        assert_eq!(
            open.socket.unwrap_err().0,
            "dial tcp 127.0.0.1:1: connect: connection refused"
        );
        assert!(open.response.is_none());
        // A plain HTTP server answers the upgrade with a 404.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut tcp, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = tcp.read(&mut buf).await;
            let _ = tcp
                .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\nX-A: 1\r\n\r\nnope")
                .await;
        });
        let url = Url::parse(&format!("ws://{addr}/x")).unwrap();
        let open = connect(&client, WsRequest::new(url), None).await;
        assert_eq!(open.socket.unwrap_err().0, "websocket: bad handshake");
        let r = open.response.unwrap();
        assert_eq!(r.status, 404);
        assert_eq!(r.body.as_ref(), b"nope");
        assert_eq!(r.headers.get("X-A"), Some("1"));
        assert!(open.bytes.0 > 0 && open.bytes.1 > 0);
    });
}
