//! Generated, streamed, compressed and fixed bodies; caching headers.

use std::io::Read;
use std::time::{Duration, Instant};

use serde_json::json;
use stampede_demo::TestServer;

use crate::client::{get, get_with, raw, raw_get, End};

#[tokio::test]
async fn bytes_random_and_seeded() {
    let server = TestServer::start().await.unwrap();
    let a = get(&server, "/bytes/1000").await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("application/octet-stream"));
    assert_eq!(a.header("content-length"), Some("1000"));
    assert_eq!(a.body.len(), 1000);
    assert_ne!(a.body, get(&server, "/bytes/1000").await.body);
    let s1 = get(&server, "/bytes/64?seed=42").await.body;
    let s2 = get(&server, "/bytes/64?seed=42").await.body;
    assert_eq!(s1, s2);
    assert_ne!(s1, get(&server, "/bytes/64?seed=43").await.body);
    assert_eq!(get(&server, "/bytes/0").await.body.len(), 0);
    assert_eq!(get(&server, "/bytes/x").await.status, 400);
}

#[tokio::test]
async fn stream_bytes_is_chunked() {
    let server = TestServer::start().await.unwrap();
    let res = get(&server, "/stream-bytes/5000?chunk_size=1000&seed=1").await;
    assert_eq!(res.body.len(), 5000);
    assert_eq!(res.header("transfer-encoding"), Some("chunked"));
    assert!(res.header("content-length").is_none());
    let again = get(&server, "/stream-bytes/5000?chunk_size=700&seed=1").await;
    assert_eq!(
        res.body, again.body,
        "the seed, not the chunking, decides the bytes"
    );
}

#[tokio::test]
async fn stream_json_lines() {
    let server = TestServer::start().await.unwrap();
    let res = get(&server, "/stream/3?x=1").await;
    let lines: Vec<_> = res.text().lines().map(String::from).collect();
    assert_eq!(lines.len(), 3);
    for (i, line) in lines.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["id"], i);
        assert_eq!(v["args"], json!({"x": "1"}));
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["args", "headers", "id", "origin", "url"]);
    }
    assert_eq!(
        get(&server, "/stream/500").await.text().lines().count(),
        100
    );
}

#[tokio::test]
async fn range_requests() {
    let server = TestServer::start().await.unwrap();
    let full = get(&server, "/range/30").await;
    assert_eq!(full.status, 200);
    assert_eq!(&full.body[..], b"abcdefghijklmnopqrstuvwxyzabcd");
    assert_eq!(full.header("accept-ranges"), Some("bytes"));
    assert_eq!(full.header("etag"), Some("range30"));

    let part = get_with(&server, "/range/30", &[("range", "bytes=24-27")]).await;
    assert_eq!(part.status, 206);
    assert_eq!(&part.body[..], b"yzab");
    assert_eq!(part.header("content-range"), Some("bytes 24-27/30"));
    assert_eq!(part.header("content-length"), Some("4"));

    let bad = get_with(&server, "/range/30", &[("range", "bytes=40-50")]).await;
    assert_eq!(bad.status, 416);
    assert_eq!(bad.header("content-range"), Some("bytes */30"));
    assert_eq!(get(&server, "/range/0").await.status, 404);
}

#[tokio::test]
async fn drip_spreads_bytes_over_the_duration() {
    let server = TestServer::start().await.unwrap();
    let started = Instant::now();
    let res = get(&server, "/drip?duration=0.4&numbytes=5&code=201&delay=0.1").await;
    let took = started.elapsed();
    assert_eq!(res.status, 201);
    assert_eq!(&res.body[..], b"*****");
    assert_eq!(res.header("content-length"), Some("5"));
    // The delay, then four pauses of duration / numbytes between the drops.
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert_eq!(get(&server, "/drip?numbytes=0").await.status, 400);
}

#[tokio::test]
async fn base64_and_links() {
    let server = TestServer::start().await.unwrap();
    assert_eq!(
        get(&server, "/base64/SFRUUEJJTiBpcyBhd2Vzb21l")
            .await
            .text(),
        "HTTPBIN is awesome"
    );
    assert_eq!(get(&server, "/base64/aGk_").await.text(), "hi?");
    assert!(get(&server, "/base64/%25%25")
        .await
        .text()
        .starts_with("Incorrect Base64"));

    let res = get(&server, "/links/3/1").await;
    assert_eq!(
        res.text(),
        "<html><head><title>Links</title></head><body>\
         <a href='/links/3/0'>0</a> 1 <a href='/links/3/2'>2</a> </body></html>"
    );
    let res = get(&server, "/links/3").await;
    assert_eq!(res.status, 302);
    assert_eq!(res.header("location"), Some("/links/3/0"));
}

