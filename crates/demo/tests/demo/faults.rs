//! Fault injection for chaos tests.

use std::time::{Duration, Instant};

use http::Method;
use serde_json::json;
use stampede_demo::FaultConfig;

use crate::common::{error_of, start, Client};

#[tokio::test]
async fn errors_are_injected_then_reset() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    let defaults = c.get("/admin/faults").await;
    assert_eq!(defaults.status, 200);
    assert_eq!(
        defaults.json(),
        json!({"latency_ms": 0, "latency_jitter_ms": 0, "error_rate": 0.0,
               "error_status": 503, "order_store_down": false})
    );

    let r = c
        .request(
            Method::PUT,
            "/admin/faults",
            Some(&json!({"error_rate": 1.0, "error_status": 500})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["error_rate"], 1.0);
    for path in ["/api/products", "/sale/x", "/tasks/x"] {
        let r = c.get(path).await;
        assert_eq!(r.status, 500, "{path}");
        assert_eq!(error_of(&r), "injected fault");
        assert_eq!(r.header("x-fault-injected"), Some("true"));
    }
    // The observers are spared.
    for path in ["/health", "/metrics", "/api/metrics", "/admin/faults"] {
        assert_eq!(c.get(path).await.status, 200, "{path}");
    }
    // Injected failures are counted like real ones.
    let metrics = c.get("/metrics").await.text();
    assert!(
        metrics.contains("http_requests_total{service=\"shop\",code=\"5xx\"} 1"),
        "{metrics}"
    );

    let r = c.request(Method::DELETE, "/admin/faults", None, &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["error_rate"], 0.0);
    assert_eq!(c.get("/api/products").await.status, 200);
}

#[tokio::test]
async fn a_fraction_of_requests_fail() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    let r = c
        .request(
            Method::PUT,
            "/admin/faults",
            Some(&json!({"error_rate": 0.5})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    let mut failed = 0;
    for _ in 0..400 {
        match c.get("/api/products?limit=1").await.status {
            200 => {}
            503 => failed += 1,
            other => panic!("unexpected {other}"),
        }
    }
    // Binomial(400, 0.5): outside 100..=300 with negligible probability.
    assert!((100..=300).contains(&failed), "{failed} of 400 failed");
}

#[tokio::test]
async fn order_store_down() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    c.post("/init", json!({"productId": "p", "quantity": 5}))
        .await;
    let r = c
        .request(
            Method::PUT,
            "/admin/faults",
            Some(&json!({"order_store_down": true})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    let r = c
        .post(
            "/api/orders",
            json!({"items": [{"product_id": "1", "quantity": 1}]}),
        )
        .await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json(), json!({"error": "order store unavailable"}));
    let r = c
        .post("/order", json!({"productId": "p", "userId": "u"}))
        .await;
    assert_eq!(r.status, 503);
    assert_eq!(error_of(&r), "order store unavailable");
    // Reads still work, and no stock was taken.
    assert_eq!(c.get("/api/products").await.status, 200);
    assert_eq!(c.get("/sale/p").await.json()["remaining"], 5);

    c.request(Method::DELETE, "/admin/faults", None, &[]).await;
    let r = c
        .post("/order", json!({"productId": "p", "userId": "u"}))
        .await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn latency_is_added() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    let r = c
        .request(
            Method::PUT,
            "/admin/faults",
            Some(&json!({"latency_ms": 150, "latency_jitter_ms": 50})),
            &[],
        )
        .await;
    assert_eq!(r.status, 200);
    let started = Instant::now();
    assert_eq!(c.get("/api/products?limit=1").await.status, 200);
    // A lower bound only: never flaky.
    assert!(started.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn invalid_faults_are_refused_with_every_problem() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    let r = c
        .request(
            Method::PUT,
            "/admin/faults",
            Some(&json!({"error_rate": 2, "error_status": 200, "latency_ms": 999999})),
            &[],
        )
        .await;
    assert_eq!(r.status, 400);
    let message = error_of(&r);
    for field in ["error_rate", "error_status", "latency_ms"] {
        assert!(message.contains(field), "{message}");
    }
    let r = c
        .request(
            Method::PUT,
            "/admin/faults",
            Some(&json!({"error_rat": 0.1})),
            &[],
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(error_of(&r).contains("unknown field"), "{}", r.text());
    assert_eq!(c.get("/admin/faults").await.json()["error_rate"], 0.0);
}

#[tokio::test]
async fn faults_can_be_set_from_code() {
    let target = start().await;
    target
        .set_faults(FaultConfig {
            error_rate: 1.0,
            error_status: 429,
            ..FaultConfig::default()
        })
        .unwrap();
    assert_eq!(target.faults().error_status, 429);
    let mut c = Client::new(&target).await;
    assert_eq!(c.get("/api/products").await.status, 429);
    assert!(target
        .set_faults(FaultConfig {
            error_rate: -1.0,
            ..FaultConfig::default()
        })
        .is_err());
    target.set_faults(FaultConfig::default()).unwrap();
    assert_eq!(c.get("/api/products").await.status, 200);
}
