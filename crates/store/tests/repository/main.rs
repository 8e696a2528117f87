//! The repository test suite, run against SQLite and PostgreSQL alike: each
//! case gets a fresh database on its backend.

mod accounts;
mod alerting;
mod baselines;
#[path = "../common/mod.rs"]
mod common;
mod faults;
mod fence;
mod metrics;
mod pipelines;
mod scenarios;

use std::time::Duration;

use serde_json::json;
use stampede_store::*;

use accounts::*;
use alerting::*;
use baselines::*;
use faults::*;
use fence::*;
use metrics::*;
use pipelines::*;
use scenarios::*;

pub(crate) fn new_user(name: &str, role: Role) -> NewUser {
    NewUser {
        username: name.into(),
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$salt${name}"),
        role,
        quotas: Quotas::default(),
    }
}

pub(crate) fn content(script: &str) -> ScenarioContent {
    ScenarioContent {
        archive: script.as_bytes().to_vec(),
        entry: "script.js".into(),
        options: json!({"vus": 1}),
        k6_archive: None,
        kind: Default::default(),
    }
}

pub(crate) fn new_scenario(owner: UserId, name: &str, tags: &[&str]) -> NewScenario {
    NewScenario {
        owner_id: owner,
        name: name.into(),
        description: format!("about {name}"),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        content: content(&format!("// {name}")),
    }
}

pub(crate) fn new_run(scenario: ScenarioId, user: UserId) -> NewRun {
    NewRun {
        scenario_id: scenario,
        scenario_version: None,
        user_id: Some(user),
        started_by: StartedBy::User,
        options: json!({"vus": 2}),
    }
}

pub(crate) async fn user_and_scenario(store: &Store) -> (User, Scenario) {
    let u = store
        .create_user(&new_user("owner", Role::Editor))
        .await
        .unwrap();
    let s = store
        .create_scenario(&new_scenario(u.id, "main", &[]))
        .await
        .unwrap();
    (u, s)
}

/// Moves a run along the happy path to `to` (a terminal state).
pub(crate) async fn finish(store: &Store, run: RunId, to: RunStatus) -> Run {
    for s in [RunStatus::Starting, RunStatus::Running] {
        store
            .transition_run(run, s, &RunEnd::default())
            .await
            .unwrap();
    }
    store
        .transition_run(
            run,
            to,
            &RunEnd {
                exit_code: Some(0),
                ..RunEnd::default()
            },
        )
        .await
        .unwrap()
}

macro_rules! suite {
    ($fresh:expr, $($case:ident),* $(,)?) => {{
        $(
            eprintln!("case {}", stringify!($case));
            let (store, _guard) = $fresh(stringify!($case)).await;
            $case(&store).await;
            store.close().await;
        )*
    }};
}

macro_rules! all_cases {
    ($fresh:expr) => {
        suite!(
            $fresh,
            users,
            tokens,
            scenarios,
            scenario_archives,
            scenario_kinds,
            runs,
            interrupted,
            intervals,
            rollup_and_retention,
            stored_views,
            concurrent_writes,
            audit,
            alert_rules,
            alerts_fire_once_and_resolve,
            channels_and_deliveries,
            schedules,
            retention,
            baselines,
            pipelines,
            leader_fence,
            run_faults,
            alert_episodes
        )
    };
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    all_cases!(|_name: &'static str| common::sqlite_store());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    let Some(bin) = common::postgres_bin_dir() else {
        return;
    };
    let pg = common::Postgres::start(&bin);
    let fresh = |name: &'static str| {
        let pg = &pg;
        async move { (pg.fresh_store(name).await, ()) }
    };
    all_cases!(fresh);
}

#[tokio::test]
async fn sqlite_file_survives_reopen_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_data_dir(&dir.path().join("nested dir?#"))
        .await
        .unwrap();
    let u = store
        .create_user(&new_user("kept", Role::Viewer))
        .await
        .unwrap();
    assert!(
        dir.path()
            .join("nested dir?#")
            .join(SQLITE_FILE)
            .with_extension("db-wal")
            .exists(),
        "WAL mode"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: std::path::PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir.path().join("nested dir?#")), 0o700);
    assert_eq!(
        mode(dir.path().join("nested dir?#").join(SQLITE_FILE)),
        0o600
    );
    assert!(!format!("{store:?}").contains("nested"), "{store:?}");
    store.close().await;
    let again = Store::open_data_dir(&dir.path().join("nested dir?#"))
        .await
        .unwrap();
    assert_eq!(again.user(u.id).await.unwrap().username, "kept");
    assert_eq!(again.backend(), Backend::Sqlite);
}

#[tokio::test]
async fn bad_urls_are_clear_errors() {
    let err = Store::connect("mysql://x").await.unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");
    // A loopback port nobody listens on: refused at once.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let opts = StoreOptions {
        connect_timeout: Duration::from_millis(500),
        max_connections: None,
    };
    let url = format!("postgres://u:hunter2@127.0.0.1:{port}/db");
    let err = Store::connect_with(&url, &opts).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("storage error"), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
}
