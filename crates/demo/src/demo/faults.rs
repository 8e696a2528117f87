//! Injected faults for chaos tests: added latency, a fraction of failing
//! requests, and an order store that is down. Set through `/admin/faults`
//! or [`DemoTarget::set_faults`](super::DemoTarget::set_faults); applied to
//! the shop, flash-sale and task endpoints, never to `/admin/*`, `/health`,
//! `/metrics` or `/api/metrics`, so a test can still observe and heal the
//! target.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::api::{json, ApiError, Body};
use super::DemoState;

/// The faults in force. The default injects nothing.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// Added to every affected request, in milliseconds (at most 60000).
    pub latency_ms: u64,
    /// A random extra delay of up to this many milliseconds (at most 60000).
    pub latency_jitter_ms: u64,
    /// Fraction (0 to 1) of affected requests that fail with `error_status`.
    pub error_rate: f64,
    /// Status of the injected failures (400 to 599); 503 by default.
    pub error_status: u16,
    /// Order creation (`POST /api/orders`, `POST /order`) answers 503
    /// `{"error":"order store unavailable"}`.
    pub order_store_down: bool,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            latency_ms: 0,
            latency_jitter_ms: 0,
            error_rate: 0.0,
            error_status: 503,
            order_store_down: false,
        }
    }
}

const MAX_LATENCY_MS: u64 = 60_000;

impl FaultConfig {
    /// Every problem with the values, so one request fixes them all.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.latency_ms > MAX_LATENCY_MS {
            problems.push(format!("latency_ms must be at most {MAX_LATENCY_MS}"));
        }
        if self.latency_jitter_ms > MAX_LATENCY_MS {
            problems.push(format!(
                "latency_jitter_ms must be at most {MAX_LATENCY_MS}"
            ));
        }
        if !(0.0..=1.0).contains(&self.error_rate) {
            problems.push("error_rate must be between 0 and 1".to_string());
        }
        if !(400..=599).contains(&self.error_status) {
            problems.push("error_status must be between 400 and 599".to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    fn is_noop(&self) -> bool {
        self.latency_ms == 0
            && self.latency_jitter_ms == 0
            && self.error_rate == 0.0
            && !self.order_store_down
    }
}

/// The faults of one target.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    /// Whether any fault is set: the common case costs one atomic load.
    active: AtomicBool,
    config: RwLock<FaultConfig>,
}

impl Faults {
    pub(crate) fn get(&self) -> FaultConfig {
        *self.config.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the faults; the caller has validated them.
    pub(crate) fn set(&self, config: FaultConfig) {
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = config;
        self.active.store(!config.is_noop(), Ordering::Release);
    }

    fn current(&self) -> Option<FaultConfig> {
        self.active.load(Ordering::Acquire).then(|| self.get())
    }

    /// 503 `order store unavailable` while the order store is down.
    pub(crate) fn check_order_store(&self) -> Result<(), ApiError> {
        match self.current() {
            Some(f) if f.order_store_down => Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "order store unavailable",
            )),
            _ => Ok(()),
        }
    }
}

/// Middleware of the affected routes: delays, then maybe fails.
pub(crate) async fn inject(
    State(state): State<Arc<DemoState>>,
    req: Request,
    next: Next,
) -> Response {
    let Some(f) = state.faults.current() else {
        return next.run(req).await;
    };
    let (delay, fail) = {
        let mut rng = rand::rng();
        let jitter = if f.latency_jitter_ms > 0 {
            rng.random_range(0..=f.latency_jitter_ms)
        } else {
            0
        };
        (
            f.latency_ms + jitter,
            f.error_rate > 0.0 && rng.random_bool(f.error_rate.min(1.0)),
        )
    };
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if fail {
        let status =
            StatusCode::from_u16(f.error_status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let mut res = ApiError::new(status, "injected fault").into_response();
        res.headers_mut()
            .insert("x-fault-injected", HeaderValue::from_static("true"));
        return res;
    }
    next.run(req).await
}

/// `GET /admin/faults`.
pub(crate) async fn get_faults(State(state): State<Arc<DemoState>>) -> Response {
    json(StatusCode::OK, &state.faults.get())
}

/// `PUT /admin/faults`: replaces the faults (absent fields take their
/// defaults).
pub(crate) async fn put_faults(
    State(state): State<Arc<DemoState>>,
    Body(config): Body<FaultConfig>,
) -> Result<Response, ApiError> {
    config.validate().map_err(ApiError::bad_request)?;
    state.faults.set(config);
    tracing::info!(?config, "faults set");
    Ok(json(StatusCode::OK, &config))
}

/// `DELETE /admin/faults`: back to no faults.
pub(crate) async fn delete_faults(State(state): State<Arc<DemoState>>) -> Response {
    state.faults.set(FaultConfig::default());
    json(StatusCode::OK, &FaultConfig::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_reports_every_problem() {
        let bad = FaultConfig {
            latency_ms: 100_000,
            error_rate: 1.5,
            error_status: 200,
            ..FaultConfig::default()
        };
        let msg = bad.validate().unwrap_err();
        assert!(msg.contains("latency_ms"), "{msg}");
        assert!(msg.contains("error_rate"), "{msg}");
        assert!(msg.contains("error_status"), "{msg}");
        assert!(FaultConfig::default().validate().is_ok());
    }

    #[test]
    fn inactive_until_something_is_set() {
        let faults = Faults::default();
        assert!(faults.current().is_none());
        faults.set(FaultConfig {
            order_store_down: true,
            ..FaultConfig::default()
        });
        assert!(faults.check_order_store().is_err());
        faults.set(FaultConfig::default());
        assert!(faults.current().is_none());
        assert!(faults.check_order_store().is_ok());
    }
}
