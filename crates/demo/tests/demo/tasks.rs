//! The task service's HTTP endpoints (seed 004).

use std::time::Duration;

use http::Method;
use serde_json::{json, Value};
use stampede_demo::DemoTarget;

use crate::common::{error_of, start, start_with, Client};

/// Registers `email` and logs in; the client carries the access token.
pub async fn user(target: &DemoTarget, email: &str) -> (Client, Value) {
    let mut c = Client::new(target).await;
    let r = c
        .post(
            "/auth/register",
            json!({"email": email, "password": "testpassword123"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = c
        .post(
            "/auth/login",
            json!({"email": email, "password": "testpassword123"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let tokens = r.json();
    c.token = Some(tokens["accessToken"].as_str().unwrap().to_string());
    (c, tokens)
}

#[tokio::test]
async fn register_and_login() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    let r = c
        .post(
            "/auth/register",
            json!({"email": "loadtest1@example.com", "password": "testpassword123", "id": "user-1"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let u = r.json();
    assert_eq!(u["email"], "loadtest1@example.com");
    assert_eq!(u["name"], "loadtest1");
    let again = c
        .post(
            "/auth/register",
            json!({"email": "LoadTest1@example.com", "password": "testpassword123"}),
        )
        .await;
    assert_eq!(again.status, 409);
    for bad in [
        json!({"email": "nobody", "password": "testpassword123"}),
        json!({"email": "x@example.com", "password": "123"}),
        json!({"password": "testpassword123"}),
    ] {
        assert_eq!(
            c.post("/auth/register", bad.clone()).await.status,
            400,
            "{bad}"
        );
    }

    let r = c
        .post(
            "/auth/login",
            json!({"email": "loadtest1@example.com", "password": "testpassword123"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let t = r.json();
    assert!(t["accessToken"].as_str().unwrap().starts_with("at_"));
    assert!(t["refreshToken"].as_str().unwrap().starts_with("rt_"));
    assert_eq!(t["tokenType"], "Bearer");
    assert_eq!(t["expiresIn"], 900);
    assert_eq!(t["user"]["id"], u["id"]);

    let wrong = c
        .post(
            "/auth/login",
            json!({"email": "loadtest1@example.com", "password": "nope"}),
        )
        .await;
    assert_eq!(wrong.status, 401);
    let unknown = c
        .post(
            "/auth/login",
            json!({"email": "ghost@example.com", "password": "nope"}),
        )
        .await;
    assert_eq!(unknown.status, 401);
    assert_eq!(error_of(&wrong), error_of(&unknown));
    assert_eq!(c.post("/auth/login", json!({})).await.status, 400);
}

#[tokio::test]
async fn tasks_need_a_valid_token() {
    let target = start().await;
    let (mut c, _) = user(&target, "a@example.com").await;
    for kind in ["generate-pdf", "compress-video", "resize-image"] {
        let r = c
            .post(
                "/tasks",
                json!({"type": kind, "payload": {"url": "https://example.com/x"}}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        let task = r.json();
        let id = task["taskId"].as_str().unwrap().to_string();
        assert_eq!(task["id"], id.as_str());
        assert_eq!(task["type"], kind);
        assert_eq!(task["status"], "queued");
        assert_eq!(task["progress"], 0);
        assert_eq!(r.header("location"), Some(format!("/tasks/{id}").as_str()));
        let read = c.get(&format!("/tasks/{id}")).await;
        assert_eq!(read.status, 200);
        assert_eq!(read.json()["payload"]["url"], "https://example.com/x");
    }

    let r = c.post("/tasks", json!({"type": "mine-bitcoin"})).await;
    assert_eq!(r.status, 400);
    assert!(error_of(&r).contains("generate-pdf"), "{}", r.text());
    assert_eq!(c.post("/tasks", json!({})).await.status, 400);
    assert_eq!(c.get("/tasks/unknown").await.status, 404);

    let token = c.token.take();
    let r = c.post("/tasks", json!({"type": "generate-pdf"})).await;
    assert_eq!(r.status, 401);
    assert_eq!(error_of(&r), "missing bearer token");
    c.token = Some("at_forged".into());
    let r = c.post("/tasks", json!({"type": "generate-pdf"})).await;
    assert_eq!(r.status, 401);
    assert_eq!(error_of(&r), "invalid token");
    c.token = token;
}

#[tokio::test]
async fn tasks_complete_and_stay_private() {
    let target = start_with(|c| c.task_duration = Duration::from_millis(100)).await;
    let (mut alice, _) = user(&target, "alice@example.com").await;
    let (mut bob, _) = user(&target, "bob@example.com").await;
    let id = alice
        .post("/tasks", json!({"type": "resize-image"}))
        .await
        .json()["taskId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(bob.get(&format!("/tasks/{id}")).await.status, 404);
    // Polls until done, within a generous bound.
    let mut last = Value::Null;
    for _ in 0..500 {
        last = alice.get(&format!("/tasks/{id}")).await.json();
        if last["status"] == "completed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(last["status"], "completed", "{last}");
    assert_eq!(last["progress"], 100);
    assert_eq!(last["result"]["url"], format!("/files/{id}.png").as_str());

    let failing = alice
        .post(
            "/tasks",
            json!({"type": "resize-image", "payload": {"fail": true}}),
        )
        .await
        .json()["taskId"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..500 {
        last = alice.get(&format!("/tasks/{failing}")).await.json();
        if last["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(last["status"], "failed", "{last}");
    assert_eq!(last["progress"], 50);
    assert!(last["error"].is_string());
}

#[tokio::test]
async fn refresh_rotates_the_pair() {
    let target = start().await;
    let (mut c, tokens) = user(&target, "r@example.com").await;
    let old_access = tokens["accessToken"].as_str().unwrap().to_string();
    let old_refresh = tokens["refreshToken"].as_str().unwrap().to_string();
    let r = c
        .post("/auth/refresh", json!({"refreshToken": old_refresh}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let fresh = r.json();
    assert_ne!(fresh["accessToken"], old_access.as_str());
    // The old pair no longer works; the new one does.
    assert_eq!(
        c.post("/auth/refresh", json!({"refreshToken": old_refresh}))
            .await
            .status,
        401
    );
    c.token = Some(old_access);
    assert_eq!(
        c.post("/tasks", json!({"type": "generate-pdf"}))
            .await
            .status,
        401
    );
    c.token = Some(fresh["accessToken"].as_str().unwrap().to_string());
    assert_eq!(
        c.post("/tasks", json!({"type": "generate-pdf"}))
            .await
            .status,
        201
    );
    assert_eq!(c.post("/auth/refresh", json!({})).await.status, 400);
    assert_eq!(
        c.post("/auth/refresh", json!({"refreshToken": "rt_nope"}))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn logout_revokes_the_session() {
    let target = start().await;
    let (mut c, tokens) = user(&target, "l@example.com").await;
    let r = c
        .request(Method::POST, "/auth/logout", Some(&json!({})), &[])
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "logged out");
    assert_eq!(
        c.post("/tasks", json!({"type": "generate-pdf"}))
            .await
            .status,
        401
    );
    let refresh = tokens["refreshToken"].as_str().unwrap();
    assert_eq!(
        c.post("/auth/refresh", json!({"refreshToken": refresh}))
            .await
            .status,
        401
    );
    // Logging out twice, or without a token, is refused.
    assert_eq!(c.post("/auth/logout", json!({})).await.status, 401);
    c.token = None;
    assert_eq!(c.post("/auth/logout", json!({})).await.status, 401);

    // Logout by refresh token.
    let (mut d, tokens) = user(&target, "m@example.com").await;
    let access = d.token.take();
    let refresh = tokens["refreshToken"].as_str().unwrap();
    assert_eq!(
        d.post("/auth/logout", json!({"refreshToken": refresh}))
            .await
            .status,
        200
    );
    d.token = access;
    assert_eq!(
        d.post("/tasks", json!({"type": "generate-pdf"}))
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn access_tokens_expire_and_refresh_still_works() {
    let target = start_with(|c| c.access_token_ttl = Duration::from_millis(200)).await;
    let (mut c, tokens) = user(&target, "e@example.com").await;
    assert_eq!(tokens["expiresIn"], 1);
    assert_eq!(tokens["expiresInMs"], 200);
    // Polled until the lifetime has passed, up to a deadline.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let r = loop {
        let r = c.post("/tasks", json!({"type": "generate-pdf"})).await;
        if r.status == 401 || std::time::Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(r.status, 401);
    assert!(error_of(&r).contains("expired"));
    let r = c
        .post(
            "/auth/refresh",
            json!({"refreshToken": tokens["refreshToken"]}),
        )
        .await;
    assert_eq!(r.status, 200);
    c.token = Some(r.json()["accessToken"].as_str().unwrap().to_string());
    assert_eq!(
        c.post("/tasks", json!({"type": "generate-pdf"}))
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn health_and_prometheus_metrics() {
    let target = start().await;
    let (mut c, _) = user(&target, "p@example.com").await;
    c.post("/tasks", json!({"type": "generate-pdf"})).await;
    let h = c.get("/health").await;
    assert_eq!(h.status, 200);
    assert_eq!(h.json()["status"], "ok");
    let m = c.get("/metrics").await;
    assert_eq!(m.status, 200);
    assert!(m
        .header("content-type")
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = m.text();
    for line in [
        "# TYPE http_requests_total counter",
        "http_requests_total{service=\"tasks\",code=\"2xx\"} 3",
        "http_requests_total{service=\"ops\",code=\"2xx\"} 1",
        "# TYPE websocket_connections_active gauge",
        "websocket_connections_active 0",
        "tasks_total{state=\"created\"} 1",
        "auth_sessions_active 1",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in\n{text}");
    }
    assert!(text.contains("process_resident_memory_bytes "));
}
