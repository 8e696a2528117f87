//! Orders: `POST /api/orders` (stock taken atomically, never below zero)
//! and `GET /api/orders/{id}`, over a store that keeps the most recent
//! [`MAX_ORDERS`] orders so a soak test's memory stays flat.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use http::{header, HeaderValue, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json as json_value;

use super::catalog::Product;
use super::tenants::Tenant;
use crate::demo::api::{id_string, json, json_bytes, money, now_rfc3339, ApiError, Body};
use crate::demo::DemoState;

/// Orders the store keeps; older ones are dropped (still counted).
pub(crate) const MAX_ORDERS: usize = 100_000;
/// Most lines in one order.
const MAX_ITEMS: usize = 100;
/// Most units of one product in one order.
const MAX_QUANTITY: i64 = 1000;

/// One order line.
#[derive(Debug)]
pub(crate) struct Line {
    pub(crate) product: Arc<Product>,
    pub(crate) quantity: u64,
}

/// A placed order.
#[derive(Debug)]
pub(crate) struct Order {
    pub(crate) seq: u64,
    pub(crate) customer: String,
    pub(crate) lines: Vec<Line>,
    pub(crate) total_cents: u64,
    pub(crate) created_at: String,
}

impl Order {
    pub(crate) fn id(&self) -> String {
        format!("ord-{:06}", self.seq)
    }

    pub(crate) fn view(&self) -> OrderView<'_> {
        let id = self.id();
        OrderView {
            order_id: id.clone(),
            id,
            status: "created",
            customer: &self.customer,
            items: self
                .lines
                .iter()
                .map(|l| LineView {
                    product_id: &l.product.id,
                    name: &l.product.name,
                    quantity: l.quantity,
                    unit_price: money(l.product.price_cents),
                    line_total: money(l.product.price_cents * l.quantity),
                })
                .collect(),
            total: money(self.total_cents),
            currency: "USD",
            created_at: &self.created_at,
        }
    }
}

#[derive(Serialize)]
pub(crate) struct OrderView<'a> {
    id: String,
    order_id: String,
    status: &'static str,
    customer: &'a str,
    items: Vec<LineView<'a>>,
    total: f64,
    currency: &'static str,
    created_at: &'a str,
}

#[derive(Serialize)]
struct LineView<'a> {
    product_id: &'a str,
    name: &'a str,
    quantity: u64,
    unit_price: f64,
    line_total: f64,
}

/// The most recent orders, and counts of all of them.
#[derive(Debug, Default)]
pub(crate) struct Orders {
    recent: Mutex<VecDeque<Arc<Order>>>,
    next_seq: AtomicU64,
    /// Orders created since start.
    pub(crate) created: AtomicU64,
    /// Orders refused for lack of stock since start.
    pub(crate) out_of_stock: AtomicU64,
    /// Orders refused because the database did not answer.
    pub(crate) db_unavailable: AtomicU64,
}

