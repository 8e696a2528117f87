//! The task service of seed 004: users with access and refresh tokens,
//! background tasks that advance on timers, and their status over
//! WebSocket. See the [endpoint reference](crate::demo#task-service-seed-004).

mod auth;
mod handlers;
mod sessions;
mod store;
mod users;
mod ws;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::routing::{any, get, post};
use axum::{middleware, Router};

use super::config::DemoConfig;
use super::stats::{self, Service};
use super::{faults, DemoState};
use sessions::Sessions;
use store::Tasks;
use users::Users;

/// The task service's data.
#[derive(Debug)]
pub(crate) struct TaskService {
    users: Users,
    sessions: Sessions,
    tasks: Arc<Tasks>,
    ws_active: AtomicU64,
    ws_total: AtomicU64,
}

/// Counts for the metrics endpoints.
pub(crate) struct TaskMetrics {
    pub(crate) users: usize,
    pub(crate) sessions: usize,
    pub(crate) created: u64,
    pub(crate) completed: u64,
    pub(crate) failed: u64,
    pub(crate) ws_active: u64,
    pub(crate) ws_total: u64,
}

impl TaskService {
    pub(crate) fn new(cfg: &DemoConfig) -> TaskService {
        TaskService {
            users: Users::default(),
            sessions: Sessions::new(cfg.access_token_ttl, cfg.refresh_token_ttl),
            tasks: Arc::new(Tasks::new(cfg.task_duration, cfg.task_failure_rate)),
            ws_active: AtomicU64::new(0),
            ws_total: AtomicU64::new(0),
        }
    }

    pub(crate) fn metrics(&self) -> TaskMetrics {
        TaskMetrics {
            users: self.users.len(),
            sessions: self.sessions.len(),
            created: self.tasks.created.load(Ordering::Relaxed),
            completed: self.tasks.completed.load(Ordering::Relaxed),
            failed: self.tasks.failed.load(Ordering::Relaxed),
            ws_active: self.ws_active.load(Ordering::Relaxed),
            ws_total: self.ws_total.load(Ordering::Relaxed),
        }
    }
}

/// The task service's routes, with request counting and faults.
pub(crate) fn router(state: Arc<DemoState>) -> Router {
    Router::new()
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/refresh", post(auth::refresh))
        .route("/auth/logout", post(auth::logout))
        .route("/tasks", post(handlers::create))
        .route("/tasks/{id}", get(handlers::get_one))
        .route("/ws", any(ws::upgrade))
        .route("/", any(ws::root))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            faults::inject,
        ))
        .layer(middleware::from_fn_with_state(
            (state.clone(), Service::Tasks),
            stats::count,
        ))
        .with_state(state)
}
