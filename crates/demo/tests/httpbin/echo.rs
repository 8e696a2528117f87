//! The echo endpoints and their JSON shapes.

use http::Method;
use http_body_util::Full;
use serde_json::{json, Value};
use stampede_demo::TestServer;

use crate::client::{get, get_with, req, send, with_body, Conn};

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[tokio::test]
async fn get_echoes_args_headers_origin_url() {
    let server = TestServer::start().await.unwrap();
    let res = get_with(
        &server,
        "/get?a=1&b=2&b=3&sp=x%20y",
        &[("x-custom-thing", "v"), ("user-agent", "ua/1")],
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/json"));
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
    let body = res.json();
    assert_eq!(keys(&body), ["args", "headers", "origin", "url"]);
    assert_eq!(
        body["args"],
        json!({"a": "1", "b": ["2", "3"], "sp": "x y"})
    );
    assert_eq!(body["headers"]["X-Custom-Thing"], "v");
    assert_eq!(body["headers"]["User-Agent"], "ua/1");
    let host = server.addr().to_string();
    assert_eq!(body["headers"]["Host"], host.as_str());
    assert_eq!(body["origin"], "127.0.0.1");
    assert_eq!(
        body["url"],
        format!("http://{host}/get?a=1&b=2&b=3&sp=x%20y").as_str()
    );
    // httpbin pretty-prints with a trailing newline.
    assert!(res.text().ends_with("}\n"));
}

#[tokio::test]
async fn origin_honours_x_forwarded_for() {
    let server = TestServer::start().await.unwrap();
    let res = get_with(&server, "/ip", &[("x-forwarded-for", "10.1.2.3")]).await;
    assert_eq!(res.json(), json!({"origin": "10.1.2.3"}));
    assert_eq!(
        get(&server, "/ip").await.json(),
        json!({"origin": "127.0.0.1"})
    );
}

#[tokio::test]
async fn post_json_body() {
    let server = TestServer::start().await.unwrap();
    let res = send(
        &server,
        with_body(
            Method::POST,
            "/post?q=1",
            "application/json",
            r#"{"a":[1,2]}"#,
        ),
    )
    .await;
    let body = res.json();
    assert_eq!(
        keys(&body),
        ["args", "data", "files", "form", "headers", "json", "origin", "url"]
    );
    assert_eq!(body["data"], r#"{"a":[1,2]}"#);
    assert_eq!(body["json"], json!({"a": [1, 2]}));
    assert_eq!(body["form"], json!({}));
    assert_eq!(body["files"], json!({}));
    assert_eq!(body["args"], json!({"q": "1"}));
    assert_eq!(body["headers"]["Content-Type"], "application/json");
    assert_eq!(body["headers"]["Content-Length"], "11");
}

#[tokio::test]
async fn post_urlencoded_form() {
    let server = TestServer::start().await.unwrap();
    let res = send(
        &server,
        with_body(
            Method::POST,
            "/post",
            "application/x-www-form-urlencoded",
            "name=Ann+Lee&t=1&t=2",
        ),
    )
    .await;
    let body = res.json();
    assert_eq!(body["form"], json!({"name": "Ann Lee", "t": ["1", "2"]}));
    assert_eq!(body["data"], "");
    assert_eq!(body["json"], Value::Null);
}

#[tokio::test]
async fn post_multipart_fields_and_files() {
    let server = TestServer::start().await.unwrap();
    let mut payload = b"--BOUND\r\n\
        Content-Disposition: form-data; name=\"field\"\r\n\r\nhello\r\n\
        --BOUND\r\n\
        Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\
        Content-Type: text/plain\r\n\r\nfile text\r\n\
        --BOUND\r\n\
        Content-Disposition: form-data; name=\"bin\"; filename=\"b.bin\"\r\n\
        Content-Type: application/x-thing\r\n\r\n"
        .to_vec();
    payload.extend_from_slice(&[0xff, 0xfe, 0x00]);
    payload.extend_from_slice(b"\r\n--BOUND--\r\n");
    let res = send(
        &server,
        with_body(
            Method::POST,
            "/post",
            "multipart/form-data; boundary=BOUND",
            payload,
        ),
    )
    .await;
    let body = res.json();
    assert_eq!(body["form"], json!({"field": "hello"}));
    assert_eq!(
        body["files"],
        json!({"file": "file text", "bin": "data:application/x-thing;base64,//4A"})
    );
    assert_eq!(body["data"], "");
}

#[tokio::test]
async fn binary_data_becomes_a_data_url() {
    let server = TestServer::start().await.unwrap();
    let res = send(
        &server,
        with_body(
            Method::PUT,
            "/put",
            "application/octet-stream",
            vec![0xffu8, 0x00],
        ),
    )
    .await;
    let body = res.json();
    assert_eq!(body["data"], "data:application/octet-stream;base64,/wA=");
    assert_eq!(body["json"], Value::Null);
}

#[tokio::test]
async fn methods_are_restricted_like_httpbin() {
    let server = TestServer::start().await.unwrap();
    let mut conn = Conn::open(server.addr()).await;
    for (method, path) in [
        (Method::POST, "/post"),
        (Method::PUT, "/put"),
        (Method::PATCH, "/patch"),
        (Method::DELETE, "/delete"),
    ] {
        let ok = conn
            .send(with_body(method.clone(), path, "text/plain", "x"))
            .await;
        assert_eq!(ok.status, 200, "{method} {path}");
        assert_eq!(ok.json()["data"], "x");
        let wrong = conn.get(path).await;
        assert_eq!(wrong.status, 405, "GET {path}");
    }
    let res = conn
        .send(req(Method::POST, "/get").body(Full::default()).unwrap())
        .await;
    assert_eq!(res.status, 405);
}

#[tokio::test]
async fn anything_echoes_any_method_and_subpath() {
    let server = TestServer::start().await.unwrap();
    for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "TRACE", "PROPFIND"] {
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let res = send(
            &server,
            with_body(m, "/anything/a/b?x=1", "text/plain", "hi"),
        )
        .await;
        assert_eq!(res.status, 200, "{method}");
        let body = res.json();
        assert_eq!(
            keys(&body),
            ["args", "data", "files", "form", "headers", "json", "method", "origin", "url"]
        );
        assert_eq!(body["method"], method);
        assert!(body["url"].as_str().unwrap().ends_with("/anything/a/b?x=1"));
        assert_eq!(body["data"], "hi");
    }
    assert_eq!(get(&server, "/anything").await.json()["method"], "GET");
}

#[tokio::test]
async fn one_field_endpoints() {
    let server = TestServer::start().await.unwrap();
    let res = get_with(&server, "/headers", &[("x-a", "1")]).await.json();
    assert_eq!(keys(&res), ["headers"]);
    assert_eq!(res["headers"]["X-A"], "1");
    let res = get_with(&server, "/user-agent", &[("user-agent", "k6/1.1.0")]).await;
    assert_eq!(res.json(), json!({"user-agent": "k6/1.1.0"}));
    let uuid = get(&server, "/uuid").await.json();
    let uuid = uuid["uuid"].as_str().unwrap();
    assert_eq!(uuid.len(), 36);
    assert_eq!(uuid.matches('-').count(), 4);
    assert_ne!(get(&server, "/uuid").await.json()["uuid"], uuid);
}

#[tokio::test]
async fn head_has_no_body() {
    let server = TestServer::start().await.unwrap();
    let res = send(
        &server,
        req(Method::HEAD, "/get").body(Full::default()).unwrap(),
    )
    .await;
    assert_eq!(res.status, 200);
    assert!(res.body.is_empty());
}

#[tokio::test]
async fn repeated_headers_are_comma_joined() {
    let server = TestServer::start().await.unwrap();
    let r = req(Method::GET, "/headers")
        .header("x-multi", "a")
        .header("x-multi", "b")
        .body(Full::default())
        .unwrap();
    assert_eq!(send(&server, r).await.json()["headers"]["X-Multi"], "a,b");
}

#[tokio::test]
async fn delay_waits_then_echoes() {
    let server = TestServer::start().await.unwrap();
    let started = std::time::Instant::now();
    let res = get(&server, "/delay/0.3?x=1").await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let body = res.json();
    assert_eq!(
        keys(&body),
        ["args", "data", "files", "form", "headers", "origin", "url"]
    );
    assert_eq!(body["args"], json!({"x": "1"}));
    assert_eq!(get(&server, "/delay/abc").await.status, 400);
}

#[tokio::test]
async fn cors_preflight() {
    let server = TestServer::start().await.unwrap();
    let r = req(Method::OPTIONS, "/get")
        .header("origin", "http://example.test")
        .header("access-control-request-headers", "x-a")
        .body(Full::default())
        .unwrap();
    let res = send(&server, r).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("http://example.test")
    );
    assert_eq!(res.header("access-control-allow-headers"), Some("x-a"));
    assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
}
