//! Task status over WebSocket (seed 004).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use stampede_demo::DemoTarget;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

use crate::common::{start, Client};
use crate::tasks::user;

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(20);

fn ws_url(target: &DemoTarget, query: &str) -> String {
    format!("ws://{}/ws{query}", target.addr())
}

async fn connect(target: &DemoTarget, token: &str) -> Ws {
    connect_async(ws_url(target, &format!("?token={token}")))
        .await
        .unwrap()
        .0
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::text(v.to_string())).await.unwrap();
}

/// The next text message as JSON.
async fn next(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time")
            .expect("socket open")
            .unwrap();
        match msg {
            Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Status messages for `task` until it completes or fails.
async fn follow_to_the_end(ws: &mut Ws, task: &str) -> Vec<(String, u64)> {
    let mut seen = Vec::new();
    loop {
        let m = next(ws).await;
        assert_eq!(m["type"], "status", "{m}");
        assert_eq!(m["taskId"], task);
        let status = m["status"].as_str().unwrap().to_string();
        seen.push((status.clone(), m["progress"].as_u64().unwrap()));
        if status == "completed" || status == "failed" {
            return seen;
        }
    }
}

fn assert_ordered(seen: &[(String, u64)]) {
    let rank = |s: &str| match s {
        "queued" => 0,
        "processing" => 1,
        "completed" | "failed" => 2,
        other => panic!("unknown status {other}"),
    };
    for w in seen.windows(2) {
        assert!(rank(&w[0].0) <= rank(&w[1].0), "{seen:?}");
        assert!(w[0].1 <= w[1].1, "progress went back: {seen:?}");
    }
    assert_eq!(
        seen.last().unwrap(),
        &("completed".to_string(), 100),
        "{seen:?}"
    );
}

async fn new_task(c: &mut Client) -> String {
    let r = c.post("/tasks", json!({"type": "generate-pdf"})).await;
    assert_eq!(r.status, 201);
    r.json()["taskId"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn subscribe_receives_ordered_updates_to_completion() {
    let target = start().await;
    let (mut c, tokens) = user(&target, "ws@example.com").await;
    let mut ws = connect(&target, tokens["accessToken"].as_str().unwrap()).await;
    let task = new_task(&mut c).await;
    send(&mut ws, json!({"type": "subscribe", "taskId": task})).await;
    let first = next(&mut ws).await;
    assert_eq!(first["taskType"], "generate-pdf");
    assert_eq!(first["taskId"], task.as_str());
    let mut seen = vec![(
        first["status"].as_str().unwrap().to_string(),
        first["progress"].as_u64().unwrap(),
    )];
    if !matches!(first["status"].as_str(), Some("completed" | "failed")) {
        seen.extend(follow_to_the_end(&mut ws, &task).await);
    }
    assert_ordered(&seen);
    assert!(seen.iter().any(|(s, _)| s == "processing"), "{seen:?}");

    // Subscribing to a finished task answers its final status once.
    send(&mut ws, json!({"type": "subscribe", "taskId": task})).await;
    let last = next(&mut ws).await;
    assert_eq!(last["status"], "completed");
    assert!(last["result"]["url"].is_string());
    send(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(next(&mut ws).await["type"], "pong");
}

#[tokio::test]
async fn authenticates_by_header_or_first_message() {
    let target = start().await;
    let (mut c, tokens) = user(&target, "auth@example.com").await;
    let token = tokens["accessToken"].as_str().unwrap();

    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        ws_url(&target, ""),
    )
    .unwrap();
    req.headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut by_header, _) = connect_async(req).await.unwrap();
    send(&mut by_header, json!({"type": "ping"})).await;
    assert_eq!(next(&mut by_header).await["type"], "pong");

    let (mut by_message, _) = connect_async(ws_url(&target, "")).await.unwrap();
    send(&mut by_message, json!({"type": "auth", "token": token})).await;
    let ack = next(&mut by_message).await;
    assert_eq!(ack["type"], "authenticated");
    assert_eq!(ack["userId"], tokens["user"]["id"]);
    let task = new_task(&mut c).await;
    send(
        &mut by_message,
        json!({"type": "subscribe", "taskId": task}),
    )
    .await;
    let seen = follow_to_the_end(&mut by_message, &task).await;
    assert_ordered(&seen);
}

/// Seed 004 connects to the bare host: `/` upgrades too, and otherwise
/// answers an index.
#[tokio::test]
async fn the_root_path_upgrades_too() {
    let target = start().await;
    let (mut c, tokens) = user(&target, "root@example.com").await;
    let token = tokens["accessToken"].as_str().unwrap();
    let url = format!("ws://{}/?token={token}", target.addr());
    let (mut ws, _) = connect_async(url).await.unwrap();
    send(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(next(&mut ws).await["type"], "pong");
    let index = c.get("/").await;
    assert_eq!(index.status, 200);
    assert_eq!(index.json()["name"], "stampede demo target");
}

#[tokio::test]
async fn bad_tokens_are_refused() {
    let target = start().await;
    match connect_async(ws_url(&target, "?token=at_forged")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 401),
        other => panic!("expected a 401, got {other:?}"),
    }
    // A bad auth message closes the socket with 4401.
    let (mut ws, _) = connect_async(ws_url(&target, "")).await.unwrap();
    send(&mut ws, json!({"type": "auth", "token": "at_forged"})).await;
    let msg = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match msg {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), 4401),
        other => panic!("expected a close, got {other:?}"),
    }
    // So does subscribing before authenticating.
    let (mut ws, _) = connect_async(ws_url(&target, "")).await.unwrap();
    send(&mut ws, json!({"type": "subscribe", "taskId": "x"})).await;
    let msg = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(matches!(msg, Message::Close(Some(_))), "{msg:?}");
}

#[tokio::test]
async fn errors_keep_the_socket_open() {
    let target = start().await;
    let (_, tokens) = user(&target, "err@example.com").await;
    let (mut other, _) = user(&target, "other@example.com").await;
    let theirs = new_task(&mut other).await;
    let mut ws = connect(&target, tokens["accessToken"].as_str().unwrap()).await;
    send(
        &mut ws,
        json!({"type": "subscribe", "taskId": "no-such-task"}),
    )
    .await;
    let m = next(&mut ws).await;
    assert_eq!(
        (m["type"].as_str(), m["error"].as_str()),
        (Some("error"), Some("task not found"))
    );
    // Another user's task is not visible either.
    send(&mut ws, json!({"type": "subscribe", "taskId": theirs})).await;
    assert_eq!(next(&mut ws).await["error"], "task not found");
    ws.send(Message::text("not json")).await.unwrap();
    assert_eq!(next(&mut ws).await["type"], "error");
    send(&mut ws, json!({"type": "subscribe"})).await;
    assert_eq!(next(&mut ws).await["error"], "taskId is required");
    send(&mut ws, json!({"type": "dance"})).await;
    assert_eq!(next(&mut ws).await["type"], "error");
    send(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(next(&mut ws).await["type"], "pong");
}

/// Many sockets following one task each get it to completion, and the
/// gauge counts them while open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_sockets_follow_one_task() {
    const SOCKETS: usize = 200;
    let target = start().await;
    let (mut c, tokens) = user(&target, "many@example.com").await;
    let token = tokens["accessToken"].as_str().unwrap().to_string();
    let mut sockets = Vec::new();
    for _ in 0..SOCKETS {
        sockets.push(connect(&target, &token).await);
    }
    let gauge = |text: String| {
        text.lines()
            .find_map(|l| l.strip_prefix("websocket_connections_active "))
            .map(|v| v.parse::<u64>().unwrap())
    };
    // Registered on the server once each upgrade completes: poll, bounded.
    let mut open = None;
    for _ in 0..1000 {
        open = gauge(c.get("/metrics").await.text());
        if open == Some(SOCKETS as u64) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(open, Some(SOCKETS as u64));

    let task = new_task(&mut c).await;
    let handles: Vec<_> = sockets
        .into_iter()
        .map(|mut ws| {
            let task = task.clone();
            tokio::spawn(async move {
                send(&mut ws, json!({"type": "subscribe", "taskId": task})).await;
                let seen = follow_to_the_end(&mut ws, &task).await;
                assert_ordered(&seen);
                ws.close(None).await.unwrap();
            })
        })
        .collect();
    for h in handles {
        h.await.unwrap();
    }
    let mut closed = None;
    for _ in 0..1000 {
        closed = gauge(c.get("/metrics").await.text());
        if closed == Some(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(closed, Some(0));
}

#[tokio::test]
async fn a_client_close_gets_a_close_reply() {
    let target = start().await;
    let (_c, tokens) = user(&target, "closer@example.com").await;
    let mut ws = connect(&target, tokens["accessToken"].as_str().unwrap()).await;
    ws.send(Message::Close(None)).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .unwrap();
    assert!(
        matches!(reply, Some(Ok(Message::Close(_)))),
        "expected the server's Close frame, got {reply:?}"
    );
}
