//! Pipelines (issue 18): created running, stages rewritten while running,
//! ended once, errored by a restart, listed newest first — on both backends.

use serde_json::json;
use stampede_store::*;

pub(crate) async fn pipelines(store: &Store) {
    let new = NewPipeline {
        name: "seed-000".into(),
        user_id: None,
        spec: "stages: {}".into(),
        request: json!({"env_keys": ["BASE_URL"]}),
        stages: json!([{"name": "smoke", "state": "pending"}]),
    };
    let a = store.create_pipeline(&new).await.unwrap();
    let b = store.create_pipeline(&new).await.unwrap();
    assert_eq!(a.status, PipelineStatus::Running);
    store
        .set_pipeline_stages(a.id, &json!([{"name": "smoke", "state": "running"}]))
        .await
        .unwrap();
    assert_eq!(
        store.pipeline(a.id).await.unwrap().stages[0]["state"],
        "running"
    );
    let done = store
        .finish_pipeline(
            a.id,
            PipelineStatus::Passed,
            &json!([]),
            Some(&json!({"passed": true})),
            None,
        )
        .await
        .unwrap();
    assert!(done.ended_at.is_some() && done.report.is_some());
    let again = store
        .finish_pipeline(a.id, PipelineStatus::Failed, &json!([]), None, None)
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    assert_eq!(store.mark_pipelines_interrupted().await.unwrap(), [b.id]);
    let b = store.pipeline(b.id).await.unwrap();
    assert_eq!(b.status, PipelineStatus::Errored);
    assert_eq!(b.error.as_deref(), Some(PIPELINE_INTERRUPTED));
    let page = store.list_pipelines(Page::new(1, 0)).await.unwrap();
    assert_eq!((page.total, page.items[0].id), (2, b.id));
    assert!(store.pipeline(999).await.is_err());
    let bad = NewPipeline {
        name: " ".into(),
        ..new
    };
    assert!(store.create_pipeline(&bad).await.is_err());
}
