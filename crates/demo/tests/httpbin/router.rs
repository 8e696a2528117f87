//! `httpbin_router()` on its own, without `TestServer`'s accept loop.

use axum::body::Body;
use http::Request;
use http_body_util::BodyExt;
use serde_json::Value;
use stampede_demo::httpbin_router;

async fn call(path: &str) -> (u16, Vec<u8>) {
    let mut router = httpbin_router();
    let req = Request::get(path)
        .header("host", "example.test")
        .body(Body::empty())
        .unwrap();
    let res = tower_service::Service::call(&mut router, req)
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, body)
}

#[tokio::test]
async fn works_without_the_test_server() {
    let (status, body) = call("/get?x=1").await;
    assert_eq!(status, 200);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["url"], "http://example.test/get?x=1");
    assert_eq!(json["args"]["x"], "1");
    // No peer address is known without the accept loop.
    assert_eq!(json["origin"], "127.0.0.1");
}

#[tokio::test]
async fn connection_level_endpoints_need_the_test_server() {
    assert_eq!(call("/reset").await.0, 501);
    // Without connection access a 1xx degrades to the final 200 alone.
    assert_eq!(call("/status/103").await.0, 200);
}
