//! The product catalogue: generated from a seed, grown by bulk imports,
//! with stock that orders and adjustments change atomically.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use serde::Serialize;

use crate::demo::api::money;

/// The product of seed 001's flash-sale test.
pub(crate) const FLASH_PRODUCT_ID: &str = "flash-sale-product-001";

/// Most products the catalogue holds (generated and imported).
pub(crate) const MAX_PRODUCTS: usize = 1_000_000;

pub(crate) const CATEGORIES: [&str; 10] = [
    "electronics",
    "books",
    "clothing",
    "home",
    "garden",
    "toys",
    "sports",
    "beauty",
    "grocery",
    "automotive",
];

/// Price range per category, in cents.
const PRICE_RANGES: [(u64, u64); 10] = [
    (1_999, 199_999),
    (499, 5_999),
    (999, 19_999),
    (1_499, 49_999),
    (799, 29_999),
    (599, 14_999),
    (1_299, 39_999),
    (399, 9_999),
    (99, 2_999),
    (1_999, 89_999),
];

const ADJECTIVES: [&str; 16] = [
    "Ergonomic",
    "Rustic",
    "Sleek",
    "Compact",
    "Deluxe",
    "Classic",
    "Smart",
    "Portable",
    "Durable",
    "Vintage",
    "Modern",
    "Premium",
    "Eco",
    "Wireless",
    "Handmade",
    "Heavy-Duty",
];

const NOUNS: [[&str; 4]; 10] = [
    ["Headphones", "Keyboard", "Monitor", "Charger"],
    ["Novel", "Cookbook", "Atlas", "Notebook"],
    ["Jacket", "Sneakers", "Scarf", "T-Shirt"],
    ["Lamp", "Chair", "Blanket", "Kettle"],
    ["Planter", "Hose", "Shovel", "Bird Feeder"],
    ["Puzzle", "Robot Kit", "Plush Bear", "Board Game"],
    ["Yoga Mat", "Dumbbell", "Bicycle Helmet", "Water Bottle"],
    ["Face Cream", "Shampoo", "Perfume", "Lip Balm"],
    ["Coffee Beans", "Olive Oil", "Granola", "Green Tea"],
    ["Floor Mats", "Dash Cam", "Tire Gauge", "Car Wax"],
];

/// One product. Everything but the stock is fixed once created.
#[derive(Debug)]
pub(crate) struct Product {
    pub(crate) id: String,
    pub(crate) sku: String,
    pub(crate) name: String,
    pub(crate) category: String,
    pub(crate) description: String,
    pub(crate) price_cents: u64,
    /// Tenths of a star, 10 to 50.
    pub(crate) rating_tenths: u8,
    stock: AtomicU64,
    /// Lowercase name, category and description, for text search.
    pub(crate) haystack: String,
}

/// A product as the API shows it.
#[derive(Serialize)]
pub(crate) struct ProductView<'a> {
    id: &'a str,
    sku: &'a str,
    name: &'a str,
    category: &'a str,
    description: &'a str,
    price: f64,
    currency: &'static str,
    stock: u64,
    in_stock: bool,
    rating: f64,
}

impl Product {
    pub(crate) fn new(
        id: String,
        name: String,
        category: String,
        description: String,
        price_cents: u64,
        stock: u64,
        rating_tenths: u8,
    ) -> Product {
        let haystack = format!("{name} {category} {description}").to_lowercase();
        Product {
            sku: format!("SKU-{}", id.to_uppercase()),
            id,
            name,
            category,
            description,
            price_cents,
            rating_tenths,
            stock: AtomicU64::new(stock),
            haystack,
        }
    }

    pub(crate) fn stock(&self) -> u64 {
        self.stock.load(Ordering::Acquire)
    }

    /// Takes `n` units if that many are left; never goes below zero.
    pub(crate) fn try_take(&self, n: u64) -> bool {
        self.stock
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| s.checked_sub(n))
            .is_ok()
    }

    /// Returns `n` units taken by [`Product::try_take`].
    pub(crate) fn put_back(&self, n: u64) {
        self.stock.fetch_add(n, Ordering::AcqRel);
    }

    /// Adds `delta` (possibly negative) unless the stock would go below
    /// zero; returns the new stock, or the current one on refusal.
    pub(crate) fn adjust(&self, delta: i64) -> Result<u64, u64> {
        self.stock
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                s.checked_add_signed(delta)
            })
            .map(|old| old.wrapping_add_signed(delta))
    }

    pub(crate) fn view(&self) -> ProductView<'_> {
        let stock = self.stock();
        ProductView {
            id: &self.id,
            sku: &self.sku,
            name: &self.name,
            category: &self.category,
            description: &self.description,
            price: money(self.price_cents),
            currency: "USD",
            stock,
            in_stock: stock > 0,
            rating: f64::from(self.rating_tenths) / 10.0,
        }
    }
}

/// All products, in creation order, with an index by id.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    // Readers clone the `Arc`s they need and let go at once, so the lock is
    // never held across an await or a long computation.
    inner: RwLock<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    products: Vec<Arc<Product>>,
    index: HashMap<String, usize>,
}

