//! The demo system under test that `stampede target` and `stampede demo`
//! serve: in memory, correct under any concurrency, and cheap enough not to
//! be the bottleneck of a load test run on the same laptop. It plays the
//! three services the seeds load-test — a multi-tenant shop API (seed 001),
//! a flash sale (seed 003) and a task service with WebSocket status (seed
//! 004) — on one port, plus fault injection for chaos tests.
//!
//! [`DemoTarget`] serves [`demo_router`] on [`DemoConfig::addr`]
//! ([`DEFAULT_ADDR`], `127.0.0.1:3000`, by default).
//!
//! Errors are JSON `{"error": "..."}` with a message a person can act on.
//! Request bodies are JSON (no `Content-Type` needed); logins also take
//! form bodies. Every endpoint below is counted in `/metrics`.
//!
//! # Shop API (seed 001)
//!
//! The catalogue is generated from [`DemoConfig::seed`]: products `"1"` to
//! `"N"` ([`DemoConfig::products`], 1000 by default) in ten categories
//! (`electronics`, `books`, `clothing`, `home`, `garden`, `toys`, `sports`,
//! `beauty`, `grocery`, `automotive`), plus `flash-sale-product-001`
//! (category `flash-sale`, stock [`DemoConfig::flash_product_stock`]). A
//! product is `{id, sku, name, category, description, price, currency,
//! stock, in_stock, rating}`; ids may be sent as strings or numbers.
//!
//! | Endpoint | Request | Response |
//! | --- | --- | --- |
//! | `POST /api/auth/login` | `{email, password}`; emails `free-tier@`, `starter-tier@`, `pro-tier@`, `enterprise-tier@example.com`, any non-empty password | 200 `{token, access_token, token_type, tenant, tier, rate_limit_rps}`; 401 unknown email |
//! | `GET /api/products` | `page` (from 1), `limit` or `per_page` (1–100, default 20), `category` | 200 `{items, total, page, limit, pages}` |
//! | `GET /api/products/search` | `q` (text in name, category, description), `category`, `min_price`, `max_price`, `in_stock`, `sort` (`relevance`, `price_asc`, `price_desc`, `rating`, `name`), paging | 200 like `/api/products`; 400 bad filter |
//! | `GET /api/products/{id}` | | 200 product; 404 |
//! | `POST /api/orders` | `{items: [{product_id, quantity}]}` (1–100 items, quantity 1–1000, default 1) | 201 `{id, order_id, status, customer, items: [{product_id, name, quantity, unit_price, line_total}], total, currency, created_at}` and `Location`; 409 `{error, product_id, requested, available}` when out of stock (nothing taken); 400 invalid items |
//! | `GET /api/orders/{id}` | | 200 order; 404 (the last 100 000 orders are kept) |
//! | `GET /api/reports/inventory` | | 200 `{generated_at, products, totals, categories, low_stock, audit_checksum, compute_ms}`: deliberately heavy (hashes every product record 256 times: tens of ms for 1000 products), at most one per core at a time |
//! | `GET /api/analytics/inventory-summary` | | 200 `{generated_at, totals, categories, orders}`: one aggregation pass |
//! | `GET /api/reports/order-details` | `include=all` (join product details) or `items`, `limit` (1–1000, default 100) | 200 `{orders, count, units, revenue, include}`, newest first |
//! | `POST /api/inventory/adjustments` | `{adjustments: [{product_id, delta}]}` (1–10 000) | 200 `{applied, results: [{product_id, stock}]}`; all or nothing: 409 if one would go below zero, 400 unknown product |
//! | `POST /api/bulk/import` | `[{id?, name, category?, description?, price, stock?}]` or `{products: [...]}` (1–10 000) | 201 `{imported, ids, skipped, total_products}` (existing ids are skipped); 400 invalid product |
//! | `GET /api/metrics` | | 200 `{process: {pid, memory_usage_mb, rss_bytes, peak_rss_bytes, virtual_bytes, threads}, requests, connections, uptime_s, shop, flash, tasks}` (memory from `/proc/self/status`) |
//!
//! Stock is taken with compare-and-swap and never goes below zero; an order
//! of several products takes all or none. Requests with `Authorization:
//! Bearer <token>` are limited per tenant by [`DemoConfig::tier_rates`]
//! (free 20/s, starter 200/s, professional 2000/s, enterprise 10 000/s; a
//! token bucket holding one second's worth): over the limit they get 429
//! with `Retry-After` (seconds) and `X-RateLimit-Limit` /
//! `X-RateLimit-Remaining` headers; an unknown token gets 401. Requests
//! without a token are anonymous and unlimited.
//!
//! # Flash sale (seed 003)
//!
//! | Endpoint | Request | Response |
//! | --- | --- | --- |
//! | `POST /init` | `{productId, quantity}` | 200 `{status: "initialized", productId, quantity}`; restarts the sale (stock, counts and idempotency keys) |
//! | `POST /order` | `{productId, userId}`, header `x-idempotency-key` (optional) | 200 `{status: "accepted", orderId, productId, userId, remaining}`; 302 to `/waiting-room?productId=…` over the admission rate (body `{status: "waiting", waitingRoom}`, `Retry-After: 1`); 409 `{status: "sold_out", error, productId}`; 404 no sale; 422 key reused by another `userId` |
//! | `GET /waiting-room` | `productId` | 200 HTML page that refreshes itself |
//! | `GET /sale/{productId}`, `GET /verify?productId=` | | 200 `{productId, initial, remaining, orders_accepted, sold_out_rejections, rate_limited, replayed, oversold, consistent}`; 404 |
//! | `GET /verify` | | 200 `{sales: [...], oversold}` |
//!
//! A sale never sells more than its stock: `orders_accepted` ≤ `initial`
//! and, at rest, `orders_accepted == initial - remaining`. A repeated
//! idempotency key answers the key's first 200 or 409 again (same status
//! and body, header `Idempotent-Replayed: true`) and never takes stock
//! twice, even when the repeats arrive concurrently. A 302 is not an
//! outcome (the order was not processed), so a key refused admission can be
//! retried. The admission rate ([`DemoConfig::flash_admission_rate`], 2000
//! orders/s by default, bursts of a tenth of that) is global and checked
//! before stock, as a gateway would.
//!
//! # Task service (seed 004)
//!
//! | Endpoint | Request | Response |
//! | --- | --- | --- |
//! | `POST /auth/register` | `{email, password, name?}` (password 6–128 characters) | 201 `{id, email, name, createdAt}`; 409 taken; 400 invalid |
//! | `POST /auth/login` | `{email, password}` | 200 `{accessToken, refreshToken, tokenType, expiresIn, expiresInMs, refreshExpiresIn, user}`; 401 |
//! | `POST /auth/refresh` | `{refreshToken}` | 200 a new pair (the old pair stops working); 401 invalid or expired |
//! | `POST /auth/logout` | bearer access token (or `{refreshToken}`) | 200 `{status: "logged out"}`; the pair stops working; 401 |
//! | `POST /tasks` | bearer token; `{type, payload?}`, type `generate-pdf`, `compress-video` or `resize-image` | 201 `{taskId, id, type, payload, createdAt, status: "queued", progress: 0, updatedAt}` and `Location`; 401; 400 unknown type |
//! | `GET /tasks/{id}` | bearer token | 200 the task with its current `status`, `progress`, `result` or `error`; 404 (also for other users' tasks) |
//! | `GET /ws` (or `GET /` with an upgrade) | `?token=`, bearer header, or first message `{"type":"auth","token"}` | WebSocket: send `{"type":"subscribe","taskId"}`, receive `{"type":"status", taskId, taskType, status, progress, updatedAt, result?, error?}` at once and on every change until `completed` or `failed` |
//! | `GET /health` | | 200 `{status: "ok", uptime_s}` |
//! | `GET /metrics` | | Prometheus text: `http_requests_total{service,code}`, `websocket_connections_active`, `websocket_connections_total`, `tasks_total{state}`, `auth_sessions_active`, `shop_orders_total{outcome}`, `flash_orders_total{outcome}`, `process_resident_memory_bytes`, `process_uptime_seconds` |
//!
//! Access tokens live [`DemoConfig::access_token_ttl`] (15 minutes by
//! default; an expired one gets 401 `token expired`), refresh tokens
//! [`DemoConfig::refresh_token_ttl`] (24 hours). A task is queued for a
//! fifth of its time, then processing from 0 to 100 % in steps of 10, then
//! completed with `result: {url}`; `generate-pdf` takes
//! [`DemoConfig::task_duration`] (3 s by default), `resize-image` half that,
//! `compress-video` twice that. A payload `{"fail": true}` (or
//! [`DemoConfig::task_failure_rate`]) makes it fail at 50 %. See the `ws`
//! module for the WebSocket protocol's details (timeouts, close codes).
//!
//! `GET /` without a WebSocket upgrade answers an index of the services.
//!
//! # Faults (chaos tests)
//!
//! | Endpoint | Request | Response |
//! | --- | --- | --- |
//! | `GET /admin/faults` | | 200 [`FaultConfig`] |
//! | `PUT /admin/faults` | `{latency_ms, latency_jitter_ms, error_rate, error_status, order_store_down}` (absent fields take their defaults; unknown fields are refused) | 200 the faults now in force; 400 listing every invalid value |
//! | `DELETE /admin/faults` | | 200 the defaults: no faults |
//!
//! Faults apply to the shop, flash-sale and task endpoints, not to
//! `/admin/*`, `/health`, `/metrics` or `/api/metrics`: added latency, a
//! fraction `error_rate` of requests answered `error_status` (503 by
//! default) `{"error":"injected fault"}` with `X-Fault-Injected: true`, and
//! with `order_store_down` every order creation (`POST /api/orders`,
//! `POST /order`) answers 503 `{"error":"order store unavailable"}`.
//!
//! # Real dependencies (chaos tests)
//!
//! [`DemoConfig::cache`] puts the inventory report in a real Redis (a
//! cache: when it is down, reports are computed every time, slower but
//! never failed); [`DemoConfig::database`] keeps the shop's orders in a
//! real Redis (a database: `POST /api/orders` and `GET /api/orders/{id}`
//! need it, and while it is down they answer 503 `{"error": "database
//! unavailable, try again shortly"}` with `Retry-After: 1` after three
//! tries with backoff, giving the stock back; the rest of the shop keeps
//! working). Both reconnect by themselves, so put them behind a `stampede
//! chaos proxy` or kill their process and the target degrades and
//! recovers as a real service would. Every 503 carries `Retry-After: 1`.
//!
//! # Bounded memory
//!
//! Soak tests must see a flat memory curve unless something leaks, so every
//! store is bounded: the last 100 000 shop orders and 100 000 tasks, at most
//! 100 sessions per user, idempotency keys of admitted orders for one to
//! two [`DemoConfig::idempotency_ttl`]s (2 minutes by default; orders sent
//! to the waiting room are not remembered, so the key store grows with the
//! admission rate, not with the offered load).
//!
//! # Running it by hand
//!
//! `cargo run --release -p stampede-demo --example demo [ADDR] [--products N] [--seed S]`
//! serves it on one thread until Ctrl-C. On a 2-core laptop, with `wrk`
//! on the other core, the cheap endpoints answer tens of thousands of
//! requests per second (product listing about 65 000/s, flash-sale orders
//! about 100 000/s) and an inventory report takes 20–30 ms.

