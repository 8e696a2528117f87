//! Tests of the OpenAPI document: it lists exactly the routes the real
//! router registers (read from the router itself), each operation is
//! complete (role, tag, answers, unique id), it is served public and
//! cacheable, and `openapi-spec-validator` accepts it.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;
use tower_service::Service;

use super::*;
use crate::error::AppError;
use crate::{AppState, ServerConfig};

/// A real router over a throwaway SQLite store.
async fn app(dir: &std::path::Path) -> Router {
    let config = ServerConfig {
        data_dir: dir.join("data"),
        ..Default::default()
    };
    let store = crate::open_store(&config).await.unwrap();
    let jwt =
        crate::auth::crypto::JwtKey::from_base64(&crate::jwt_secret(&config).unwrap()).unwrap();
    let transport = Arc::new(stampede_cluster::LocalTransport::current_exe().unwrap());
    let secrets = crate::alerts::secret::SecretBox::load(None, &config.data_dir).unwrap();
    let state = AppState::new(store, jwt, transport, config, Vec::new(), secrets);
    super::super::router(state)
}

/// `(METHOD, path)` of every route the router registers, read from its
/// `Debug` form (axum has no other way to list them): the paths of its
/// `Node` by route id, and the methods of each id's `MethodRouter`.
fn registered(router: &Router) -> BTreeSet<(String, String)> {
    let text = format!("{router:?}");
    let text = text
        .split(", fallback_router:")
        .next()
        .expect("a router's Debug form");
    let (routes, node) = text
        .split_once("node: Node { paths: {")
        .expect("axum's Debug form of a router changed: update `registered`");
    let mut paths = std::collections::BTreeMap::new();
    for entry in node.split("RouteId(").skip(1) {
        let (id, rest) = entry.split_once("): \"").expect("RouteId(n): \"path\"");
        let path = rest.split('"').next().unwrap();
        paths.insert(id.to_string(), path.replace("{*", "{"));
    }
    let mut out = BTreeSet::new();
    for entry in routes.split("RouteId(").skip(1) {
        let (id, rest) = entry.split_once("): ").expect("RouteId(n): endpoint");
        let methods = rest.split("fallback:").next().unwrap();
        for m in [
            "get", "head", "delete", "options", "patch", "post", "put", "trace",
        ] {
            if methods.contains(&format!("{m}: ")) && !methods.contains(&format!("{m}: None")) {
                out.insert((m.to_uppercase(), paths[id].clone()));
            }
        }
    }
    out
}

