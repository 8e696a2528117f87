//! Cases for users, API tokens and the audit log.

use crate::*;
use serde_json::json;
use stampede_store::*;
use time::OffsetDateTime;

pub(crate) async fn users(store: &Store) {
    let ana = store
        .create_user(&new_user("Ana", Role::Admin))
        .await
        .unwrap();
    assert_eq!(ana.username, "Ana");
    assert_eq!(ana.role, Role::Admin);
    assert!(ana.disabled_at.is_none());
    let err = store
        .create_user(&new_user("ana", Role::Viewer))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Conflict(m) if m.contains("'ana' is taken")),
        "{err}"
    );
    assert_eq!(store.count_users().await.unwrap(), 1);
    for bad in ["", " ana", "a\u{7}b", &"x".repeat(65)] {
        let err = store
            .create_user(&new_user(bad, Role::Viewer))
            .await
            .unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)), "{bad:?}: {err}");
    }
    let mut neg = new_user("neg", Role::Viewer);
    neg.quotas.max_vus = Some(-1);
    assert!(matches!(
        store.create_user(&neg).await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.count_users().await.unwrap(),
        1,
        "nothing half-created"
    );

    assert_eq!(store.user_by_username("ANA").await.unwrap().id, ana.id);
    assert_eq!(store.user(ana.id).await.unwrap(), ana);
    assert!(matches!(
        store.user(UserId(999)).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.user_by_username("bob").await,
        Err(StoreError::NotFound { .. })
    ));

    for i in 0..5 {
        store
            .create_user(&new_user(&format!("user{i}"), Role::Viewer))
            .await
            .unwrap();
    }
    let page = store.list_users(Page::new(2, 1)).await.unwrap();
    assert_eq!(page.total, 6);
    assert_eq!(
        page.items
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["user0", "user1"]
    );

    let q = Quotas {
        max_vus: Some(100),
        max_duration_secs: Some(600),
        max_concurrent_runs: Some(2),
    };
    let patched = store
        .update_user(
            ana.id,
            &UserPatch {
                role: Some(Role::Editor),
                quotas: Some(q.clone()),
                disabled: Some(true),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.role, Role::Editor);
    assert_eq!(patched.quotas, q);
    assert_eq!(patched.password_hash, ana.password_hash, "kept");
    let disabled_at = patched.disabled_at.expect("disabled");
    let again = store
        .update_user(
            ana.id,
            &UserPatch {
                disabled: Some(true),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        again.disabled_at,
        Some(disabled_at),
        "the first disabling time is kept"
    );
    assert_eq!(again.quotas, q, "quotas kept when not patched");
    let enabled = store
        .update_user(
            ana.id,
            &UserPatch {
                disabled: Some(false),
                password_hash: Some("$argon2id$new".into()),
                ..UserPatch::default()
            },
        )
        .await
        .unwrap();
    assert!(enabled.disabled_at.is_none());
    assert_eq!(enabled.password_hash, "$argon2id$new");
    assert!(matches!(
        store.update_user(UserId(999), &UserPatch::default()).await,
        Err(StoreError::NotFound { .. })
    ));

    let json = serde_json::to_string(&enabled).unwrap();
    assert!(!json.contains("argon2id"), "{json}");

    store.delete_user(ana.id).await.unwrap();
    assert!(matches!(
        store.delete_user(ana.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.count_users().await.unwrap(), 5);
}

pub(crate) async fn tokens(store: &Store) {
    let u = store
        .create_user(&new_user("ci", Role::Editor))
        .await
        .unwrap();
    let expires = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let t = store
        .create_token(&NewToken {
            user_id: u.id,
            name: "github".into(),
            secret_hash: "sha256:aaaa".into(),
            scopes: vec!["runs:write".into()],
            expires_at: Some(expires),
        })
        .await
        .unwrap();
    assert_eq!(t.scopes, ["runs:write"]);
    assert!(t.is_usable(OffsetDateTime::now_utc()));
    assert!(!t.is_usable(expires + time::Duration::seconds(1)));
    assert_eq!(
        t.expires_at.map(|e| e.unix_timestamp()),
        Some(expires.unix_timestamp())
    );
    let found = store.token_by_hash("sha256:aaaa").await.unwrap();
    assert_eq!(found, t);
    assert!(!serde_json::to_string(&found)
        .unwrap()
        .contains("sha256:aaaa"));
    assert!(matches!(
        store.token_by_hash("sha256:bbbb").await,
        Err(StoreError::NotFound { .. })
    ));

    let dup = NewToken {
        user_id: u.id,
        name: "again".into(),
        secret_hash: "sha256:aaaa".into(),
        scopes: vec![],
        expires_at: None,
    };
    assert!(matches!(
        store.create_token(&dup).await,
        Err(StoreError::Conflict(_))
    ));
    let orphan = NewToken {
        user_id: UserId(999),
        secret_hash: "sha256:cccc".into(),
        ..dup.clone()
    };
    assert!(matches!(
        store.create_token(&orphan).await,
        Err(StoreError::NotFound { .. })
    ));

    assert!(t.last_used_at.is_none());
    store.touch_token(t.id).await.unwrap();
    assert!(store.token(t.id).await.unwrap().last_used_at.is_some());
    let revoked = store.revoke_token(t.id).await.unwrap();
    let at = revoked.revoked_at.expect("revoked");
    assert!(!revoked.is_usable(OffsetDateTime::now_utc()));
    assert_eq!(store.revoke_token(t.id).await.unwrap().revoked_at, Some(at));
    assert!(matches!(
        store.revoke_token(TokenId(999)).await,
        Err(StoreError::NotFound { .. })
    ));

    let second = store
        .create_token(&NewToken {
            secret_hash: "sha256:dddd".into(),
            ..dup
        })
        .await
        .unwrap();
    assert_eq!(
        store
            .list_tokens(u.id)
            .await
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect::<Vec<_>>(),
        [t.id, second.id]
    );
    store.delete_user(u.id).await.unwrap();
    assert!(
        matches!(
            store.token(second.id).await,
            Err(StoreError::NotFound { .. })
        ),
        "tokens go with their user"
    );
}

pub(crate) async fn audit(store: &Store) {
    let u = store
        .create_user(&new_user("auditor", Role::Admin))
        .await
        .unwrap();
    let e = store
        .record_audit(&NewAudit {
            user_id: Some(u.id),
            token_id: None,
            action: "scenario.create".into(),
            target: "scenario/1".into(),
            remote_addr: Some("127.0.0.1".into()),
            details: json!({"name": "x"}),
        })
        .await
        .unwrap();
    assert_eq!(e.action, "scenario.create");
    store
        .record_audit(&NewAudit {
            action: "run.start".into(),
            target: "run/1".into(),
            details: json!({}),
            ..NewAudit::default()
        })
        .await
        .unwrap();
    store
        .record_audit(&NewAudit {
            user_id: Some(u.id),
            action: "run.stop".into(),
            target: "run/1".into(),
            details: json!({}),
            ..NewAudit::default()
        })
        .await
        .unwrap();
    let all = store
        .list_audit(&AuditFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(
        all.items
            .iter()
            .map(|e| e.action.as_str())
            .collect::<Vec<_>>(),
        ["run.stop", "run.start", "scenario.create"]
    );
    let mine = store
        .list_audit(
            &AuditFilter {
                user_id: Some(u.id),
                action_prefix: Some("run.".into()),
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!((mine.total, mine.items[0].action.as_str()), (1, "run.stop"));
    assert!(matches!(
        store
            .record_audit(&NewAudit {
                action: String::new(),
                ..NewAudit::default()
            })
            .await,
        Err(StoreError::Invalid(_))
    ));
}
