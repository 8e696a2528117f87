//! The leader fence (several servers, `fence.rs`): a stale leader's run
//! transitions, intervals and schedule fires fail once a newer leader
//! announced its token — on SQLite and on PostgreSQL (`FOR SHARE`).

use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

use crate::*;
use stampede_store::*;
use time::OffsetDateTime;

pub(crate) async fn leader_fence(store: &Store) {
    let (u, s) = user_and_scenario(store).await;
    let run = store.create_run(&new_run(s.id, u.id)).await.unwrap();
    let one = Duration::from_secs(1);
    let due = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
    assert_eq!(store.fence_token().await.unwrap(), 0);
    let old = store.fenced(Arc::new(AtomicI64::new(1)));
    assert!(old.is_fenced() && !store.is_fenced());
    // Not announced yet: the stored token is 0, not 1.
    let e = old
        .transition_run(run.id, RunStatus::Starting, &RunEnd::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("fenced"), "{e}");
    assert!(store.advance_fence(1).await.unwrap());
    old.transition_run(run.id, RunStatus::Starting, &RunEnd::default())
        .await
        .unwrap();
    old.put_interval(run.id, one, &common::http_snapshot(0, &[("a", &[1.0])]))
        .await
        .unwrap();

    // A newer leader announces token 2: the old one is fenced off.
    assert!(store.advance_fence(2).await.unwrap());
    assert!(
        !store.advance_fence(1).await.unwrap(),
        "tokens never go back"
    );
    assert_eq!(store.fence_token().await.unwrap(), 2);
    assert!(!old.holds_fence().await.unwrap());
    assert!(store.holds_fence().await.unwrap(), "unfenced");
    let e = old
        .transition_run(run.id, RunStatus::Running, &RunEnd::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("fenced"), "{e}");
    assert_eq!(store.run(run.id).await.unwrap().status, RunStatus::Starting);
    assert!(old
        .put_interval(run.id, one, &common::http_snapshot(1, &[("a", &[1.0])]))
        .await
        .is_err());
    assert_eq!(store.intervals(run.id, None, None).await.unwrap().len(), 1);
    assert!(old.claim_fire(1, due, None, due).await.is_err());

    // The new leader writes; an unfenced handle (a follower ending a run
    // it could not queue) too.
    let new = store.fenced(Arc::new(AtomicI64::new(2)));
    assert!(new.holds_fence().await.unwrap());
    new.transition_run(run.id, RunStatus::Running, &RunEnd::default())
        .await
        .unwrap();
    assert!(
        !new.claim_fire(1, due, None, due).await.unwrap(),
        "no such schedule"
    );
    old.unfenced()
        .transition_run(run.id, RunStatus::Errored, &RunEnd::default())
        .await
        .unwrap();
}
