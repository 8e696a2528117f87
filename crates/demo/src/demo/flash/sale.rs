//! One flash sale: a fixed stock sold one unit per accepted order, with a
//! compare-and-swap that can never sell more than the stock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde_json::json as json_value;

use super::idempotency::{Keys, Outcome};

#[derive(Debug)]
pub(crate) struct Sale {
    pub(crate) product_id: String,
    pub(crate) initial: u64,
    remaining: AtomicU64,
    /// Orders answered 200 (counted apart from `remaining`, as a check).
    accepted: AtomicU64,
    pub(crate) sold_out: AtomicU64,
    pub(crate) rate_limited: AtomicU64,
    pub(crate) replayed: AtomicU64,
    pub(crate) keys: Keys,
    /// The same body answers every sold-out order.
    sold_out_body: Bytes,
}

/// `GET /sale/{productId}`.
#[derive(Serialize)]
pub(crate) struct SaleView<'a> {
    #[serde(rename = "productId")]
    product_id: &'a str,
    initial: u64,
    remaining: u64,
    orders_accepted: u64,
    sold_out_rejections: u64,
    rate_limited: u64,
    replayed: u64,
    /// More orders accepted than there was stock.
    pub(crate) oversold: bool,
    /// `orders_accepted == initial - remaining` (may be briefly false while
    /// orders are in flight).
    consistent: bool,
}

impl Sale {
    pub(crate) fn new(product_id: String, quantity: u64, idempotency_ttl: Duration) -> Sale {
        let sold_out_body = serde_json::to_vec(&json_value!({
            "status": "sold_out",
            "error": "sold out",
            "productId": product_id,
        }))
        .unwrap_or_default()
        .into();
        Sale {
            product_id,
            initial: quantity,
            remaining: AtomicU64::new(quantity),
            accepted: AtomicU64::new(0),
            sold_out: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            replayed: AtomicU64::new(0),
            keys: Keys::new(idempotency_ttl),
            sold_out_body,
        }
    }

    /// Sells one unit to `user` if any is left: 200 with the order, or 409.
    pub(crate) fn place(&self, user_id: &str, user: u64) -> Outcome {
        match self
            .remaining
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |r| r.checked_sub(1))
        {
            Ok(before) => {
                self.accepted.fetch_add(1, Ordering::AcqRel);
                // Units are numbered 1..=initial: order ids are unique.
                let number = self.initial - before + 1;
                let body = json_value!({
                    "status": "accepted",
                    "orderId": format!("{}-{number:06}", self.product_id),
                    "productId": self.product_id,
                    "userId": user_id,
                    "remaining": before - 1,
                });
                Outcome {
                    status: 200,
                    body: serde_json::to_vec(&body).unwrap_or_default().into(),
                    user,
                }
            }
            Err(_) => {
                self.sold_out.fetch_add(1, Ordering::Relaxed);
                Outcome {
                    status: 409,
                    body: self.sold_out_body.clone(),
                    user,
                }
            }
        }
    }

    pub(crate) fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Acquire)
    }

    pub(crate) fn view(&self) -> SaleView<'_> {
        // Read `accepted` first: a unit is taken before it is counted, so
        // this order never shows more accepted than taken.
        let accepted = self.accepted();
        let remaining = self.remaining.load(Ordering::Acquire);
        SaleView {
            product_id: &self.product_id,
            initial: self.initial,
            remaining,
            orders_accepted: accepted,
            sold_out_rejections: self.sold_out.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            replayed: self.replayed.load(Ordering::Relaxed),
            oversold: accepted > self.initial,
            consistent: accepted == self.initial - remaining.min(self.initial),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sells_exactly_the_stock() {
        let sale = Sale::new("p".into(), 3, Duration::from_secs(60));
        let statuses: Vec<u16> = (0..5).map(|_| sale.place("u", 0).status).collect();
        assert_eq!(statuses, [200, 200, 200, 409, 409]);
        let v = sale.view();
        assert_eq!((v.remaining, v.orders_accepted, v.oversold), (0, 3, false));
        assert!(v.consistent);
    }
}
