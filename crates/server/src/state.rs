//! `AppState`: what every handler can reach — the store, the JWT key, the
//! orchestrator, the live hub, the throttles and the server's own metrics.

use std::sync::Arc;
use std::time::Duration;

use stampede_cluster::Transport;
use stampede_store::Store;

use crate::auth::crypto::JwtKey;
use crate::auth::Throttle;
use crate::hub::Hub;
use crate::metrics::ServerMetrics;
use crate::orchestrator::Orchestrator;
use crate::ServerConfig;

/// Messages buffered per WebSocket subscriber before it is dropped.
pub const HUB_CAPACITY: usize = 1024;

/// Shared state of the API.
pub struct AppState {
    /// Storage.
    pub store: Store,
    /// Signs and verifies session JWTs.
    pub jwt: JwtKey,
    /// Starts and supervises runs.
    pub orchestrator: Arc<Orchestrator>,
    /// Live fan-out to WebSocket subscribers.
    pub hub: Hub,
    /// Failed-login throttle (per user name and per address).
    pub login_throttle: Throttle,
    /// API rate limit (per token or address).
    pub rate_limit: crate::api::limit::RateLimiter,
    /// The configuration.
    pub config: ServerConfig,
    /// The server's own Prometheus metrics.
    pub metrics: ServerMetrics,
    /// The run view's folds of runs (`api::view`).
    pub views: crate::api::view::Views,
    /// Alert evaluation and notifications.
    pub alerting: Arc<crate::alerts::Alerting>,
    /// Pipelines running in this process (issue 18).
    pub pipelines: crate::pipelines::Pipelines,
}

impl AppState {
    /// Builds the state.
    pub fn new(
        store: Store,
        jwt: JwtKey,
        transport: Arc<dyn Transport>,
        config: ServerConfig,
        blocked_targets: Vec<String>,
        secrets: crate::alerts::secret::SecretBox,
    ) -> Arc<Self> {
        let hub = Hub::new(HUB_CAPACITY);
        let metrics = ServerMetrics::default();
        let orchestrator = Arc::new(Orchestrator::new(
            store.clone(),
            transport,
            hub.clone(),
            metrics.load.clone(),
            blocked_targets,
        ));
        let alerting = crate::alerts::Alerting::new(store.clone(), hub.clone(), secrets);
        Arc::new(Self {
            alerting,
            store,
            jwt,
            orchestrator,
            hub,
            login_throttle: Throttle::new(5, Duration::from_secs(15 * 60)),
            rate_limit: crate::api::limit::RateLimiter::new(config.rate_limit_per_sec),
            config,
            metrics,
            views: Default::default(),
            pipelines: Default::default(),
        })
    }
}