impl Catalog {
    /// `n` generated products with ids `"1"` to `"n"` plus the flash-sale
    /// product; the same `seed` gives the same catalogue.
    pub(crate) fn generate(n: usize, seed: u64, flash_stock: u64) -> Catalog {
        let mut rng = SplitMix64(seed);
        let mut inner = Inner::default();
        for i in 1..=n.min(MAX_PRODUCTS - 1) {
            let c = rng.below(CATEGORIES.len() as u64) as usize;
            let adjective = ADJECTIVES[rng.below(ADJECTIVES.len() as u64) as usize];
            let noun = NOUNS[c][rng.below(4) as usize];
            let (lo, hi) = PRICE_RANGES[c];
            // Prices end in 99 cents, as shops like them.
            let price = (lo + rng.below(hi - lo)) / 100 * 100 + 99;
            // About 3% out of stock, the rest 1 to 500 units.
            let stock = if rng.below(100) < 3 {
                0
            } else {
                1 + rng.below(500)
            };
            let rating = 10 + rng.below(41) as u8;
            let name = format!("{adjective} {noun}");
            let description = format!(
                "{name} from our {} range, model {:04}.",
                CATEGORIES[c],
                rng.below(10_000)
            );
            inner.push(Product::new(
                i.to_string(),
                name,
                CATEGORIES[c].to_string(),
                description,
                price,
                stock,
                rating,
            ));
        }
        inner.push(Product::new(
            FLASH_PRODUCT_ID.to_string(),
            "Flash Sale Smartphone".to_string(),
            "flash-sale".to_string(),
            "Limited stock, one day only.".to_string(),
            49_999,
            flash_stock,
            48,
        ));
        Catalog {
            inner: RwLock::new(inner),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn len(&self) -> usize {
        self.read().products.len()
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<Product>> {
        let inner = self.read();
        inner.index.get(id).map(|&i| inner.products[i].clone())
    }

    /// Products `offset..offset + limit`, and the total.
    pub(crate) fn page(&self, offset: usize, limit: usize) -> (Vec<Arc<Product>>, usize) {
        let inner = self.read();
        let total = inner.products.len();
        let start = offset.min(total);
        let end = start.saturating_add(limit).min(total);
        (inner.products[start..end].to_vec(), total)
    }

    /// Every product (cheap: `Arc`s), for reports that must not hold the
    /// lock while they compute.
    pub(crate) fn snapshot(&self) -> Vec<Arc<Product>> {
        self.read().products.clone()
    }

    /// Calls `f` on every product under the read lock; for quick scans.
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Arc<Product>)) {
        self.read().products.iter().for_each(&mut f);
    }

    /// Adds products whose ids are new (an empty id gets the next free
    /// number); returns the ids added and the ids skipped because they
    /// exist, or `Err` if the catalogue would exceed [`MAX_PRODUCTS`].
    pub(crate) fn insert_all(
        &self,
        products: Vec<Product>,
    ) -> Result<(Vec<String>, Vec<String>), usize> {
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.products.len() + products.len() > MAX_PRODUCTS {
            return Err(MAX_PRODUCTS);
        }
        let (mut added, mut skipped) = (Vec::new(), Vec::new());
        let mut number = inner.products.len() as u64;
        for mut p in products {
            if p.id.is_empty() {
                p.id = loop {
                    number += 1;
                    let id = number.to_string();
                    if !inner.index.contains_key(&id) {
                        break id;
                    }
                };
                p.sku = format!("SKU-{}", p.id);
            }
            if inner.index.contains_key(&p.id) {
                skipped.push(p.id);
            } else {
                added.push(p.id.clone());
                inner.push(p);
            }
        }
        Ok((added, skipped))
    }
}

impl Inner {
    fn push(&mut self, p: Product) {
        self.index.insert(p.id.clone(), self.products.len());
        self.products.push(Arc::new(p));
    }
}

/// A tiny, fixed PRNG (SplitMix64), so a seed gives the same catalogue
/// whatever version of `rand` is in the build.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic() {
        let a = Catalog::generate(50, 7, 10);
        let b = Catalog::generate(50, 7, 10);
        let c = Catalog::generate(50, 8, 10);
        let names = |cat: &Catalog| -> Vec<(String, u64, u64)> {
            cat.snapshot()
                .iter()
                .map(|p| (p.name.clone(), p.price_cents, p.stock()))
                .collect()
        };
        assert_eq!(names(&a), names(&b));
        assert_ne!(names(&a), names(&c));
        assert_eq!(a.len(), 51);
        assert_eq!(a.get(FLASH_PRODUCT_ID).unwrap().stock(), 10);
        assert!(a.get("50").is_some() && a.get("51").is_none());
    }

    #[test]
    fn stock_never_goes_negative() {
        let p = Product::new(
            "x".into(),
            "X".into(),
            "c".into(),
            String::new(),
            100,
            3,
            40,
        );
        assert!(p.try_take(2));
        assert!(!p.try_take(2));
        assert_eq!(p.stock(), 1);
        p.put_back(2);
        assert_eq!(p.adjust(-3), Ok(0));
        assert_eq!(p.adjust(-1), Err(0));
        assert_eq!(p.adjust(5), Ok(5));
    }
}
