//! Storage of the Stampede control plane: users, API tokens, scenarios and
//! their versions, runs, per-interval metric snapshots of runs, and the
//! audit log — in SQLite (the default: one file in the data directory, WAL
//! mode, foreign keys on) or PostgreSQL (`--database postgres://…`).
//!
//! One [`Store`] type with one repository method per operation serves both
//! backends through sqlx's runtime-checked queries (no database is needed to
//! build), with the migrations of each backend embedded and applied when it
//! opens. It knows nothing of HTTP or the engine: the server's auth hashes
//! passwords and tokens, the orchestrator resolves options, and this crate
//! keeps what they decide, enforcing what the data itself must guarantee
//! (unique names, the run state machine, idempotent interval writes).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::time::Duration;
//! use serde_json::json;
//! use stampede_store::*;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = Store::open_data_dir(dir.path()).await?;
//! let ana = store
//!     .create_user(&NewUser {
//!         username: "ana".into(),
//!         password_hash: "$argon2id$v=19$m=19456,t=2,p=1$…".into(),
//!         role: Role::Editor,
//!         quotas: Quotas::default(),
//!     })
//!     .await?;
//! let scenario = store
//!     .create_scenario(&NewScenario {
//!         owner_id: ana.id,
//!         name: "checkout".into(),
//!         description: String::new(),
//!         tags: vec!["shop".into()],
//!         content: ScenarioContent {
//!             archive: b"export default function () {}".to_vec(),
//!             entry: "script.js".into(),
//!             options: json!({"vus": 5}),
//!             k6_archive: None,
//!             kind: ScenarioKind::K6,
//!         },
//!     })
//!     .await?;
//! let run = store
//!     .create_run(&NewRun {
//!         scenario_id: scenario.id,
//!         scenario_version: None,
//!         user_id: Some(ana.id),
//!         started_by: StartedBy::User,
//!         options: json!({"vus": 5, "duration": "10s"}),
//!     })
//!     .await?;
//! assert_eq!(run.status, RunStatus::Queued);
//! store.transition_run(run.id, RunStatus::Starting, &RunEnd::default()).await?;
//! store.transition_run(run.id, RunStatus::Running, &RunEnd::default()).await?;
//!
//! // Each second the controller stores the merged snapshot; a redelivery replaces it.
//! let snapshot = stampede_metrics::WireSnapshot {
//!     start_ns: 0,
//!     end_ns: 1_000_000_000,
//!     metrics: vec![],
//!     entries: vec![],
//! };
//! store.put_interval(run.id, Duration::from_secs(1), &snapshot).await?;
//! store.put_interval(run.id, Duration::from_secs(1), &snapshot).await?;
//! assert_eq!(store.intervals(run.id, None, None).await?.len(), 1);
//!
//! let end = RunEnd { exit_code: Some(0), ..RunEnd::default() };
//! let run = store.transition_run(run.id, RunStatus::Passed, &end).await?;
//! assert!(run.ended_at.is_some());
//! // A finished run cannot start again.
//! let err = store.transition_run(run.id, RunStatus::Running, &RunEnd::default()).await;
//! assert!(matches!(err, Err(StoreError::InvalidTransition { .. })));
//! # Ok::<(), StoreError>(())
//! # }).unwrap();
//! ```

mod audit;
mod codec;
mod db;
mod error;
mod fence;
pub mod fixture;
mod metrics;
#[macro_use]
mod model;
mod runs;
mod scenarios;
mod users;
// Stored views of ended runs (issue 16).
mod views;

// Alerts, schedules and retention (issue 17): after `model`, whose
// `text_enum!` they use.
mod alerts;
mod episodes;
mod pending;
mod retention;

// A scenario's baseline run (issue 16).
mod baselines;
mod schedules;

// Pipelines run by the server (issue 18).
mod pipelines;

// The faults of distributed runs, kept across a leader change (issue 15).
mod faults;

pub use db::{Backend, Store, StoreOptions, SQLITE_FILE};
pub use error::{Result, StoreError};
pub use faults::RunFault;
pub use fence::Fence;
pub use metrics::{
    decode_snapshot, encode_snapshot, merge_snapshots, RollupPolicy, RollupStats, StoredInterval,
    MAX_SNAPSHOT_BYTES,
};
pub use model::*;
pub use runs::INTERRUPTED;
pub use scenarios::MAX_ARCHIVE_BYTES;
pub use views::MAX_VIEW_BYTES;

pub use alerts::{
    Alert, AlertFilter, AlertRule, AlertState, Channel, ChannelKind, Delivery, Due, NewAlert,
    NewAlertRule, NewChannel, RuleScope, Severity, DEFAULT_MIN_INTERVAL_MS, RULE_OPS,
};
pub use baselines::Baseline;
pub use episodes::AlertEpisode;
pub use pending::PendingDelivery;
pub use retention::{FileSpace, VACUUM_PAGES};
pub use schedules::{Missed, NewSchedule, Overlap, Schedule};

pub use pipelines::{NewPipeline, PipelineStatus, StoredPipeline, PIPELINE_INTERRUPTED};
