//! The flash sale (seed 003).

use std::collections::{HashMap, HashSet};

use http::Method;
use serde_json::{json, Value};

use crate::common::{error_of, start, start_with, Client};

async fn init(c: &mut Client, product: &str, quantity: u64) {
    let r = c
        .post("/init", json!({"productId": product, "quantity": quantity}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "initialized");
}

async fn order(
    c: &mut Client,
    product: &str,
    user: &str,
    key: Option<&str>,
) -> crate::client::Resp {
    let body = json!({"productId": product, "userId": user});
    let headers: Vec<(&str, &str)> = key.map(|k| ("x-idempotency-key", k)).into_iter().collect();
    c.request(Method::POST, "/order", Some(&body), &headers)
        .await
}

#[tokio::test]
async fn sells_the_stock_then_refuses() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    init(&mut c, "iphone-15", 2).await;
    let first = order(&mut c, "iphone-15", "u1", Some("k1")).await;
    assert_eq!(first.status, 200);
    let body = first.json();
    assert_eq!(body["status"], "accepted");
    assert_eq!(body["orderId"], "iphone-15-000001");
    assert_eq!(body["userId"], "u1");
    assert_eq!(body["remaining"], 1);
    // No key is fine too.
    assert_eq!(order(&mut c, "iphone-15", "u2", None).await.status, 200);
    let sold_out = order(&mut c, "iphone-15", "u3", Some("k3")).await;
    assert_eq!(sold_out.status, 409);
    assert_eq!(sold_out.json()["status"], "sold_out");

    let sale = c.get("/sale/iphone-15").await;
    assert_eq!(sale.status, 200);
    let sale = sale.json();
    assert_eq!(sale["initial"], 2);
    assert_eq!(sale["remaining"], 0);
    assert_eq!(sale["orders_accepted"], 2);
    assert_eq!(sale["sold_out_rejections"], 1);
    assert_eq!(sale["oversold"], false);
    assert_eq!(sale["consistent"], true);
    assert_eq!(c.get("/verify?productId=iphone-15").await.json(), sale);
    let all = c.get("/verify").await.json();
    assert_eq!(all["oversold"], false);
    assert_eq!(all["sales"][0]["productId"], "iphone-15");

    // Re-initializing restarts the sale, keys included.
    init(&mut c, "iphone-15", 1).await;
    let again = order(&mut c, "iphone-15", "u3", Some("k3")).await;
    assert_eq!(again.status, 200);
    assert!(again.header("idempotent-replayed").is_none());
}

#[tokio::test]
async fn flash_errors() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    let r = order(&mut c, "never-started", "u", None).await;
    assert_eq!(r.status, 404);
    assert!(error_of(&r).contains("POST /init"));
    assert_eq!(c.get("/sale/never-started").await.status, 404);
    for body in [
        json!({"productId": "p"}),
        json!({"productId": "", "quantity": 1}),
        json!({"productId": "p", "quantity": -1}),
    ] {
        let r = c.post("/init", body.clone()).await;
        assert_eq!(r.status, 400, "{body}");
    }
    init(&mut c, "p", 5).await;
    let r = c.post("/order", json!({"productId": "p"})).await;
    assert_eq!(r.status, 400);
    assert!(error_of(&r).contains("userId"));
    let r = c
        .post("/order", json!({"productId": "p", "userId": " "}))
        .await;
    assert_eq!(r.status, 400);
    let long = "k".repeat(300);
    let r = order(&mut c, "p", "u", Some(&long)).await;
    assert_eq!(r.status, 400);
    // Numbers are accepted for ids.
    let r = c
        .post("/order", json!({"productId": "p", "userId": 42}))
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["userId"], "42");
}

#[tokio::test]
async fn a_repeated_key_replays_its_first_outcome() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    init(&mut c, "tv", 1).await;
    let first = order(&mut c, "tv", "alice", Some("key-a")).await;
    assert_eq!(first.status, 200);
    let replay = order(&mut c, "tv", "alice", Some("key-a")).await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.body, first.body);
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));

    let refused = order(&mut c, "tv", "bob", Some("key-b")).await;
    assert_eq!(refused.status, 409);
    let refused_again = order(&mut c, "tv", "bob", Some("key-b")).await;
    assert_eq!(refused_again.status, 409);
    assert_eq!(refused_again.body, refused.body);

    // A key is bound to its user.
    let stolen = order(&mut c, "tv", "mallory", Some("key-a")).await;
    assert_eq!(stolen.status, 422);

    let sale = c.get("/sale/tv").await.json();
    assert_eq!(sale["orders_accepted"], 1);
    assert_eq!(sale["replayed"], 2);
}

