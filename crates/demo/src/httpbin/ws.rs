//! `GET /ws/echo`: a WebSocket echo for the WebSocket clients' tests (not in
//! httpbin).
//!
//! Text and binary messages come back as they were sent; client pings are
//! answered with pongs by the protocol layer. A few text commands make the
//! server do what an echo alone cannot:
//!
//! | message | what the server does |
//! | --- | --- |
//! | `!close CODE [REASON]` | closes with that code and reason |
//! | `!ping [DATA]` | sends a ping carrying `DATA` |
//! | `!binary N` | sends `N` bytes `0, 1, 2, ...` as a binary message |
//! | `!burst N [TEXT]` | sends `TEXT` (default `burst`) `N` times |
//! | `!drop` | drops the connection without a close frame |
//!
//! `?greeting=TEXT` sends `TEXT` as soon as the socket opens. Of the
//! subprotocols a client offers, `chat` and `echo` are accepted (the first
//! offered wins).

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::Query;
use axum::response::Response;
use bytes::Bytes;
use serde::Deserialize;

/// Subprotocols the echo accepts.
const PROTOCOLS: [&str; 2] = ["chat", "echo"];
/// Most messages one `!burst` or bytes one `!binary` may ask for.
const MAX_BURST: usize = 10_000;
const MAX_BINARY: usize = 1 << 20;

#[derive(Deserialize)]
pub(crate) struct EchoQuery {
    greeting: Option<String>,
}

/// `GET /ws/echo`.
pub(crate) async fn echo(ws: WebSocketUpgrade, Query(q): Query<EchoQuery>) -> Response {
    ws.protocols(PROTOCOLS)
        .on_upgrade(move |socket| serve(socket, q.greeting))
}

async fn serve(mut socket: WebSocket, greeting: Option<String>) {
    if let Some(g) = greeting {
        if socket.send(Message::Text(g.into())).await.is_err() {
            return;
        }
    }
    while let Some(Ok(msg)) = socket.recv().await {
        let replies = match msg {
            Message::Text(t) => match command(t.as_str()) {
                Some(Command::Drop) => return,
                Some(Command::Send(replies)) => replies,
                None => vec![Message::Text(t)],
            },
            Message::Binary(b) => vec![Message::Binary(b)],
            // Pings are answered by the protocol layer.
            Message::Ping(_) | Message::Pong(_) => continue,
            // The protocol layer answers the close frame; the loop then ends.
            Message::Close(_) => continue,
        };
        for reply in replies {
            let closing = matches!(reply, Message::Close(_));
            if socket.send(reply).await.is_err() {
                return;
            }
            if closing {
                // Wait for the client's close frame (or its going away).
                while let Some(Ok(_)) = socket.recv().await {}
                return;
            }
        }
    }
}

enum Command {
    Send(Vec<Message>),
    Drop,
}

/// Parses a `!command`; anything else is echoed.
fn command(text: &str) -> Option<Command> {
    let rest = text.strip_prefix('!')?;
    let (name, args) = rest.split_once(' ').unwrap_or((rest, ""));
    let number = |s: &str, max: usize| s.trim().parse::<usize>().ok().map(|n| n.min(max));
    Some(match name {
        "close" => {
            let (code, reason) = args.split_once(' ').unwrap_or((args, ""));
            let code = code.trim().parse::<u16>().unwrap_or(1000);
            Command::Send(vec![Message::Close(Some(CloseFrame {
                code,
                reason: reason.to_string().into(),
            }))])
        }
        "ping" => Command::Send(vec![Message::Ping(Bytes::from(args.to_string()))]),
        "binary" => {
            let n = number(args, MAX_BINARY)?;
            let data: Vec<u8> = (0..n).map(|i| i as u8).collect();
            Command::Send(vec![Message::Binary(data.into())])
        }
        "burst" => {
            let (n, body) = args.split_once(' ').unwrap_or((args, "burst"));
            let n = number(n, MAX_BURST)?;
            Command::Send(
                (0..n)
                    .map(|_| Message::Text(body.to_string().into()))
                    .collect(),
            )
        }
        "drop" => Command::Drop,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert!(command("hello").is_none());
        assert!(command("!unknown x").is_none());
        assert!(matches!(command("!drop"), Some(Command::Drop)));
        match command("!close 4001 bye now") {
            Some(Command::Send(m)) => match &m[..] {
                [Message::Close(Some(f))] => {
                    assert_eq!(f.code, 4001);
                    assert_eq!(f.reason.as_str(), "bye now");
                }
                other => panic!("{other:?}"),
            },
            _ => panic!("close"),
        }
        match command("!burst 3 hi") {
            Some(Command::Send(m)) => assert_eq!(m.len(), 3),
            _ => panic!("burst"),
        }
        match command("!binary 4") {
            Some(Command::Send(m)) => {
                assert!(matches!(&m[..], [Message::Binary(b)] if b.as_ref() == [0, 1, 2, 3]))
            }
            _ => panic!("binary"),
        }
    }
}
