//! A run to hang data on, for examples, benchmarks and tests that exercise
//! what is stored under a run (intervals, views, rollups, retention) rather
//! than how users, scenarios and runs are created: one call instead of the
//! three records every such caller would otherwise spell out.

use serde_json::json;

use crate::{
    NewRun, NewScenario, NewUser, Quotas, Result, Role, Run, Scenario, ScenarioContent, StartedBy,
    Store, User,
};

/// Creates an admin user and a scenario, both called `name` (so `name`
/// must be new to the store), and a pending run of that scenario started by
/// the user. The user has no usable password and the scenario's script does
/// nothing.
pub async fn scratch_run(store: &Store, name: &str) -> Result<(User, Scenario, Run)> {
    let user = store
        .create_user(&NewUser {
            username: name.into(),
            password_hash: "!".into(),
            role: Role::Admin,
            quotas: Quotas::default(),
        })
        .await?;
    let scenario = store
        .create_scenario(&NewScenario {
            owner_id: user.id,
            name: name.into(),
            description: String::new(),
            tags: vec![],
            content: ScenarioContent {
                archive: b"export default function () {}".to_vec(),
                entry: "script.js".into(),
                options: json!({}),
                k6_archive: None,
                kind: Default::default(),
            },
        })
        .await?;
    let run = store
        .create_run(&NewRun {
            scenario_id: scenario.id,
            scenario_version: None,
            user_id: Some(user.id),
            started_by: StartedBy::User,
            options: json!({}),
        })
        .await?;
    Ok((user, scenario, run))
}
