//! Endpoints for whoever watches the target, never slowed or failed by
//! injected faults: `GET /health`, `GET /metrics` (Prometheus text) and
//! `GET /api/metrics` (JSON, with the process's real memory).

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};
use serde_json::json as json_value;

use super::api::json;
use super::stats::{ProcessMemory, Service, CLASSES};
use super::DemoState;

/// `GET /` (without a WebSocket upgrade): what this server is, and where
/// each service starts.
pub(crate) async fn index() -> Response {
    json(
        StatusCode::OK,
        &json_value!({
            "name": "stampede demo target",
            "services": {
                "shop": ["/api/products", "/api/products/search", "/api/orders",
                         "/api/reports/inventory", "/api/auth/login", "/api/metrics"],
                "flash_sale": ["/init", "/order", "/sale/{productId}", "/verify", "/waiting-room"],
                "tasks": ["/auth/register", "/auth/login", "/tasks", "/ws"],
                "ops": ["/health", "/metrics", "/admin/faults"],
            },
            "docs": "the stampede_demo::demo module documentation lists every endpoint",
        }),
    )
}

/// `GET /health`.
pub(crate) async fn health(State(state): State<Arc<DemoState>>) -> Response {
    json(
        StatusCode::OK,
        &json_value!({
            "status": "ok",
            "uptime_s": state.started.elapsed().as_secs_f64(),
        }),
    )
}

/// `GET /api/metrics`: the shape seed 001's memory-leak test reads
/// (`metrics.process.memory_usage_mb`), plus counters of each service.
pub(crate) async fn api_metrics(State(state): State<Arc<DemoState>>) -> Response {
    let mem = ProcessMemory::read();
    let shop = &state.shop;
    let flash = state.flash.metrics();
    let tasks = state.tasks.metrics();
    json(
        StatusCode::OK,
        &json_value!({
            "process": {
                "pid": std::process::id(),
                "memory_usage_mb": (mem.rss_bytes as f64 / 1_048_576.0 * 100.0).round() / 100.0,
                "rss_bytes": mem.rss_bytes,
                "peak_rss_bytes": mem.peak_rss_bytes,
                "virtual_bytes": mem.virtual_bytes,
                "threads": mem.threads,
            },
            "requests": state.stats.total(),
            "connections": state.counters.connections.load(Ordering::Relaxed),
            "uptime_s": state.started.elapsed().as_secs_f64(),
            "shop": {
                "products": shop.catalog.len(),
                "orders_created": shop.orders.created.load(Ordering::Relaxed),
                "orders_out_of_stock": shop.orders.out_of_stock.load(Ordering::Relaxed),
                "orders_db_unavailable": shop.orders.db_unavailable.load(Ordering::Relaxed),
            },
            "flash": {
                "sales": flash.sales,
                "orders_accepted": flash.accepted,
                "sold_out": flash.sold_out,
                "rate_limited": flash.rate_limited,
                "replayed": flash.replayed,
            },
            "tasks": {
                "users": tasks.users,
                "sessions": tasks.sessions,
                "created": tasks.created,
                "completed": tasks.completed,
                "failed": tasks.failed,
                "websocket_connections": tasks.ws_active,
            },
        }),
    )
}

/// `GET /metrics`: Prometheus text exposition format 0.0.4.
pub(crate) async fn prometheus(State(state): State<Arc<DemoState>>) -> Response {
    let mut out = String::with_capacity(4096);
    let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let one = |v: f64| vec![(String::new(), v)];
    let mut requests = Vec::new();
    for service in Service::ALL {
        for (i, class) in CLASSES.iter().enumerate() {
            requests.push((
                format!("{{service=\"{}\",code=\"{class}\"}}", service.label()),
                state.stats.answered(service, i) as f64,
            ));
        }
    }
    family(
        "http_requests_total",
        "counter",
        "Requests answered, by service and status class.",
        &requests,
    );
    let tasks = state.tasks.metrics();
    let flash = state.flash.metrics();
    let shop = &state.shop;
    let mem = ProcessMemory::read();
    family(
        "websocket_connections_active",
        "gauge",
        "Open WebSocket connections on /ws.",
        &one(tasks.ws_active as f64),
    );
    family(
        "websocket_connections_total",
        "counter",
        "WebSocket connections accepted on /ws.",
        &one(tasks.ws_total as f64),
    );
    family(
        "tasks_total",
        "counter",
        "Tasks by final state (created counts every task).",
        &[
            ("{state=\"created\"}".into(), tasks.created as f64),
            ("{state=\"completed\"}".into(), tasks.completed as f64),
            ("{state=\"failed\"}".into(), tasks.failed as f64),
        ],
    );
    family(
        "auth_sessions_active",
        "gauge",
        "Task-service sessions (token pairs) not yet expired or revoked.",
        &one(tasks.sessions as f64),
    );
    family(
        "shop_orders_total",
        "counter",
        "Shop orders by outcome.",
        &[
            (
                "{outcome=\"created\"}".into(),
                shop.orders.created.load(Ordering::Relaxed) as f64,
            ),
            (
                "{outcome=\"out_of_stock\"}".into(),
                shop.orders.out_of_stock.load(Ordering::Relaxed) as f64,
            ),
            (
                "{outcome=\"db_unavailable\"}".into(),
                shop.orders.db_unavailable.load(Ordering::Relaxed) as f64,
            ),
        ],
    );
    family(
        "flash_orders_total",
        "counter",
        "Flash-sale orders by outcome.",
        &[
            ("{outcome=\"accepted\"}".into(), flash.accepted as f64),
            ("{outcome=\"sold_out\"}".into(), flash.sold_out as f64),
            (
                "{outcome=\"rate_limited\"}".into(),
                flash.rate_limited as f64,
            ),
            ("{outcome=\"replayed\"}".into(), flash.replayed as f64),
        ],
    );
    family(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        &one(mem.rss_bytes as f64),
    );
    family(
        "process_uptime_seconds",
        "gauge",
        "Seconds since the target started.",
        &one(state.started.elapsed().as_secs_f64()),
    );
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        out,
    )
        .into_response()
}
