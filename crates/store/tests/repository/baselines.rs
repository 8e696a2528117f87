//! A scenario's baseline run: set, replace, refuse another scenario's or an
//! unfinished run, clear, and vanish with its run or scenario.

use stampede_store::*;

use crate::{finish, new_run, new_scenario, user_and_scenario};

pub(crate) async fn baselines(store: &Store) {
    let (u, s) = user_and_scenario(store).await;
    assert_eq!(store.baseline(s.id).await.unwrap(), None);
    let first = store.create_run(&new_run(s.id, u.id)).await.unwrap();
    let err = store.set_baseline(s.id, first.id, Some(u.id)).await;
    assert!(
        matches!(&err, Err(StoreError::Invalid(m)) if m.contains("has not ended")),
        "{err:?}"
    );
    finish(store, first.id, RunStatus::Passed).await;
    let b = store
        .set_baseline(s.id, first.id, Some(u.id))
        .await
        .unwrap();
    assert_eq!(
        (b.scenario_id, b.run_id, b.set_by),
        (s.id, first.id, Some(u.id))
    );
    assert_eq!(store.baseline(s.id).await.unwrap(), Some(b));

    // Replaced by a later run; listed once.
    let second = store.create_run(&new_run(s.id, u.id)).await.unwrap();
    finish(store, second.id, RunStatus::Failed).await;
    store.set_baseline(s.id, second.id, None).await.unwrap();
    let all = store.baselines().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].run_id, all[0].set_by), (second.id, None));

    // Another scenario's run, unknown runs and scenarios.
    let other = store
        .create_scenario(&new_scenario(u.id, "other", &[]))
        .await
        .unwrap();
    let err = store.set_baseline(other.id, second.id, None).await;
    assert!(
        matches!(&err, Err(StoreError::Invalid(m)) if m.contains("not of scenario")),
        "{err:?}"
    );
    let err = store.set_baseline(s.id, RunId(999_999), None).await;
    assert!(matches!(err, Err(StoreError::NotFound { .. })), "{err:?}");
    let err = store
        .set_baseline(ScenarioId(999_999), second.id, None)
        .await;
    assert!(matches!(err, Err(StoreError::NotFound { .. })), "{err:?}");

    // Cleared once; a deleted scenario's baseline is not listed.
    assert!(store.clear_baseline(s.id).await.unwrap());
    assert!(!store.clear_baseline(s.id).await.unwrap());
    let run = store.create_run(&new_run(other.id, u.id)).await.unwrap();
    finish(store, run.id, RunStatus::Passed).await;
    store.set_baseline(other.id, run.id, None).await.unwrap();
    assert_eq!(store.baselines().await.unwrap().len(), 1);
    store.delete_scenario(other.id).await.unwrap();
    assert!(store.baselines().await.unwrap().is_empty());
}
