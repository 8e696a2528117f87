//! `/status/{codes}`, including what goes on the wire for 1xx, 204 and 304.

use std::time::Duration;

use stampede_demo::TestServer;

use crate::client::{get, raw, End};

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn plain_codes() {
    let server = TestServer::start().await.unwrap();
    for code in [200, 201, 400, 404, 500, 503, 599] {
        let res = get(&server, &format!("/status/{code}")).await;
        assert_eq!(res.status, code);
        assert!(res.body.is_empty());
    }
}

#[tokio::test]
async fn special_codes_carry_httpbin_headers_and_bodies() {
    let server = TestServer::start().await.unwrap();
    let res = get(&server, "/status/418").await;
    assert_eq!(res.status, 418);
    assert!(res.text().contains("teapot"));
    assert_eq!(
        res.header("x-more-info"),
        Some("http://tools.ietf.org/html/rfc2324")
    );
    let res = get(&server, "/status/401").await;
    assert_eq!(
        res.header("www-authenticate"),
        Some(r#"Basic realm="Fake Realm""#)
    );
    let res = get(&server, "/status/302").await;
    assert_eq!(res.header("location"), Some("/redirect/1"));
    let res = get(&server, "/status/406").await;
    assert_eq!(
        res.json()["message"],
        "Client did not request a supported media type."
    );
}

#[tokio::test]
async fn weighted_choice_and_errors() {
    let server = TestServer::start().await.unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        seen.insert(get(&server, "/status/201,202").await.status);
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), [201, 202]);
    assert_eq!(get(&server, "/status/200:0,500:1").await.status, 500);
    assert_eq!(get(&server, "/status/abc").await.status, 400);
    assert_eq!(get(&server, "/status/200:x").await.status, 400);
}

#[tokio::test]
async fn no_content_and_not_modified_have_no_body_and_keep_the_connection() {
    let server = TestServer::start().await.unwrap();
    for code in ["204 No Content", "304 Not Modified"] {
        let path = format!("/status/{}", &code[..3]);
        let pipelined =
            format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\nGET /ip HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        let (bytes, end) = raw(server.addr(), pipelined.as_bytes(), WAIT).await;
        assert_eq!(end, End::Eof);
        let text = String::from_utf8(bytes).unwrap();
        let (first, second) = text.split_once("\r\n\r\n").unwrap();
        assert!(first.starts_with(&format!("HTTP/1.1 {code}\r\n")), "{text}");
        assert!(
            !first.to_ascii_lowercase().contains("transfer-encoding"),
            "{text}"
        );
        if code.starts_with("204") {
            assert!(
                !first.to_ascii_lowercase().contains("content-length"),
                "{text}"
            );
        }
        assert!(second.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    }
}

#[tokio::test]
async fn informational_codes_are_interim_responses() {
    let server = TestServer::start().await.unwrap();
    let (bytes, end) = raw(
        server.addr(),
        b"GET /status/103 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        WAIT,
    )
    .await;
    assert_eq!(end, End::Eof);
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 103 Early Hints\r\n\r\nHTTP/1.1 200 OK\r\n"),
        "{text}"
    );
    // A client library skips the interim response.
    assert_eq!(get(&server, "/status/100").await.status, 200);
}

#[tokio::test]
async fn switching_protocols_is_written_raw_then_closed() {
    let server = TestServer::start().await.unwrap();
    let (bytes, end) = raw(
        server.addr(),
        b"GET /status/101 HTTP/1.1\r\nHost: t\r\n\r\n",
        WAIT,
    )
    .await;
    assert_eq!(end, End::Eof);
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        "HTTP/1.1 101 Switching Protocols\r\n\r\n"
    );
}