fn documented() -> BTreeSet<(String, String)> {
    let mut doc = ApiDoc::openapi();
    let mut out = BTreeSet::new();
    for (path, item) in doc.paths.paths.iter_mut() {
        let methods = [
            ("GET", item.get.is_some()),
            ("PUT", item.put.is_some()),
            ("POST", item.post.is_some()),
            ("DELETE", item.delete.is_some()),
            ("OPTIONS", item.options.is_some()),
            ("HEAD", item.head.is_some()),
            ("PATCH", item.patch.is_some()),
            ("TRACE", item.trace.is_some()),
        ];
        for (m, present) in methods {
            if present {
                out.insert((m.to_string(), path.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_exists() {
    let dir = tempfile::tempdir().unwrap();
    let router = app(dir.path()).await;
    let routes = registered(&router);
    assert!(
        routes.len() >= 60 && routes.contains(&("POST".into(), "/api/v1/auth/login".into())),
        "could not read the router's routes (axum's Debug form changed?): {routes:?}"
    );
    let doc = documented();
    let undocumented: Vec<String> = routes
        .difference(&doc)
        .map(|(m, p)| format!("  {m} {p}"))
        .collect();
    assert!(
        undocumented.is_empty(),
        "routes registered in the router but missing from the OpenAPI document \
         (give each handler a #[utoipa::path(...)] and list it in `paths(...)` of \
         `ApiDoc` in crates/server/src/api/openapi.rs; UI pages go in `UI_PAGES`):\n{}",
        undocumented.join("\n")
    );
    let stale: Vec<String> = doc
        .difference(&routes)
        .map(|(m, p)| format!("  {m} {p}"))
        .collect();
    assert!(
        stale.is_empty(),
        "operations in the OpenAPI document that the router does not register \
         (a wrong `path`/method in #[utoipa::path], or a removed route):\n{}",
        stale.join("\n")
    );
}

/// Each documented operation reaches a handler of the real router, not
/// its fallback (an independent check of the `Debug` reading).
#[tokio::test]
async fn every_documented_operation_reaches_a_handler() {
    let dir = tempfile::tempdir().unwrap();
    let mut router = app(dir.path()).await;
    for (method, path) in documented() {
        let uri = path
            .split('/')
            .map(|s| if s.starts_with('{') { "1" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).unwrap())
            .uri(&uri)
            .body(Body::empty())
            .unwrap();
        std::future::poll_fn(|cx| Service::<Request<Body>>::poll_ready(&mut router, cx))
            .await
            .unwrap();
        let res = router.call(req).await.unwrap();
        let status = res.status();
        let body = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&body);
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert!(
            !(status == StatusCode::NOT_FOUND
                && (body.is_empty() || body.contains("no such API endpoint"))),
            "{method} {uri} fell through to the router's fallback: {body}"
        );
    }
}

#[test]
fn every_operation_names_its_role_tag_and_answers() {
    let mut doc = ApiDoc::openapi();
    for (path, item) in doc.paths.paths.iter_mut() {
        for (_, op) in operations(item) {
            let what = format!("{path} ({:?})", op.operation_id);
            let d = op.description.as_deref().unwrap_or("");
            assert!(
                d.starts_with("Role: "),
                "{what}: description must start with `Role: `"
            );
            assert!(
                op.tags.as_ref().is_some_and(|t| !t.is_empty()),
                "{what}: no tag"
            );
            let r = &op.responses.responses;
            assert!(
                r.keys()
                    .any(|k| k.starts_with('1') || k.starts_with('2') || k.starts_with('3')),
                "{what}: no success answer"
            );
            assert!(r.contains_key("default"), "{what}: no error answer");
        }
    }
    let json = serde_json::to_value(ApiDoc::openapi()).unwrap();
    let schemes = &json["components"]["securitySchemes"];
    for s in ["jwt", "api_token", "session"] {
        assert!(schemes[s].is_object(), "security scheme {s} missing");
    }
    assert_eq!(
        json["paths"]["/api/v1/auth/login"]["post"]["security"],
        serde_json::json!([{}]),
        "login is public"
    );
    assert!(json["paths"]["/api/v1/users"]["post"]["security"].is_null());
    assert_eq!(json["security"].as_array().map(Vec::len), Some(3));
}

#[test]
fn operation_ids_are_unique_and_read_as_their_route() {
    assert_eq!(
        operation_id("get", "/api/v1/runs/{id}/metrics"),
        "get_runs_id_metrics"
    );
    assert_eq!(operation_id("page", "/"), "page_index");
    assert_eq!(
        operation_id("post", "/api/v1/alert-rules"),
        "post_alert_rules"
    );
    let mut doc = ApiDoc::openapi();
    let mut seen = BTreeSet::new();
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, op) in operations(item) {
            let id = op.operation_id.clone().expect("every operation has an id");
            assert!(
                seen.insert(id.clone()),
                "{method} {path}: operationId {id} repeats"
            );
        }
    }
}

/// `ErrorBody` is exactly what `AppError` answers.
#[tokio::test]
async fn the_error_schema_is_the_errors_shape() {
    let res = AppError::not_found("no such run")
        .with_details(vec![serde_json::json!({"field": "id"})])
        .into_response();
    let body = axum::body::to_bytes(res.into_body(), 1 << 16)
        .await
        .unwrap();
    let e: ErrorBody = serde_json::from_slice(&body).unwrap();
    assert_eq!(e.error.code, "not_found");
    assert_eq!(e.error.details.len(), 1);
}

#[tokio::test]
async fn the_document_is_public_and_cacheable() {
    let dir = tempfile::tempdir().unwrap();
    let mut router = app(dir.path()).await;
    let get = |etag: Option<&str>| {
        let mut b = Request::builder().uri("/api/v1/openapi.json");
        if let Some(t) = etag {
            b = b.header(header::IF_NONE_MATCH, t);
        }
        b.body(Body::empty()).unwrap()
    };
    let res = router.call(get(None)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    assert_eq!(h[header::CACHE_CONTROL], "public, max-age=300");
    assert_eq!(h[header::CONTENT_TYPE], "application/json");
    let etag = h[header::ETAG].to_str().unwrap().to_string();
    let body = axum::body::to_bytes(res.into_body(), 1 << 22)
        .await
        .unwrap();
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc["paths"]["/api/v1/runs/{id}"]["get"].is_object());
    let res = router.call(get(Some(&etag))).await.unwrap();
    assert_eq!(res.status(), StatusCode::NOT_MODIFIED);
    let res = router.call(get(Some("\"other\""))).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Other API answers stay uncacheable.
    let other = Request::builder()
        .uri("/healthz")
        .body(Body::empty())
        .unwrap();
    let res = router.call(other).await.unwrap();
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
}

/// The document is valid OpenAPI, by `openapi-spec-validator` (PyPI).
#[test]
fn the_document_is_valid_openapi() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, ApiDoc::openapi().to_pretty_json().unwrap()).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys\n\
             from openapi_spec_validator import validate\n\
             validate(json.load(open(sys.argv[1])))\n",
        ])
        .arg(&path)
        .output()
        .expect("python3 runs (scripts/test installs openapi-spec-validator)");
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document (or is not installed: \
         `python3 -m pip install openapi-spec-validator`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Downloads in several formats list every content type under their one
/// 200 (utoipa keeps only the last of several `status = 200` entries).
#[test]
fn downloads_list_every_format() {
    let json = serde_json::to_value(ApiDoc::openapi()).unwrap();
    for (path, types) in [
        (
            "/api/v1/export/{id}",
            &[
                "application/json",
                "text/csv",
                "text/html",
                "application/pdf",
            ][..],
        ),
        (
            "/api/v1/pipelines/{id}/{file}",
            &["application/json", "text/html", "application/xml"][..],
        ),
    ] {
        let content = &json["paths"][path]["get"]["responses"]["200"]["content"];
        for t in types {
            assert!(content[t].is_object(), "{path}: 200 lacks {t}: {content}");
        }
    }
}