impl Orders {
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Arc<Order>>> {
        self.recent.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new order with the next number; not kept until [`Orders::keep`].
    fn number(&self, customer: String, lines: Vec<Line>) -> Arc<Order> {
        let total_cents = lines
            .iter()
            .map(|l| l.product.price_cents * l.quantity)
            .sum();
        Arc::new(Order {
            seq: self.next_seq.fetch_add(1, Ordering::Relaxed) + 1,
            customer,
            lines,
            total_cents,
            created_at: now_rfc3339(),
        })
    }

    /// Keeps `order` among the recent ones (in number order: orders that
    /// waited for the database may arrive out of order) and counts it.
    fn keep(&self, order: Arc<Order>) {
        let mut recent = self.lock();
        let at = recent.partition_point(|o| o.seq < order.seq);
        recent.insert(at, order);
        if recent.len() > MAX_ORDERS {
            recent.pop_front();
        }
        drop(recent);
        self.created.fetch_add(1, Ordering::Relaxed);
    }

    /// The order with id `ord-N`, if still kept.
    pub(crate) fn get(&self, id: &str) -> Option<Arc<Order>> {
        let seq: u64 = id.strip_prefix("ord-")?.parse().ok()?;
        let recent = self.lock();
        let at = recent.binary_search_by_key(&seq, |o| o.seq).ok()?;
        recent.get(at).cloned()
    }

    /// Up to `n` most recent orders, newest first.
    pub(crate) fn latest(&self, n: usize) -> Vec<Arc<Order>> {
        self.lock().iter().rev().take(n).cloned().collect()
    }
}

#[derive(Deserialize)]
pub(crate) struct OrderRequest {
    items: Vec<ItemRequest>,
}

#[derive(Deserialize)]
struct ItemRequest {
    #[serde(alias = "productId", deserialize_with = "id_string")]
    product_id: String,
    #[serde(default = "one")]
    quantity: i64,
}

fn one() -> i64 {
    1
}

/// `POST /api/orders {items: [{product_id, quantity}]}`: 201 with the
/// order, 409 when a product lacks stock (nothing is taken then), 400 for
/// invalid items.
pub(crate) async fn create(
    State(state): State<Arc<DemoState>>,
    tenant: Option<Extension<Arc<Tenant>>>,
    Body(req): Body<OrderRequest>,
) -> Result<Response, ApiError> {
    let wanted = validate(&state, req)?;
    state.faults.check_order_store()?;
    let shop = &state.shop;
    for (i, (product, quantity)) in wanted.iter().enumerate() {
        if !product.try_take(*quantity) {
            // Give back what this order took: all or nothing.
            for (p, q) in &wanted[..i] {
                p.put_back(*q);
            }
            shop.orders.out_of_stock.fetch_add(1, Ordering::Relaxed);
            return Ok(json(
                StatusCode::CONFLICT,
                &json_value!({
                    "error": format!("insufficient stock for product {:?}", product.id),
                    "product_id": product.id,
                    "requested": quantity,
                    "available": product.stock(),
                }),
            ));
        }
    }
    let customer = tenant.map_or("anonymous".to_string(), |t| t.email.to_string());
    let lines = wanted
        .into_iter()
        .map(|(product, quantity)| Line { product, quantity })
        .collect();
    let order = shop.orders.number(customer, lines);
    let body = serde_json::to_vec(&order.view())
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "order failed"))?;
    // With a database (`--database`) the order exists once it holds it;
    // when it is down, the stock goes back and the client may retry.
    if let Some(db) = &shop.database {
        if let Err(e) = db.save_order(&order.id(), &body).await {
            for l in &order.lines {
                l.product.put_back(l.quantity);
            }
            shop.orders.db_unavailable.fetch_add(1, Ordering::Relaxed);
            return Err(e.into());
        }
    }
    shop.orders.keep(order.clone());
    let mut res = json_bytes(StatusCode::CREATED, body.into());
    if let Ok(location) = HeaderValue::from_str(&format!("/api/orders/{}", order.id())) {
        res.headers_mut().insert(header::LOCATION, location);
    }
    Ok(res)
}

/// The order's products and quantities (repeated products merged), or a
/// 400 naming the first bad item.
fn validate(state: &DemoState, req: OrderRequest) -> Result<Vec<(Arc<Product>, u64)>, ApiError> {
    if req.items.is_empty() {
        return Err(ApiError::bad_request("items must not be empty"));
    }
    if req.items.len() > MAX_ITEMS {
        return Err(ApiError::bad_request(format!(
            "an order has at most {MAX_ITEMS} items"
        )));
    }
    let mut wanted: Vec<(Arc<Product>, u64)> = Vec::with_capacity(req.items.len());
    for (i, item) in req.items.into_iter().enumerate() {
        if !(1..=MAX_QUANTITY).contains(&item.quantity) {
            return Err(ApiError::bad_request(format!(
                "items[{i}].quantity must be between 1 and {MAX_QUANTITY}"
            )));
        }
        let product = state.shop.catalog.get(&item.product_id).ok_or_else(|| {
            ApiError::bad_request(format!(
                "items[{i}].product_id {:?} does not exist",
                item.product_id
            ))
        })?;
        match wanted.iter_mut().find(|(p, _)| Arc::ptr_eq(p, &product)) {
            Some((_, q)) => *q += item.quantity as u64,
            None => wanted.push((product, item.quantity as u64)),
        }
    }
    Ok(wanted)
}

/// `GET /api/orders/{id}`: from the database when there is one (503 when
/// it does not answer), from memory otherwise.
pub(crate) async fn get_one(
    State(state): State<Arc<DemoState>>,
    Path(id): Path<String>,
) -> Response {
    let shop = &state.shop;
    let found = match &shop.database {
        Some(db) => match db.load_order(&id).await {
            Ok(body) => body.map(|b| json_bytes(StatusCode::OK, b.into())),
            Err(e) => {
                shop.orders.db_unavailable.fetch_add(1, Ordering::Relaxed);
                return ApiError::from(e).into_response();
            }
        },
        None => shop
            .orders
            .get(&id)
            .map(|order| json(StatusCode::OK, &order.view())),
    };
    found.unwrap_or_else(|| ApiError::not_found(format!("no order {id:?}")).into_response())
}
