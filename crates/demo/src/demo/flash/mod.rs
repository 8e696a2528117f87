//! The flash sale of seed 003 (`/init`, `/order`, `/waiting-room`,
//! `/sale/{productId}`, `/verify`): one product, a limited stock, a global
//! admission rate that sends the excess to a waiting room, idempotency keys,
//! and never an oversold unit. See the [endpoint
//! reference](crate::demo#flash-sale-seed-003).

mod handlers;
mod idempotency;
mod sale;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::routing::{get, post};
use axum::{middleware, Router};

use super::config::DemoConfig;
use super::rate_limit::TokenBucket;
use super::stats::{self, Service};
use super::{faults, DemoState};
use sale::Sale;

/// All sales, by product.
#[derive(Debug)]
pub(crate) struct FlashSales {
    sales: RwLock<HashMap<String, Arc<Sale>>>,
    /// `None` admits everything.
    admission: Option<TokenBucket>,
    idempotency_ttl: Duration,
    // Totals over every sale since start (a sale's own counts restart with
    // it), for `/metrics`.
    accepted: AtomicU64,
    sold_out: AtomicU64,
    rate_limited: AtomicU64,
    replayed: AtomicU64,
}

/// Totals for the metrics endpoints.
pub(crate) struct FlashMetrics {
    pub(crate) sales: usize,
    pub(crate) accepted: u64,
    pub(crate) sold_out: u64,
    pub(crate) rate_limited: u64,
    pub(crate) replayed: u64,
}

impl FlashSales {
    pub(crate) fn new(cfg: &DemoConfig) -> FlashSales {
        let rate = cfg.flash_admission_rate;
        FlashSales {
            sales: RwLock::default(),
            // Bursts of a tenth of a second's worth: enough to absorb a
            // scheduler hiccup, small enough that a ramp meets the limit.
            admission: (rate > 0).then(|| TokenBucket::new(rate, (rate / 10).max(1))),
            idempotency_ttl: cfg.idempotency_ttl,
            accepted: AtomicU64::new(0),
            sold_out: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            replayed: AtomicU64::new(0),
        }
    }

    fn get(&self, product: &str) -> Option<Arc<Sale>> {
        self.sales
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(product)
            .cloned()
    }

    /// Starts (or restarts) the sale of `product` with `quantity` units.
    fn init(&self, product: String, quantity: u64) -> Arc<Sale> {
        let sale = Arc::new(Sale::new(product.clone(), quantity, self.idempotency_ttl));
        self.sales
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(product, sale.clone());
        sale
    }

    fn all(&self) -> Vec<Arc<Sale>> {
        let mut sales: Vec<_> = self
            .sales
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        sales.sort_by(|a, b| a.product_id.cmp(&b.product_id));
        sales
    }

    pub(crate) fn metrics(&self) -> FlashMetrics {
        FlashMetrics {
            sales: self.sales.read().unwrap_or_else(|e| e.into_inner()).len(),
            accepted: self.accepted.load(Ordering::Relaxed),
            sold_out: self.sold_out.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            replayed: self.replayed.load(Ordering::Relaxed),
        }
    }
}

/// The flash sale's routes, with request counting and faults.
pub(crate) fn router(state: Arc<DemoState>) -> Router {
    Router::new()
        .route("/init", post(handlers::init))
        .route("/order", post(handlers::order))
        .route("/waiting-room", get(handlers::waiting_room))
        .route("/sale/{product}", get(handlers::sale))
        .route("/verify", get(handlers::verify))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::inject,
        ))
        .layer(middleware::from_fn_with_state(
            (state.clone(), Service::Flash),
            stats::count,
        ))
        .with_state(state)
}