mod api;
mod cache;
mod config;
mod database;
mod faults;
mod flash;
mod ops;
mod rate_limit;
mod resp;
mod shop;
mod stats;
mod target;
mod tasks;

use std::sync::Arc;
use std::time::Instant;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{middleware, Router};

use crate::server::Counters;
pub use config::{DemoConfig, TierRates, DEFAULT_ADDR, MAX_PRODUCTS};
pub use faults::FaultConfig;
use stats::{Service, Stats};
pub use target::DemoTarget;

/// Everything the demo target holds in memory: the shop, the sales, the
/// task service, faults and counters. Build one with [`DemoState::new`] to
/// serve [`demo_router`] on a server of your own.
#[derive(Debug)]
pub struct DemoState {
    started: Instant,
    counters: Arc<Counters>,
    stats: Stats,
    faults: faults::Faults,
    shop: shop::Shop,
    flash: flash::FlashSales,
    tasks: tasks::TaskService,
}

impl DemoState {
    /// Fresh state for `cfg` (generates the catalogue).
    pub fn new(cfg: DemoConfig) -> Arc<DemoState> {
        Arc::new(DemoState {
            started: Instant::now(),
            counters: Arc::default(),
            stats: Stats::default(),
            faults: faults::Faults::default(),
            shop: shop::Shop::new(&cfg),
            flash: flash::FlashSales::new(&cfg),
            tasks: tasks::TaskService::new(&cfg),
        })
    }

    /// Requests answered so far, by every service.
    pub fn requests_answered(&self) -> u64 {
        self.stats.total()
    }
}

/// Every endpoint of the demo target over `state`. Task timers are
/// spawned on the runtime that serves the router.
pub fn demo_router(state: Arc<DemoState>) -> Router {
    let ops = Router::new()
        .route("/health", get(ops::health))
        .route("/metrics", get(ops::prometheus))
        .route("/api/metrics", get(ops::api_metrics))
        .route(
            "/admin/faults",
            get(faults::get_faults)
                .put(faults::put_faults)
                .delete(faults::delete_faults),
        )
        .layer(middleware::from_fn_with_state(
            (state.clone(), Service::Ops),
            stats::count,
        ))
        .with_state(state.clone());
    Router::new()
        .merge(shop::router(state.clone()))
        .merge(flash::router(state.clone()))
        .merge(tasks::router(state))
        .merge(ops)
        .layer(DefaultBodyLimit::max(api::MAX_BODY))
}
