//! Writes to the catalogue: `POST /api/inventory/adjustments` (all or
//! nothing, stock never below zero) and `POST /api/bulk/import`.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json as json_value;

use super::catalog::{Product, MAX_PRODUCTS};
use crate::demo::api::{id_string, json, ApiError, Body};
use crate::demo::DemoState;

/// Most adjustments, or imported products, in one request.
const MAX_BATCH: usize = 10_000;

#[derive(Deserialize)]
pub(crate) struct AdjustmentsRequest {
    adjustments: Vec<Adjustment>,
}

#[derive(Deserialize)]
struct Adjustment {
    #[serde(alias = "productId", deserialize_with = "id_string")]
    product_id: String,
    delta: i64,
}

#[derive(Serialize)]
struct Adjusted {
    product_id: String,
    stock: u64,
}

/// `POST /api/inventory/adjustments {adjustments: [{product_id, delta}]}`:
/// applies every delta or none; 409 when one would take a product's stock
/// below zero, 400 for unknown products.
pub(crate) async fn adjust(
    State(state): State<Arc<DemoState>>,
    Body(req): Body<AdjustmentsRequest>,
) -> Result<Response, ApiError> {
    if req.adjustments.is_empty() || req.adjustments.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "adjustments must hold 1 to {MAX_BATCH} entries"
        )));
    }
    let mut resolved = Vec::with_capacity(req.adjustments.len());
    for (i, a) in req.adjustments.into_iter().enumerate() {
        let product = state.shop.catalog.get(&a.product_id).ok_or_else(|| {
            ApiError::bad_request(format!(
                "adjustments[{i}].product_id {:?} does not exist",
                a.product_id
            ))
        })?;
        resolved.push((product, a.delta));
    }
    let mut applied = Vec::with_capacity(resolved.len());
    for (i, (product, delta)) in resolved.iter().enumerate() {
        match product.adjust(*delta) {
            Ok(stock) => applied.push(Adjusted {
                product_id: product.id.clone(),
                stock,
            }),
            Err(stock) => {
                for (p, d) in resolved[..i].iter().rev() {
                    // Undo in reverse. Taking back an added delta fails
                    // only if orders took those units meanwhile: then the
                    // product ends at zero, never below.
                    let _ = p.adjust(-d).or_else(|now| p.adjust(-(now as i64)));
                }
                return Ok(json(
                    StatusCode::CONFLICT,
                    &json_value!({
                        "error": format!(
                            "adjustments[{i}] would take product {:?} below zero",
                            product.id
                        ),
                        "product_id": product.id,
                        "delta": delta,
                        "stock": stock,
                    }),
                ));
            }
        }
    }
    Ok(json(
        StatusCode::OK,
        &json_value!({ "applied": applied.len(), "results": applied }),
    ))
}

/// One product of a bulk import.
#[derive(Deserialize)]
struct Import {
    #[serde(default, deserialize_with = "opt_id")]
    id: Option<String>,
    name: String,
    #[serde(default = "default_category")]
    category: String,
    #[serde(default)]
    description: String,
    price: f64,
    #[serde(default)]
    stock: u64,
}

fn default_category() -> String {
    "uncategorized".to_string()
}

fn opt_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    id_string(d).map(Some)
}

/// An array of products, or `{"products": [...]}`.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum ImportRequest {
    List(Vec<serde_json::Value>),
    Wrapped { products: Vec<serde_json::Value> },
}

/// `POST /api/bulk/import [{id?, name, category?, description?, price, stock?}]`
/// (or `{"products": [...]}`): 201 with the ids created; products whose id
/// exists are skipped and listed.
pub(crate) async fn import(
    State(state): State<Arc<DemoState>>,
    Body(req): Body<ImportRequest>,
) -> Result<Response, ApiError> {
    let (ImportRequest::List(raw) | ImportRequest::Wrapped { products: raw }) = req;
    if raw.is_empty() || raw.len() > MAX_BATCH {
        return Err(ApiError::bad_request(format!(
            "an import holds 1 to {MAX_BATCH} products"
        )));
    }
    let catalog = &state.shop.catalog;
    let mut products = Vec::with_capacity(raw.len());
    for (i, value) in raw.into_iter().enumerate() {
        let p: Import = serde_json::from_value(value)
            .map_err(|e| ApiError::bad_request(format!("products[{i}]: {e}")))?;
        let name = p.name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(ApiError::bad_request(format!(
                "products[{i}].name must have 1 to 200 characters"
            )));
        }
        if !(p.price.is_finite() && p.price >= 0.0 && p.price <= 1e9) {
            return Err(ApiError::bad_request(format!(
                "products[{i}].price must be between 0 and 1000000000"
            )));
        }
        // An empty id is assigned the next free number on insertion.
        let id = p.id.map(|id| id.trim().to_string()).unwrap_or_default();
        products.push(Product::new(
            id,
            name.to_string(),
            p.category.trim().to_lowercase(),
            p.description,
            (p.price * 100.0).round() as u64,
            p.stock,
            30,
        ));
    }
    let (created, skipped) = catalog.insert_all(products).map_err(|max| {
        ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            format!("the catalogue holds at most {max} products"),
        )
    })?;
    let status = if created.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    debug_assert!(catalog.len() <= MAX_PRODUCTS);
    Ok(json(
        status,
        &json_value!({
            "imported": created.len(),
            "ids": created,
            "skipped": skipped,
            "total_products": catalog.len(),
        }),
    ))
}
