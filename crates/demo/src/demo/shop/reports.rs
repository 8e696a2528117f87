//! The shop's expensive reads: `GET /api/reports/inventory` (deliberately
//! CPU-heavy), `GET /api/analytics/inventory-summary` (an aggregation) and
//! `GET /api/reports/order-details` (orders joined with products).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde::Serialize;
use serde_json::{json as json_value, Value};
use sha2::{Digest, Sha256};

use super::catalog::Product;
use crate::demo::api::{json, json_bytes, money, now_rfc3339, ApiError, Query};
use crate::demo::cache::Lookup;
use crate::demo::DemoState;

/// SHA-256 rounds per product in the inventory report: the stand-in for a
/// report query's real work, about 20–60 ms for 1000 products on a laptop
/// core in a release build.
const AUDIT_ROUNDS: usize = 256;
/// Products listed as low on stock, at most.
const LOW_STOCK_LIST: usize = 50;
const LOW_STOCK: u64 = 10;

/// Per-category aggregates.
#[derive(Default, Serialize)]
struct CategoryStats {
    products: u64,
    units: u64,
    out_of_stock: u64,
    low_stock: u64,
    #[serde(serialize_with = "cents")]
    stock_value: u64,
    #[serde(serialize_with = "cents")]
    min_price: u64,
    #[serde(serialize_with = "cents")]
    max_price: u64,
    #[serde(serialize_with = "cents")]
    avg_price: u64,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "opt_cents")]
    median_price: Option<u64>,
    #[serde(skip)]
    price_sum: u64,
    #[serde(skip)]
    prices: Vec<u64>,
}

fn cents<S: serde::Serializer>(c: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(money(*c))
}

fn opt_cents<S: serde::Serializer>(c: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_f64(money(*c)),
        None => s.serialize_none(),
    }
}

impl CategoryStats {
    fn add(&mut self, p: &Product, stock: u64, keep_prices: bool) {
        if self.products == 0 || p.price_cents < self.min_price {
            self.min_price = p.price_cents;
        }
        self.max_price = self.max_price.max(p.price_cents);
        self.products += 1;
        self.units += stock;
        self.out_of_stock += u64::from(stock == 0);
        self.low_stock += u64::from(stock > 0 && stock < LOW_STOCK);
        self.stock_value += p.price_cents * stock;
        self.price_sum += p.price_cents;
        if keep_prices {
            self.prices.push(p.price_cents);
        }
    }

    fn finish(&mut self) {
        self.avg_price = self.price_sum / self.products.max(1);
        if !self.prices.is_empty() {
            self.prices.sort_unstable();
            self.median_price = Some(self.prices[self.prices.len() / 2]);
        }
    }
}

/// `GET /api/reports/inventory`: per-category aggregates with medians, the
/// products low on stock, and an audit checksum that hashes every product
/// record [`AUDIT_ROUNDS`] times. Runs on the blocking pool, at most one
/// report per core at a time (like a small report-database pool), so a
/// burst of reports queues instead of starving the cheap endpoints.
pub(crate) async fn inventory(State(state): State<Arc<DemoState>>) -> Result<Response, ApiError> {
    // With a cache (`--cache`), a fresh copy is served from it; when the
    // cache is down the report is computed every time: slower, never failed.
    let cached = match &state.shop.cache {
        Some(c) => Some(match c.get(REPORT_CACHE_KEY).await {
            Lookup::Hit(body) => {
                return Ok(cache_status(json_bytes(StatusCode::OK, body.into()), "hit"))
            }
            Lookup::Miss => "miss",
            Lookup::Down => "down",
        }),
        None => None,
    };
    let _permit = state
        .shop
        .report_slots
        .acquire()
        .await
        .map_err(|_| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "shutting down"))?;
    let products = state.shop.catalog.snapshot();
    let report = tokio::task::spawn_blocking(move || inventory_report(&products))
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "report failed"))?;
    let Some(how) = cached else {
        return Ok(json(StatusCode::OK, &report));
    };
    let body = serde_json::to_vec(&report)
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "report failed"))?;
    if let (Some(c), "miss") = (&state.shop.cache, how) {
        c.set(REPORT_CACHE_KEY, &body, REPORT_CACHE_TTL).await;
    }
    Ok(cache_status(json_bytes(StatusCode::OK, body.into()), how))
}

/// The cache key of the inventory report.
const REPORT_CACHE_KEY: &str = "stampede-demo:inventory-report";

/// How long a cached report is served (stock changes with every order).
const REPORT_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// Adds `x-cache: hit | miss | down`.
fn cache_status(mut r: Response, how: &'static str) -> Response {
    r.headers_mut()
        .insert("x-cache", http::HeaderValue::from_static(how));
    r
}

