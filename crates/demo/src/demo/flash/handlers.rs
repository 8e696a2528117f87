//! The flash sale's endpoints.

use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::json as json_value;

use super::idempotency::Outcome;
use crate::demo::api::{id_string, json, json_bytes, ApiError, Body, Query};
use crate::demo::rate_limit::Verdict;
use crate::demo::DemoState;

/// Largest quantity `/init` accepts.
const MAX_QUANTITY: i64 = 1_000_000_000;
/// Longest idempotency key accepted.
const MAX_KEY: usize = 256;
const KEY_HEADER: &str = "x-idempotency-key";

#[derive(Deserialize)]
pub(crate) struct InitRequest {
    #[serde(
        rename = "productId",
        alias = "product_id",
        deserialize_with = "id_string"
    )]
    product_id: String,
    quantity: i64,
}

/// `POST /init {productId, quantity}`: starts or restarts the sale (stock,
/// counters and idempotency keys all reset).
pub(crate) async fn init(
    State(state): State<Arc<DemoState>>,
    Body(req): Body<InitRequest>,
) -> Result<Response, ApiError> {
    let product = req.product_id.trim();
    if product.is_empty() {
        return Err(ApiError::bad_request("productId must not be empty"));
    }
    if !(0..=MAX_QUANTITY).contains(&req.quantity) {
        return Err(ApiError::bad_request(format!(
            "quantity must be between 0 and {MAX_QUANTITY}"
        )));
    }
    let sale = state.flash.init(product.to_string(), req.quantity as u64);
    tracing::info!(product, quantity = req.quantity, "flash sale initialized");
    Ok(json(
        StatusCode::OK,
        &json_value!({
            "status": "initialized",
            "productId": sale.product_id,
            "quantity": sale.initial,
        }),
    ))
}

#[derive(Deserialize)]
pub(crate) struct OrderRequest {
    #[serde(
        rename = "productId",
        alias = "product_id",
        deserialize_with = "id_string"
    )]
    product_id: String,
    #[serde(rename = "userId", alias = "user_id", deserialize_with = "id_string")]
    user_id: String,
}

/// `POST /order {productId, userId}` with `x-idempotency-key`: 200 accepted,
/// 302 to the waiting room when over the admission rate, 409 sold out; a
/// repeated key answers its first 200 or 409 again without touching stock.
pub(crate) async fn order(
    State(state): State<Arc<DemoState>>,
    headers: HeaderMap,
    Body(req): Body<OrderRequest>,
) -> Result<Response, ApiError> {
    let (product, user_id) = (req.product_id.trim(), req.user_id.trim());
    if product.is_empty() || user_id.is_empty() {
        return Err(ApiError::bad_request(
            "productId and userId must not be empty",
        ));
    }
    let key = match headers.get(KEY_HEADER).map(|v| v.to_str()) {
        None => None,
        Some(Ok(k)) if !k.trim().is_empty() && k.len() <= MAX_KEY => Some(k.trim()),
        Some(_) => {
            return Err(ApiError::bad_request(format!(
                "{KEY_HEADER} must be 1 to {MAX_KEY} visible ASCII characters"
            )))
        }
    };
    let flash = &state.flash;
    let sale = flash.get(product).ok_or_else(|| {
        ApiError::not_found(format!(
            "no sale for product {product:?}; start one with POST /init"
        ))
    })?;
    state.faults.check_order_store()?;
    let user = BuildHasherDefault::<DefaultHasher>::default().hash_one(user_id);
    // A key already answered is replayed before admission: retries of a
    // finished order cost nothing and must not land in the waiting room.
    if let Some(first) = key.and_then(|k| sale.keys.outcome(k)) {
        return Ok(replay(&state, &sale, &first, user));
    }
    if let Some(bucket) = &flash.admission {
        if let Verdict::Limited { .. } = bucket.try_take() {
            sale.rate_limited.fetch_add(1, Ordering::Relaxed);
            flash.rate_limited.fetch_add(1, Ordering::Relaxed);
            return Ok(waiting_room_redirect(product));
        }
    }
    // Only admitted requests are remembered, so the key store grows with
    // the admission rate, not with the offered load.
    let slot = key.map(|k| sale.keys.slot(k));
    let (outcome, fresh) = match &slot {
        Some(slot) => {
            let mut fresh = false;
            let outcome = slot.get_or_init(|| {
                fresh = true;
                sale.place(user_id, user)
            });
            (outcome.clone(), fresh)
        }
        None => (sale.place(user_id, user), true),
    };
    if !fresh {
        // Another request with the same key won the race.
        return Ok(replay(&state, &sale, &outcome, user));
    }
    if outcome.status == 200 {
        flash.accepted.fetch_add(1, Ordering::Relaxed);
    } else {
        flash.sold_out.fetch_add(1, Ordering::Relaxed);
    }
    Ok(respond(&outcome, false))
}

fn replay(state: &DemoState, sale: &super::Sale, first: &Outcome, user: u64) -> Response {
    if first.user != user {
        return ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{KEY_HEADER} was already used by another userId"),
        )
        .into_response();
    }
    sale.replayed.fetch_add(1, Ordering::Relaxed);
    state.flash.replayed.fetch_add(1, Ordering::Relaxed);
    respond(first, true)
}

fn respond(outcome: &Outcome, replayed: bool) -> Response {
    let status = StatusCode::from_u16(outcome.status).unwrap_or(StatusCode::OK);
    let mut res = json_bytes(status, outcome.body.clone());
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}

fn waiting_room_redirect(product: &str) -> Response {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("productId", product)
        .finish();
    let location = format!("/waiting-room?{query}");
    let mut res = json(
        StatusCode::FOUND,
        &json_value!({ "status": "waiting", "waitingRoom": location }),
    );
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&location) {
        h.insert(header::LOCATION, v);
    }
    h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    res
}

/// `GET /waiting-room`: a page asking to retry shortly.
pub(crate) async fn waiting_room(q: Query) -> Response {
    let product = q.get("productId").unwrap_or("the sale");
    let product = product
        .chars()
        .filter(|c| c.is_alphanumeric() || "-_. ".contains(*c))
        .collect::<String>();
    let page = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"5\"><title>Waiting room</title></head>\
         <body><h1>You are in the waiting room</h1>\
         <p>Demand for {product} is very high. Keep this page open: \
         you will be let through in a few seconds.</p></body></html>\n"
    );
    ([(header::RETRY_AFTER, "5")], Html(page)).into_response()
}

/// `GET /sale/{productId}`: stock and counts of one sale.
pub(crate) async fn sale(
    State(state): State<Arc<DemoState>>,
    Path(product): Path<String>,
) -> Result<Response, ApiError> {
    let sale = state
        .flash
        .get(&product)
        .ok_or_else(|| ApiError::not_found(format!("no sale for product {product:?}")))?;
    Ok(json(StatusCode::OK, &sale.view()))
}

/// `GET /verify[?productId=]`: one sale as `/sale/{productId}`, or every
/// sale with an overall `oversold`.
pub(crate) async fn verify(
    State(state): State<Arc<DemoState>>,
    q: Query,
) -> Result<Response, ApiError> {
    if let Some(product) = q.get("productId") {
        return sale(State(state), Path(product.to_string())).await;
    }
    let sales = state.flash.all();
    let views: Vec<_> = sales.iter().map(|s| s.view()).collect();
    let oversold = views.iter().any(|v| v.oversold);
    Ok(json(
        StatusCode::OK,
        &json_value!({ "sales": views, "oversold": oversold }),
    ))
}
