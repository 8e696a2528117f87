//! The multi-tenant shop API of seed 001 (`/api/...`): a generated product
//! catalogue, orders that take stock atomically, heavy reports, tenant
//! logins with per-tier rate limits. See the [endpoint
//! reference](crate::demo#shop-api-seed-001).

mod catalog;
mod inventory;
mod orders;
mod products;
mod reports;
mod tenants;

use std::sync::Arc;

use axum::routing::{get, post};
use axum::{middleware, Router};
use tokio::sync::Semaphore;

use super::config::DemoConfig;
use super::stats::{self, Service};
use super::{faults, DemoState};
use catalog::Catalog;
use orders::Orders;
use tenants::Tenants;

/// The shop's data.
#[derive(Debug)]
pub(crate) struct Shop {
    pub(crate) catalog: Catalog,
    pub(crate) orders: Orders,
    tenants: Tenants,
    /// Inventory reports computing at once, at most one per core.
    report_slots: Semaphore,
    /// The optional cache of the inventory report.
    pub(crate) cache: Option<super::cache::Cache>,
    /// The optional database of the orders.
    pub(crate) database: Option<super::database::Database>,
}

impl Shop {
    pub(crate) fn new(cfg: &DemoConfig) -> Shop {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Shop {
            catalog: Catalog::generate(cfg.products, cfg.seed, cfg.flash_product_stock),
            orders: Orders::default(),
            tenants: Tenants::new(cfg.seed, cfg.tier_rates),
            report_slots: Semaphore::new(cores),
            cache: cfg.cache.as_deref().map(super::cache::Cache::new),
            database: cfg.database.as_deref().map(super::database::Database::new),
        }
    }
}

/// The shop's routes, with request counting, faults and rate limits.
pub(crate) fn router(state: Arc<DemoState>) -> Router {
    Router::new()
        .route("/api/auth/login", post(tenants::login))
        .route("/api/products", get(products::list))
        .route("/api/products/search", get(products::search))
        .route("/api/products/{id}", get(products::get_one))
        .route("/api/orders", post(orders::create))
        .route("/api/orders/{id}", get(orders::get_one))
        .route("/api/inventory/adjustments", post(inventory::adjust))
        .route("/api/bulk/import", post(inventory::import))
        .route("/api/reports/inventory", get(reports::inventory))
        .route("/api/reports/order-details", get(reports::order_details))
        .route(
            "/api/analytics/inventory-summary",
            get(reports::inventory_summary),
        )
        .layer(middleware::from_fn_with_state(
            state.clone(),
            tenants::limit,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::inject,
        ))
        .layer(middleware::from_fn_with_state(
            (state.clone(), Service::Shop),
            stats::count,
        ))
        .with_state(state)
}