fn inventory_report(products: &[Arc<Product>]) -> Value {
    let started = Instant::now();
    let mut categories: BTreeMap<&str, CategoryStats> = BTreeMap::new();
    let mut overall = CategoryStats::default();
    let mut low: Vec<(&Product, u64)> = Vec::new();
    let mut audit = Sha256::new();
    for p in products {
        let stock = p.stock();
        categories
            .entry(&p.category)
            .or_default()
            .add(p, stock, true);
        overall.add(p, stock, false);
        if stock < LOW_STOCK {
            low.push((p, stock));
        }
        let mut digest: [u8; 32] = Sha256::new()
            .chain_update(p.id.as_bytes())
            .chain_update(p.name.as_bytes())
            .chain_update(p.price_cents.to_le_bytes())
            .chain_update(stock.to_le_bytes())
            .finalize()
            .into();
        for _ in 1..AUDIT_ROUNDS {
            digest = Sha256::digest(digest).into();
        }
        audit.update(digest);
    }
    categories.values_mut().for_each(CategoryStats::finish);
    overall.finish();
    low.sort_by_key(|&(p, stock)| (stock, p.price_cents));
    let low: Vec<Value> = low
        .iter()
        .take(LOW_STOCK_LIST)
        .map(|(p, stock)| json_value!({"id": p.id, "name": p.name, "category": p.category, "stock": stock}))
        .collect();
    let checksum: String = audit
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    json_value!({
        "generated_at": now_rfc3339(),
        "products": products.len(),
        "totals": overall,
        "categories": categories,
        "low_stock": low,
        "audit_checksum": checksum,
        "compute_ms": started.elapsed().as_secs_f64() * 1000.0,
    })
}

/// `GET /api/analytics/inventory-summary`: per-category counts, units and
/// stock value, in one pass over the catalogue.
pub(crate) async fn inventory_summary(State(state): State<Arc<DemoState>>) -> Response {
    let mut categories: BTreeMap<String, CategoryStats> = BTreeMap::new();
    let mut overall = CategoryStats::default();
    state.shop.catalog.for_each(|p| {
        let stock = p.stock();
        match categories.get_mut(p.category.as_str()) {
            Some(c) => c.add(p, stock, false),
            None => categories
                .entry(p.category.clone())
                .or_default()
                .add(p, stock, false),
        }
        overall.add(p, stock, false);
    });
    categories.values_mut().for_each(CategoryStats::finish);
    overall.finish();
    let orders = &state.shop.orders;
    json(
        StatusCode::OK,
        &json_value!({
            "generated_at": now_rfc3339(),
            "totals": overall,
            "categories": categories,
            "orders": {
                "created": orders.created.load(std::sync::atomic::Ordering::Relaxed),
                "out_of_stock": orders.out_of_stock.load(std::sync::atomic::Ordering::Relaxed),
            },
        }),
    )
}

/// `GET /api/reports/order-details?include=all&limit=100`: the most recent
/// orders (newest first) with each line joined to its product; with
/// `include=all` the product's category, rating and current stock too.
pub(crate) async fn order_details(
    State(state): State<Arc<DemoState>>,
    q: Query,
) -> Result<Response, ApiError> {
    let limit = q.int("limit", 100, 1, 1000)? as usize;
    let all = match q.get("include") {
        None | Some("items") => false,
        Some("all") => true,
        Some(_) => return Err(ApiError::bad_request("include must be items or all")),
    };
    let orders = state.shop.orders.latest(limit);
    let mut revenue = 0;
    let mut units = 0;
    let rows: Vec<Value> = orders
        .iter()
        .map(|o| {
            revenue += o.total_cents;
            let lines: Vec<Value> = o
                .lines
                .iter()
                .map(|l| {
                    units += l.quantity;
                    let p = &l.product;
                    let mut line = json_value!({
                        "product_id": p.id,
                        "name": p.name,
                        "quantity": l.quantity,
                        "unit_price": money(p.price_cents),
                        "line_total": money(p.price_cents * l.quantity),
                    });
                    if all {
                        line["product"] = serde_json::to_value(p.view()).unwrap_or(Value::Null);
                    }
                    line
                })
                .collect();
            json_value!({
                "id": o.id(),
                "customer": o.customer,
                "created_at": o.created_at,
                "total": money(o.total_cents),
                "items": lines,
            })
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &json_value!({
            "orders": rows,
            "count": orders.len(),
            "units": units,
            "revenue": money(revenue),
            "include": if all { "all" } else { "items" },
        }),
    ))
}