#[tokio::test]
async fn over_the_admission_rate_orders_go_to_the_waiting_room() {
    let target = start_with(|c| c.flash_admission_rate = 5).await;
    let mut c = Client::new(&target).await;
    init(&mut c, "console", 1000).await;
    let mut redirect = None;
    let mut accepted = 0;
    for i in 0..100 {
        let r = order(&mut c, "console", &format!("u{i}"), Some(&format!("k{i}"))).await;
        match r.status {
            200 => accepted += 1,
            302 => redirect = redirect.or(Some((i, r))),
            other => panic!("unexpected {other}"),
        }
    }
    assert!(accepted >= 1);
    let (i, redirect) = redirect.expect("100 orders at once exceed 5/s");
    assert_eq!(
        redirect.header("location"),
        Some("/waiting-room?productId=console")
    );
    assert_eq!(redirect.header("retry-after"), Some("1"));
    assert_eq!(redirect.json()["status"], "waiting");
    let sale = c.get("/sale/console").await.json();
    assert!(sale["rate_limited"].as_u64().unwrap() >= 1);
    assert_eq!(sale["orders_accepted"], accepted);

    assert_eq!(sale["replayed"], 0);

    // A redirected order was not processed: once the rate allows, the same
    // key goes through instead of replaying the 302.
    // Polled up to a deadline: every refused attempt is another 302, never
    // a replay.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let retry = loop {
        let r = order(&mut c, "console", &format!("u{i}"), Some(&format!("k{i}"))).await;
        if r.status != 302 || std::time::Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(retry.status, 200, "{}", retry.text());

    let page = c.get("/waiting-room?productId=console").await;
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page.text().contains("waiting room"));
}

/// Seed 003's verification, under far more contention than a laptop run:
/// 200 clients × 5 orders over 300 keys (most repeated, often at the same
/// moment) for 100 units.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_oversells_and_replays_under_concurrency() {
    const STOCK: usize = 100;
    const CLIENTS: usize = 200;
    const PER_CLIENT: usize = 5;
    const KEYS: usize = 300;
    let target = start_with(|c| c.flash_admission_rate = 0).await;
    init(&mut Client::new(&target).await, "iphone-15", STOCK as u64).await;
    let mut handles = Vec::new();
    for client in 0..CLIENTS {
        let mut c = Client::new(&target).await;
        handles.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for i in 0..PER_CLIENT {
                let key = format!("key-{}", (client * PER_CLIENT + i * 61) % KEYS);
                let user = format!("user-of-{key}");
                let r = order(&mut c, "iphone-15", &user, Some(&key)).await;
                seen.push((key, r.status, r.body));
            }
            seen
        }));
    }
    let mut by_key: HashMap<String, Vec<(u16, bytes::Bytes)>> = HashMap::new();
    for h in handles {
        for (key, status, body) in h.await.unwrap() {
            assert!(status == 200 || status == 409, "unexpected {status}");
            by_key.entry(key).or_default().push((status, body));
        }
    }
    let mut winners = 0;
    let mut order_ids = HashSet::new();
    for (key, outcomes) in &by_key {
        let (status, body) = &outcomes[0];
        for other in outcomes {
            assert_eq!(&other.0, status, "key {key} answered differently");
            assert_eq!(&other.1, body, "key {key} answered differently");
        }
        if *status == 200 {
            winners += 1;
            let v: Value = serde_json::from_slice(body).unwrap();
            assert!(order_ids.insert(v["orderId"].as_str().unwrap().to_string()));
        }
    }
    assert_eq!(winners, STOCK, "exactly the stock was sold");
    let sale = Client::new(&target)
        .await
        .get("/sale/iphone-15")
        .await
        .json();
    assert_eq!(sale["remaining"], 0);
    assert_eq!(sale["orders_accepted"], STOCK);
    assert_eq!(sale["oversold"], false);
    assert_eq!(sale["consistent"], true);
    let replayed = sale["replayed"].as_u64().unwrap() as usize;
    assert_eq!(replayed, CLIENTS * PER_CLIENT - by_key.len());
}
