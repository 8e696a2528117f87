//! Redirects and cookies.

use http::Method;
use http_body_util::Full;
use serde_json::json;
use stampede_demo::TestServer;

use crate::client::{get, get_with, req, send, Conn};

#[tokio::test]
async fn relative_redirect_chain_ends_at_get() {
    let server = TestServer::start().await.unwrap();
    let mut conn = Conn::open(server.addr()).await;
    let mut path = "/redirect/3".to_string();
    let mut hops = Vec::new();
    loop {
        let res = conn.get(&path).await;
        if res.status != 302 {
            assert_eq!(res.status, 200);
            break;
        }
        path = res.header("location").unwrap().to_string();
        hops.push(path.clone());
    }
    assert_eq!(
        hops,
        ["/relative-redirect/2", "/relative-redirect/1", "/get"]
    );
}

#[tokio::test]
async fn absolute_redirects() {
    let server = TestServer::start().await.unwrap();
    let base = server.url();
    let res = get(&server, "/redirect/2?absolute=true").await;
    assert_eq!(
        res.header("location").unwrap(),
        format!("http://{}/absolute-redirect/1", server.addr())
    );
    let res = get(&server, "/absolute-redirect/1").await;
    assert_eq!(res.header("location").unwrap(), format!("{base}/get"));
    let res = get(&server, "/relative-redirect/1").await;
    assert_eq!(res.header("location"), Some("/get"));
    assert_eq!(get(&server, "/redirect/0").await.status, 400);
}

#[tokio::test]
async fn redirect_to_with_status() {
    let server = TestServer::start().await.unwrap();
    let res = get(
        &server,
        "/redirect-to?url=http%3A%2F%2Fexample.test%2Fx&status_code=307",
    )
    .await;
    assert_eq!(res.status, 307);
    assert_eq!(res.header("location"), Some("http://example.test/x"));
    let res = get(&server, "/redirect-to?url=/get&status_code=200").await;
    assert_eq!(res.status, 302);
    let r = req(Method::POST, "/redirect-to?url=/get")
        .body(Full::default())
        .unwrap();
    assert_eq!(send(&server, r).await.status, 302);
    assert_eq!(get(&server, "/redirect-to").await.status, 400);
}

#[tokio::test]
async fn cookies_set_list_delete() {
    let server = TestServer::start().await.unwrap();
    let res = get(&server, "/cookies/set?a=1&b=two").await;
    assert_eq!(res.status, 302);
    assert_eq!(res.header("location"), Some("/cookies"));
    assert_eq!(
        res.header_all("set-cookie"),
        ["a=1; Path=/", "b=two; Path=/"]
    );

    let res = get(&server, "/cookies/set/name/value").await;
    assert_eq!(res.header_all("set-cookie"), ["name=value; Path=/"]);

    let res = get_with(&server, "/cookies", &[("cookie", "a=1; b=two")]).await;
    assert_eq!(res.json(), json!({"cookies": {"a": "1", "b": "two"}}));
    assert_eq!(
        get(&server, "/cookies").await.json(),
        json!({"cookies": {}})
    );

    let res = get(&server, "/cookies/delete?a").await;
    assert_eq!(res.status, 302);
    let deleted = res.header_all("set-cookie");
    assert_eq!(deleted.len(), 1);
    assert!(
        deleted[0].starts_with("a=; Expires=Thu, 01 Jan 1970"),
        "{deleted:?}"
    );
    assert!(deleted[0].contains("Max-Age=0"));
}
