//! [`DemoConfig`]: what `stampede target` / `stampede demo` can tune.

use std::net::SocketAddr;
use std::time::Duration;

/// Where the demo target listens unless told otherwise: the address the
/// seeds' scripts default to (`BASE_URL || 'http://localhost:3000'`).
pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";

/// Settings of a [`DemoTarget`](super::DemoTarget). Start from
/// `DemoConfig::default()` and change what you need.
#[derive(Clone, Debug)]
pub struct DemoConfig {
    /// Listen address; [`DEFAULT_ADDR`] by default. Port 0 picks a free port.
    pub addr: SocketAddr,
    /// Regular products in the shop catalogue (the flash-sale product
    /// `flash-sale-product-001` comes on top).
    pub products: usize,
    /// Seed of the generated catalogue: the same seed and size give the same
    /// products (names, categories, prices, stock) on every run.
    pub seed: u64,
    /// Stock of the shop's `flash-sale-product-001`.
    pub flash_product_stock: u64,
    /// Per-tenant request rates of the shop API (seed 001's tiers).
    pub tier_rates: TierRates,
    /// Orders per second the flash sale admits across all clients; the rest
    /// are sent to the waiting room (302). 0 admits everything.
    pub flash_admission_rate: u32,
    /// How long the flash sale remembers an idempotency key (at least this
    /// long, at most twice as long).
    pub idempotency_ttl: Duration,
    /// Lifetime of the task service's access tokens.
    pub access_token_ttl: Duration,
    /// Lifetime of the task service's refresh tokens.
    pub refresh_token_ttl: Duration,
    /// How long a `generate-pdf` task takes from queued to completed
    /// (`resize-image` takes half as long, `compress-video` twice as long).
    pub task_duration: Duration,
    /// Fraction (0 to 1) of tasks that fail half-way on their own.
    pub task_failure_rate: f64,
    /// Worker threads of the runtime [`DemoTarget::start_in_background`]
    /// creates (a target started with [`DemoTarget::start`] uses the
    /// caller's runtime).
    ///
    /// [`DemoTarget::start_in_background`]: super::DemoTarget::start_in_background
    /// [`DemoTarget::start`]: super::DemoTarget::start
    pub worker_threads: usize,
    /// A Redis (RESP) cache for the inventory report (`host:port`); none by
    /// default. With it, chaos experiments can break a real dependency.
    pub cache: Option<String>,
    /// A Redis (RESP) database holding the shop's orders (`host:port`);
    /// none by default (orders live in memory only). With it, a database
    /// failure is a real one: orders answer 503 while it is down.
    pub database: Option<String>,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            addr: DEFAULT_ADDR.parse().expect("DEFAULT_ADDR is an address"),
            products: 1000,
            seed: 1,
            flash_product_stock: 100,
            tier_rates: TierRates::default(),
            flash_admission_rate: 2000,
            idempotency_ttl: Duration::from_secs(120),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(24 * 60 * 60),
            task_duration: Duration::from_secs(3),
            task_failure_rate: 0.0,
            worker_threads: 2,
            cache: None,
            database: None,
        }
    }
}

/// Most regular products [`DemoConfig::products`] may ask for.
pub const MAX_PRODUCTS: usize = 999_999;

impl DemoConfig {
    /// Every problem with the settings (empty when they are fine), so a CLI
    /// can report them all at once.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.products > MAX_PRODUCTS {
            problems.push(format!("products must be at most {MAX_PRODUCTS}"));
        }
        if !(0.0..=1.0).contains(&self.task_failure_rate) {
            problems.push("task failure rate must be between 0 and 1".to_string());
        }
        if self.access_token_ttl.is_zero() || self.refresh_token_ttl.is_zero() {
            problems.push("token lifetimes must be positive".to_string());
        }
        if self.idempotency_ttl.is_zero() {
            problems.push("the idempotency TTL must be positive".to_string());
        }
        if self.task_duration > Duration::from_secs(3600) {
            problems.push("task duration must be at most an hour".to_string());
        }
        for (what, addr) in [("cache", &self.cache), ("database", &self.database)] {
            if addr.as_deref().is_some_and(|a| {
                a.rsplit_once(':')
                    .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
            }) {
                problems.push(format!("the {what} address must be HOST:PORT"));
            }
        }
        if self.worker_threads == 0 {
            problems.push("worker threads must be at least 1".to_string());
        }
        problems
    }
}

/// Requests per second each shop tier may make (a token bucket per tenant
/// that holds one second's worth). 0 means unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TierRates {
    /// `free-tier@example.com`; 20 by default.
    pub free: u32,
    /// `starter-tier@example.com`; 200 by default.
    pub starter: u32,
    /// `pro-tier@example.com`; 2000 by default.
    pub professional: u32,
    /// `enterprise-tier@example.com`; 10000 by default.
    pub enterprise: u32,
}

impl Default for TierRates {
    fn default() -> Self {
        TierRates {
            free: 20,
            starter: 200,
            professional: 2000,
            enterprise: 10_000,
        }
    }
}
