//! `GET /api/products`, `GET /api/products/search`, `GET /api/products/{id}`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use serde::Serialize;

use super::catalog::{Product, ProductView};
use crate::demo::api::{json, ApiError, Query};
use crate::demo::DemoState;

const DEFAULT_LIMIT: u64 = 20;
const MAX_LIMIT: u64 = 100;

#[derive(Serialize)]
struct Page<'a> {
    items: Vec<ProductView<'a>>,
    total: usize,
    page: u64,
    limit: u64,
    pages: u64,
}

/// `page` (from 1) and `limit` (alias `per_page`).
fn paging(q: &Query) -> Result<(u64, u64), ApiError> {
    let page = q.int("page", 1, 1, 1_000_000)?;
    let limit = match q.get("limit") {
        Some(_) => q.int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)?,
        None => q.int("per_page", DEFAULT_LIMIT, 1, MAX_LIMIT)?,
    };
    Ok((page, limit))
}

fn page_response(items: &[Arc<Product>], total: usize, page: u64, limit: u64) -> Response {
    json(
        StatusCode::OK,
        &Page {
            items: items.iter().map(|p| p.view()).collect(),
            total,
            page,
            limit,
            pages: (total as u64).div_ceil(limit),
        },
    )
}

/// `GET /api/products?page=&limit=&category=`.
pub(crate) async fn list(
    State(state): State<Arc<DemoState>>,
    q: Query,
) -> Result<Response, ApiError> {
    let (page, limit) = paging(&q)?;
    let offset = ((page - 1) * limit) as usize;
    if q.get("category").is_some() {
        return search(State(state), q).await;
    }
    let (items, total) = state.shop.catalog.page(offset, limit as usize);
    Ok(page_response(&items, total, page, limit))
}

/// `GET /api/products/search?q=&category=&min_price=&max_price=&in_stock=&sort=`
/// plus paging; `sort` is `relevance` (catalogue order), `price_asc`,
/// `price_desc`, `rating` or `name`.
pub(crate) async fn search(
    State(state): State<Arc<DemoState>>,
    q: Query,
) -> Result<Response, ApiError> {
    let (page, limit) = paging(&q)?;
    let text = q.get("q").map(|t| t.trim().to_lowercase());
    let category = q.get("category").map(str::to_lowercase);
    let min = price_param(&q, "min_price")?;
    let max = price_param(&q, "max_price")?;
    if let (Some(min), Some(max)) = (min, max) {
        if min > max {
            return Err(ApiError::bad_request("min_price must not exceed max_price"));
        }
    }
    let in_stock = match q.get("in_stock") {
        None => false,
        Some("true" | "1") => true,
        Some("false" | "0") => false,
        Some(_) => return Err(ApiError::bad_request("in_stock must be true or false")),
    };
    let sort = q.get("sort").unwrap_or("relevance");
    if !["relevance", "price_asc", "price_desc", "rating", "name"].contains(&sort) {
        return Err(ApiError::bad_request(
            "sort must be relevance, price_asc, price_desc, rating or name",
        ));
    }
    let mut hits = Vec::new();
    state.shop.catalog.for_each(|p| {
        let matches = text.as_deref().is_none_or(|t| p.haystack.contains(t))
            && category
                .as_deref()
                .is_none_or(|c| p.category.eq_ignore_ascii_case(c))
            && min.is_none_or(|m| p.price_cents >= m)
            && max.is_none_or(|m| p.price_cents <= m)
            && (!in_stock || p.stock() > 0);
        if matches {
            hits.push(p.clone());
        }
    });
    match sort {
        "price_asc" => hits.sort_by_key(|p| p.price_cents),
        "price_desc" => hits.sort_by_key(|p| std::cmp::Reverse(p.price_cents)),
        "rating" => hits.sort_by_key(|p| std::cmp::Reverse(p.rating_tenths)),
        "name" => hits.sort_by(|a, b| a.name.cmp(&b.name)),
        _ => {}
    }
    let total = hits.len();
    let start = (((page - 1) * limit) as usize).min(total);
    let end = (start + limit as usize).min(total);
    Ok(page_response(&hits[start..end], total, page, limit))
}

/// A price parameter in currency units, as cents.
fn price_param(q: &Query, name: &str) -> Result<Option<u64>, ApiError> {
    match q.parse::<f64>(name)? {
        Some(v) if v.is_finite() && v >= 0.0 => Ok(Some((v * 100.0).round() as u64)),
        Some(_) => Err(ApiError::bad_request(format!(
            "{name} must be a non-negative number"
        ))),
        None => Ok(None),
    }
}

/// `GET /api/products/{id}`.
pub(crate) async fn get_one(
    State(state): State<Arc<DemoState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let p = state
        .shop
        .catalog
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("no product {id:?}")))?;
    Ok(json(StatusCode::OK, &p.view()))
}
