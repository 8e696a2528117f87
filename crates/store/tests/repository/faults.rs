//! The faults of a distributed run (`faults.rs`): recorded once per loss,
//! completed by later writes, never erased by a replay that knows less,
//! fenced like the leader's other writes.

use std::sync::atomic::AtomicI64;
use std::sync::Arc;

use crate::*;
use stampede_store::*;

pub(crate) async fn run_faults(store: &Store) {
    let (u, s) = user_and_scenario(store).await;
    let run = store.create_run(&new_run(s.id, u.id)).await.unwrap();
    let lost = RunFault {
        segment: "1/2:1".into(),
        worker: "wa".into(),
        from_s: 4,
        to_s: None,
        resumed_by: None,
    };
    store.put_run_fault(run.id, &lost).await.unwrap();
    assert_eq!(store.run_faults(run.id).await.unwrap(), vec![lost.clone()]);

    // Resumed: the same loss, completed.
    let resumed = RunFault {
        to_s: Some(7),
        resumed_by: Some("wb".into()),
        ..lost.clone()
    };
    store.put_run_fault(run.id, &resumed).await.unwrap();
    // A new leader replaying the events sees the loss again before the
    // resume: nothing is duplicated or forgotten.
    store.put_run_fault(run.id, &lost).await.unwrap();
    let other = RunFault {
        segment: String::new(),
        worker: "wc".into(),
        from_s: 2,
        to_s: None,
        resumed_by: None,
    };
    store.put_run_fault(run.id, &other).await.unwrap();
    assert_eq!(
        store.run_faults(run.id).await.unwrap(),
        vec![other.clone(), resumed.clone()]
    );

    let bad = RunFault {
        from_s: -1,
        ..lost.clone()
    };
    assert!(matches!(
        store.put_run_fault(run.id, &bad).await,
        Err(StoreError::Invalid(_))
    ));
    let missing = store.put_run_fault(RunId(run.id.0 + 1000), &lost).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound { .. })),
        "{missing:?}"
    );

    // A stale leader's write rolls back.
    assert!(store.advance_fence(5).await.unwrap());
    let stale = store.fenced(Arc::new(AtomicI64::new(4)));
    let late = RunFault {
        worker: "wd".into(),
        ..other.clone()
    };
    assert!(stale.put_run_fault(run.id, &late).await.is_err());
    let current = store.fenced(Arc::new(AtomicI64::new(5)));
    current.put_run_fault(run.id, &late).await.unwrap();
    assert_eq!(store.run_faults(run.id).await.unwrap().len(), 3);
}