#[tokio::test]
async fn compressed_endpoints() {
    let server = TestServer::start().await.unwrap();
    type Decode = fn(&[u8]) -> Vec<u8>;
    let decoders: [(&str, &str, &str, Decode); 4] = [
        ("/gzip", "gzip", "gzipped", |b| {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(b)
                .read_to_end(&mut out)
                .unwrap();
            out
        }),
        ("/deflate", "deflate", "deflated", |b| {
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(b)
                .read_to_end(&mut out)
                .unwrap();
            out
        }),
        ("/brotli", "br", "brotli", |b| {
            let mut out = Vec::new();
            brotli::Decompressor::new(b, 4096)
                .read_to_end(&mut out)
                .unwrap();
            out
        }),
        ("/zstd", "zstd", "zstd", |b| zstd::decode_all(b).unwrap()),
    ];
    for (path, coding, flag, decode) in decoders {
        let res = get(&server, path).await;
        assert_eq!(res.header("content-encoding"), Some(coding), "{path}");
        let doc: serde_json::Value = serde_json::from_slice(&decode(&res.body)).unwrap();
        assert_eq!(doc[flag], true, "{path}");
        assert_eq!(doc["method"], "GET");
        assert_eq!(doc["origin"], "127.0.0.1");
        assert!(doc["headers"]["Host"].is_string());
    }
}

#[tokio::test]
async fn documents() {
    let server = TestServer::start().await.unwrap();
    let res = get(&server, "/json").await;
    assert_eq!(res.json()["slideshow"]["title"], "Sample Slide Show");
    let res = get(&server, "/html").await;
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(res.text().contains("<h1>Herman Melville - Moby-Dick</h1>"));
    let res = get(&server, "/xml").await;
    assert_eq!(res.header("content-type"), Some("application/xml"));
    assert!(res.text().contains("<slideshow"));
    assert_eq!(
        get(&server, "/robots.txt").await.text(),
        "User-agent: *\nDisallow: /deny\n"
    );
    assert!(get(&server, "/deny")
        .await
        .text()
        .contains("YOU SHOULDN'T BE HERE"));
    let form = get(&server, "/forms/post").await.text();
    assert!(form.contains(r#"<form method="post" action="/post">"#));
    assert!(form.contains(r#"name="custname""#));
}

#[tokio::test]
async fn images() {
    let server = TestServer::start().await.unwrap();
    let png = get(&server, "/image/png").await;
    assert_eq!(png.header("content-type"), Some("image/png"));
    assert!(png.body.starts_with(b"\x89PNG\r\n\x1a\n"));
    let svg = get_with(&server, "/image", &[("accept", "image/svg+xml")]).await;
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    let any = get_with(&server, "/image", &[("accept", "image/*")]).await;
    assert_eq!(any.header("content-type"), Some("image/png"));
    let none = get_with(&server, "/image", &[("accept", "text/plain")]).await;
    assert_eq!(none.status, 406);
}

#[tokio::test]
async fn cache_and_etag() {
    let server = TestServer::start().await.unwrap();
    let res = get(&server, "/cache").await;
    assert_eq!(res.status, 200);
    assert!(res.header("last-modified").unwrap().ends_with("GMT"));
    assert_eq!(res.header("etag").unwrap().len(), 32);
    let res = get_with(&server, "/cache", &[("if-none-match", "x")]).await;
    assert_eq!(res.status, 304);
    assert!(res.body.is_empty());
    let res = get_with(
        &server,
        "/cache",
        &[("if-modified-since", "Thu, 01 Jan 1970 00:00:00 GMT")],
    )
    .await;
    assert_eq!(res.status, 304);
    let res = get(&server, "/cache/60").await;
    assert_eq!(res.header("cache-control"), Some("public, max-age=60"));

    let res = get(&server, "/etag/abc").await;
    assert_eq!((res.status, res.header("etag")), (200, Some("abc")));
    let res = get_with(&server, "/etag/abc", &[("if-none-match", r#""abc""#)]).await;
    assert_eq!(res.status, 304);
    let res = get_with(&server, "/etag/abc", &[("if-none-match", r#""zzz""#)]).await;
    assert_eq!(res.status, 200);
    let res = get_with(&server, "/etag/abc", &[("if-match", r#""zzz""#)]).await;
    assert_eq!(res.status, 412);
    let res = get_with(&server, "/etag/abc", &[("if-match", "*")]).await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn response_headers_lists_itself() {
    let server = TestServer::start().await.unwrap();
    let res = get(&server, "/response-headers?X-Thing=1&freeform=a&freeform=b").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("x-thing"), Some("1"));
    assert_eq!(res.header_all("freeform"), ["a", "b"]);
    let body = res.json();
    assert_eq!(body["X-Thing"], "1");
    assert_eq!(body["freeform"], json!(["a", "b"]));
    assert_eq!(body["Content-Type"], "application/json");
    assert_eq!(
        body["Content-Length"],
        res.body.len().to_string().as_str(),
        "Content-Length in the body is the body's own length"
    );
    let res = get(&server, "/response-headers?Content-Length=1").await;
    assert_eq!(res.status, 400);
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let server = TestServer::start().await.unwrap();
    let (bytes, end) = raw(server.addr(), &raw_get("/nope"), Duration::from_millis(300)).await;
    assert_eq!(
        end,
        End::TimedOut,
        "keep-alive: the server keeps the connection"
    );
    assert!(String::from_utf8(bytes)
        .unwrap()
        .starts_with("HTTP/1.1 404 Not Found\r\n"));
}
