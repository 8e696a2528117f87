//! The shop API (seed 001).

use serde_json::{json, Value};

use crate::common::{error_of, start, start_with, Client};

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn products_paginate() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    let first = c.get("/api/products").await;
    assert_eq!(first.status, 200);
    assert_eq!(first.header("content-type"), Some("application/json"));
    let first = first.json();
    // 200 generated products plus the flash-sale product.
    assert_eq!(first["total"], 201);
    assert_eq!(first["limit"], 20);
    assert_eq!(first["pages"], 11);
    assert_eq!(ids(&first)[0], "1");
    let product = &first["items"][0];
    for field in [
        "id",
        "sku",
        "name",
        "category",
        "description",
        "price",
        "stock",
        "rating",
    ] {
        assert!(!product[field].is_null(), "missing {field} in {product}");
    }

    let page = c.get("/api/products?page=3&limit=10").await.json();
    assert_eq!(
        ids(&page),
        (21..=30).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    let alias = c.get("/api/products?page=3&per_page=10").await.json();
    assert_eq!(ids(&alias), ids(&page));
    let last = c.get("/api/products?page=21&limit=10").await.json();
    assert_eq!(ids(&last), ["flash-sale-product-001"]);
    let beyond = c.get("/api/products?page=99&limit=10").await.json();
    assert_eq!(beyond["items"], json!([]));
    assert_eq!(beyond["total"], 201);

    for bad in ["limit=0", "limit=101", "page=0", "page=x"] {
        let r = c.get(&format!("/api/products?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}");
        assert!(!error_of(&r).is_empty());
    }
}

#[tokio::test]
async fn the_catalogue_follows_the_seed() {
    let a = start_with(|c| c.seed = 7).await;
    let b = start_with(|c| c.seed = 7).await;
    let other = start_with(|c| c.seed = 8).await;
    let page = |t| async move {
        Client::new(t)
            .await
            .get("/api/products?limit=50")
            .await
            .json()
    };
    assert_eq!(page(&a).await, page(&b).await);
    assert_ne!(page(&a).await["items"], page(&other).await["items"]);
    let small = start_with(|c| c.products = 5).await;
    assert_eq!(page(&small).await["total"], 6);
}

#[tokio::test]
async fn search_filters() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    let books = c.get("/api/products/search?category=books&limit=100").await;
    assert_eq!(books.status, 200);
    let books = books.json();
    assert!(books["total"].as_u64().unwrap() > 0);
    for p in books["items"].as_array().unwrap() {
        assert_eq!(p["category"], "books");
    }

    let priced = c
        .get("/api/products/search?min_price=10&max_price=50&sort=price_asc&limit=100")
        .await
        .json();
    let prices: Vec<f64> = priced["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["price"].as_f64().unwrap())
        .collect();
    assert!(!prices.is_empty());
    assert!(
        prices.iter().all(|p| (10.0..=50.0).contains(p)),
        "{prices:?}"
    );
    assert!(
        prices.windows(2).all(|w| w[0] <= w[1]),
        "sorted: {prices:?}"
    );

    // Text search matches names case-insensitively.
    let name = books["items"][0]["name"].as_str().unwrap().to_string();
    let word = name.split(' ').next_back().unwrap().to_lowercase();
    let hits = c
        .get(&format!("/api/products/search?q={word}&limit=100"))
        .await
        .json();
    assert!(hits["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == name.as_str()));
    let none = c.get("/api/products/search?q=zzzzqqq").await.json();
    assert_eq!(none["total"], 0);

    // The listing filters by category too.
    let listed = c.get("/api/products?category=books&limit=100").await.json();
    assert_eq!(listed["total"], books["total"]);

    for bad in [
        "min_price=50&max_price=10",
        "min_price=-1",
        "sort=random",
        "in_stock=maybe",
    ] {
        let r = c.get(&format!("/api/products/search?{bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
}

#[tokio::test]
async fn one_product() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    let p = c.get("/api/products/flash-sale-product-001").await;
    assert_eq!(p.status, 200);
    assert_eq!(p.json()["stock"], 100);
    assert_eq!(c.get("/api/products/nope").await.status, 404);
}

#[tokio::test]
async fn orders_take_stock_and_can_be_read_back() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    // Product 1 may be out of stock with this seed: top it up first.
    let r = c
        .post(
            "/api/inventory/adjustments",
            json!({"adjustments": [{"product_id": "1", "delta": 5}]}),
        )
        .await;
    assert_eq!(r.status, 200);
    let before = c.get("/api/products/1").await.json();
    let stock = before["stock"].as_u64().unwrap();
    let price = before["price"].as_f64().unwrap();
    let want = 2;

    // Numeric ids are accepted.
    let r = c
        .post(
            "/api/orders",
            json!({"items": [{"product_id": 1, "quantity": want}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let order = r.json();
    let id = order["id"].as_str().unwrap().to_string();
    assert_eq!(order["order_id"], id.as_str());
    assert_eq!(
        r.header("location"),
        Some(format!("/api/orders/{id}").as_str())
    );
    assert_eq!(order["customer"], "anonymous");
    assert_eq!(order["items"][0]["quantity"], want);
    let total = order["total"].as_f64().unwrap();
    assert!(
        (total - price * want as f64).abs() < 0.001,
        "{total} vs {price}"
    );
    let after = c.get("/api/products/1").await.json()["stock"]
        .as_u64()
        .unwrap();
    assert_eq!(after, stock - want);

    let read = c.get(&format!("/api/orders/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json(), order);
    assert_eq!(c.get("/api/orders/ord-999999").await.status, 404);
    assert_eq!(c.get("/api/orders/garbage").await.status, 404);
}

#[tokio::test]
async fn order_errors() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    let cases = [
        (json!({}), "missing field `items`"),
        (json!({"items": []}), "items must not be empty"),
        (
            json!({"items": [{"product_id": "nope", "quantity": 1}]}),
            "does not exist",
        ),
        (
            json!({"items": [{"product_id": "1", "quantity": 0}]}),
            "quantity",
        ),
        (
            json!({"items": [{"product_id": "1", "quantity": -3}]}),
            "quantity",
        ),
        (json!({"items": "many"}), "invalid JSON body"),
    ];
    for (body, message) in cases {
        let r = c.post("/api/orders", body.clone()).await;
        assert_eq!(r.status, 400, "{body}");
        assert!(error_of(&r).contains(message), "{body}: {}", r.text());
    }
    let r = c
        .post_raw("/api/orders", "application/json", "{not json")
        .await;
    assert_eq!(r.status, 400);
    assert!(error_of(&r).starts_with("invalid JSON body"));
    let r = c.post_raw("/api/orders", "application/json", "").await;
    assert_eq!(r.status, 400);
    // What k6 sends when a script passes an object without JSON.stringify.
    let r = c
        .post_raw(
            "/api/orders",
            "application/x-www-form-urlencoded",
            "items=%5Bobject+Object%5D",
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(error_of(&r).contains("JSON.stringify"), "{}", r.text());
}

#[tokio::test]
async fn out_of_stock_orders_take_nothing() {
    let target = start_with(|c| c.flash_product_stock = 3).await;
    let mut c = Client::new(&target).await;
    let stock_of = |v: Value| v["stock"].as_u64().unwrap();
    let other = stock_of(c.get("/api/products/2").await.json());
    let r = c
        .post(
            "/api/orders",
            json!({"items": [
                {"product_id": "2", "quantity": 1},
                {"product_id": "flash-sale-product-001", "quantity": 4},
            ]}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    let body = r.json();
    assert_eq!(body["product_id"], "flash-sale-product-001");
    assert_eq!(body["requested"], 4);
    assert_eq!(body["available"], 3);
    // All or nothing: product 2 was given back.
    assert_eq!(stock_of(c.get("/api/products/2").await.json()), other);
    assert_eq!(
        stock_of(c.get("/api/products/flash-sale-product-001").await.json()),
        3
    );
    // Repeated lines add up.
    let r = c
        .post(
            "/api/orders",
            json!({"items": [
                {"product_id": "flash-sale-product-001", "quantity": 2},
                {"product_id": "flash-sale-product-001", "quantity": 2},
            ]}),
        )
        .await;
    assert_eq!(r.status, 409);
}

/// Seed 001's flash-sale test: many clients buying one product at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_orders_never_oversell() {
    const STOCK: u64 = 50;
    let target = start_with(|c| c.flash_product_stock = STOCK).await;
    let mut handles = Vec::new();
    for _ in 0..40 {
        let mut c = Client::new(&target).await;
        handles.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..5 {
                let r = c
                    .post(
                        "/api/orders",
                        json!({"items": [{"product_id": "flash-sale-product-001", "quantity": 1}]}),
                    )
                    .await;
                statuses.push(r.status);
            }
            statuses
        }));
    }
    let mut created = 0;
    let mut conflicts = 0;
    for h in handles {
        for status in h.await.unwrap() {
            match status {
                201 => created += 1,
                409 => conflicts += 1,
                other => panic!("unexpected status {other}"),
            }
        }
    }
    assert_eq!(created, STOCK);
    assert_eq!(conflicts, 200 - STOCK);
    let mut c = Client::new(&target).await;
    let p = c.get("/api/products/flash-sale-product-001").await.json();
    assert_eq!(p["stock"], 0);
    assert_eq!(p["in_stock"], false);
    let summary = c.get("/api/analytics/inventory-summary").await.json();
    assert_eq!(summary["orders"]["created"], STOCK);
    assert_eq!(summary["orders"]["out_of_stock"], 200 - STOCK);
}

#[tokio::test]
async fn inventory_adjustments_are_all_or_nothing() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    let stock = |v: Value| v["stock"].as_u64().unwrap();
    let s3 = stock(c.get("/api/products/3").await.json());
    let r = c
        .post(
            "/api/inventory/adjustments",
            json!({"adjustments": [{"product_id": "3", "delta": 10}, {"productId": 4, "delta": 1}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["applied"], 2);
    assert_eq!(body["results"][0]["stock"], s3 + 10);
    assert_eq!(stock(c.get("/api/products/3").await.json()), s3 + 10);

    // The second would go below zero: the first is undone.
    let r = c
        .post(
            "/api/inventory/adjustments",
            json!({"adjustments": [
                {"product_id": "3", "delta": 1},
                {"product_id": "flash-sale-product-001", "delta": -101},
            ]}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text());
    assert!(error_of(&r).contains("below zero"));
    assert_eq!(stock(c.get("/api/products/3").await.json()), s3 + 10);
    assert_eq!(
        stock(c.get("/api/products/flash-sale-product-001").await.json()),
        100
    );

    let r = c
        .post(
            "/api/inventory/adjustments",
            json!({"adjustments": [{"product_id": "x", "delta": 1}]}),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(error_of(&r).contains("adjustments[0]"));
    assert_eq!(
        c.post("/api/inventory/adjustments", json!({"adjustments": []}))
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn bulk_import_adds_products() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    let r = c
        .post(
            "/api/bulk/import",
            json!([
                {"name": "Imported Teapot", "category": "Home", "price": 12.5, "stock": 7},
                {"id": "sku-9", "name": "Imported Kite", "price": 3, "description": "red"},
                {"id": "1", "name": "Clash", "price": 1},
            ]),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let body = r.json();
    assert_eq!(body["imported"], 2);
    assert_eq!(body["skipped"], json!(["1"]));
    assert_eq!(body["total_products"], 203);
    let new_id = body["ids"][0].as_str().unwrap().to_string();
    let teapot = c.get(&format!("/api/products/{new_id}")).await.json();
    assert_eq!(teapot["name"], "Imported Teapot");
    assert_eq!(teapot["category"], "home");
    assert_eq!(teapot["price"], 12.5);
    assert_eq!(teapot["stock"], 7);
    let found = c.get("/api/products/search?q=kite").await.json();
    assert_eq!(found["items"][0]["id"], "sku-9");

    // The wrapped form, and errors naming the product.
    let r = c
        .post(
            "/api/bulk/import",
            json!({"products": [{"name": "A", "price": 1}]}),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = c
        .post(
            "/api/bulk/import",
            json!([{"name": "ok", "price": 1}, {"name": "", "price": 1}]),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(error_of(&r).contains("products[1]"), "{}", r.text());
    let r = c
        .post("/api/bulk/import", json!([{"name": "no price"}]))
        .await;
    assert_eq!(r.status, 400);
    assert!(error_of(&r).contains("price"));
}

#[tokio::test]
async fn reports_and_analytics() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    let r = c.get("/api/reports/inventory").await;
    assert_eq!(r.status, 200);
    let report = r.json();
    assert_eq!(report["products"], 201);
    assert_eq!(report["totals"]["products"], 201);
    assert_eq!(report["audit_checksum"].as_str().unwrap().len(), 64);
    assert!(report["categories"]["books"]["median_price"].is_number());
    assert!(report["compute_ms"].as_f64().unwrap() > 0.0);
    // Deterministic data gives a deterministic checksum.
    let again = c.get("/api/reports/inventory").await.json();
    assert_eq!(again["audit_checksum"], report["audit_checksum"]);

    let summary = c.get("/api/analytics/inventory-summary").await.json();
    let per_category: u64 = summary["categories"]
        .as_object()
        .unwrap()
        .values()
        .map(|c| c["products"].as_u64().unwrap())
        .sum();
    assert_eq!(per_category, 201);
    assert_eq!(summary["totals"]["units"], report["totals"]["units"]);

    for _ in 0..3 {
        let r = c
            .post(
                "/api/orders",
                json!({"items": [{"product_id": "flash-sale-product-001"}]}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let details = c
        .get("/api/reports/order-details?include=all&limit=2")
        .await;
    assert_eq!(details.status, 200);
    let details = details.json();
    assert_eq!(details["count"], 2);
    assert_eq!(details["orders"][0]["id"], "ord-000003");
    let line = &details["orders"][0]["items"][0];
    assert_eq!(line["product"]["category"], "flash-sale");
    let plain = c.get("/api/reports/order-details").await.json();
    assert_eq!(plain["count"], 3);
    assert!(plain["orders"][0]["items"][0]["product"].is_null());
    assert_eq!(
        c.get("/api/reports/order-details?include=x").await.status,
        400
    );
}

#[tokio::test]
async fn metrics_report_process_memory() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    c.get("/api/products").await;
    let m = c.get("/api/metrics").await;
    assert_eq!(m.status, 200);
    let m = m.json();
    assert!(
        m["process"]["memory_usage_mb"].as_f64().unwrap() > 0.0,
        "{m}"
    );
    assert!(m["process"]["rss_bytes"].as_u64().unwrap() > 0);
    assert_eq!(m["requests"], 1);
    assert!(m["uptime_s"].as_f64().unwrap() >= 0.0);
    assert_eq!(m["shop"]["products"], 201);
}

#[tokio::test]
async fn tenant_logins() {
    let target = start().await;
    let mut c = Client::new(&target).await;
    let mut tokens = Vec::new();
    for (email, tier, rps) in [
        ("free-tier@example.com", "free", 20),
        ("starter-tier@example.com", "starter", 200),
        ("pro-tier@example.com", "professional", 2000),
        ("enterprise-tier@example.com", "enterprise", 10000),
    ] {
        let r = c
            .post("/api/auth/login", json!({"email": email, "password": "x"}))
            .await;
        assert_eq!(r.status, 200, "{email}");
        let body = r.json();
        assert_eq!(body["tier"], tier);
        assert_eq!(body["rate_limit_rps"], rps);
        assert_eq!(body["token"], body["access_token"]);
        tokens.push(body["token"].as_str().unwrap().to_string());
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 4);
    // k6 form-encodes an object body.
    let r = c
        .post_raw(
            "/api/auth/login",
            "application/x-www-form-urlencoded",
            "email=free-tier%40example.com&password=pw",
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["token"], tokens[0].as_str());

    let r = c
        .post(
            "/api/auth/login",
            json!({"email": "who@example.com", "password": "x"}),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));
    let r = c
        .post("/api/auth/login", json!({"email": "free-tier@example.com"}))
        .await;
    assert_eq!(r.status, 400);

    // Authenticated orders record the tenant.
    c.token = Some(tokens[1].clone());
    let r = c
        .post(
            "/api/orders",
            json!({"items": [{"product_id": "flash-sale-product-001"}]}),
        )
        .await;
    assert_eq!(r.json()["customer"], "starter-tier@example.com");
    c.token = Some("forged".into());
    assert_eq!(c.get("/api/products").await.status, 401);
}

#[tokio::test]
async fn tier_rate_limits_answer_429_with_retry_after() {
    let target = start_with(|c| c.tier_rates.free = 5).await;
    let mut c = Client::new(&target).await;
    let login = c
        .post(
            "/api/auth/login",
            json!({"email": "free-tier@example.com", "password": "x"}),
        )
        .await
        .json();
    c.token = Some(login["token"].as_str().unwrap().to_string());
    let mut statuses = Vec::new();
    let mut limited = None;
    for _ in 0..60 {
        let r = c.get("/api/products?limit=1").await;
        statuses.push(r.status);
        if r.status == 429 && limited.is_none() {
            limited = Some(r);
        }
    }
    // The bucket starts full: the first five pass whatever the timing.
    assert!(statuses[..5].iter().all(|&s| s == 200), "{statuses:?}");
    let limited = limited.expect("60 requests at once exceed 5/s");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1);
    assert_eq!(limited.header("x-ratelimit-limit"), Some("5"));
    assert!(error_of(&limited).contains("free tier"));

    // Anonymous requests are not limited; another tenant has its own bucket.
    c.token = None;
    for _ in 0..20 {
        assert_eq!(c.get("/api/products?limit=1").await.status, 200);
    }
    let pro = c
        .post(
            "/api/auth/login",
            json!({"email": "pro-tier@example.com", "password": "x"}),
        )
        .await
        .json();
    c.token = Some(pro["token"].as_str().unwrap().to_string());
    let r = c.get("/api/products?limit=1").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-ratelimit-limit"), Some("2000"));
}
