use std::io::Write;

use http::Method;
use stampede_http::{Encoding, Request};
use tokio::io::AsyncWriteExt;

use crate::common::*;

#[tokio::test]
async fn chunked_body_is_reassembled() {
    let addr = canned(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-Trailer: t\r\n\r\n",
        true,
    )
    .await;
    let session = client().session();
    let u = format!("http://{addr}/");
    let ex = get(&session, &u).await;
    assert_eq!(&ex.response.body[..], b"hello, world");
    // The connection stayed usable.
    let again = get(&session, &u).await;
    assert_eq!(&again.response.body[..], b"hello, world");
    assert_eq!(again.hops[0].timings.connecting, std::time::Duration::ZERO);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

#[tokio::test]
async fn gzip_response_is_decoded_and_header_kept() {
    let addr = raw_server(|mut s| async move {
        while read_request(&mut s).await.is_some() {
            let body = gzip(b"compressed hello");
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(&body).await;
        }
    })
    .await;
    let session = client().session();
    let ex = get(&session, &format!("http://{addr}/")).await;
    assert_eq!(&ex.response.body[..], b"compressed hello");
    assert_eq!(ex.response.header("Content-Encoding"), Some("gzip"));
    assert!(ex.hops[0].bytes_received > 0);
}

#[tokio::test]
async fn broken_gzip_is_error_1701() {
    let addr = canned(
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 4\r\n\r\nnope",
        true,
    )
    .await;
    let ex = get(&client().session(), &format!("http://{addr}/")).await;
    assert_eq!(ex.response.status, 0);
    assert_eq!(ex.response.error.as_ref().unwrap().code, 1701);
    assert_eq!(ex.hops[0].status, 200);
    assert_eq!(ex.hops[0].error.as_ref().unwrap().code, 1701);
}

#[tokio::test]
async fn discarded_body_is_read_and_counted() {
    const RESP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789";
    let addr = canned(RESP, true).await;
    let session = client().session();
    let mut req = Request::get(url(&format!("http://{addr}/")));
    req.discard_body = true;
    let ex = session.request(req, None).await;
    assert!(ex.response.body.is_empty());
    assert_eq!(ex.hops[0].bytes_received, RESP.len() as u64);
    assert_eq!(session.idle_connections(), 1);
}

#[tokio::test]
async fn no_body_for_head_204_304_and_interim_responses_are_skipped() {
    let addr = raw_server(|mut s| async move {
        while let Some((head, _)) = read_request(&mut s).await {
            let resp: &[u8] = if head.starts_with("HEAD") {
                b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
            } else if head.contains("/204") {
                b"HTTP/1.1 204 No Content\r\n\r\n"
            } else if head.contains("/304") {
                b"HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"
            } else {
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
            };
            if s.write_all(resp).await.is_err() {
                return;
            }
        }
    })
    .await;
    let session = client().session();
    let base = format!("http://{addr}");
    let head = session
        .request(Request::new(Method::HEAD, url(&format!("{base}/"))), None)
        .await;
    assert_eq!(head.response.status, 200);
    assert!(head.response.body.is_empty());
    assert_eq!(
        get(&session, &format!("{base}/204")).await.response.status,
        204
    );
    assert_eq!(
        get(&session, &format!("{base}/304")).await.response.status,
        304
    );
    let ex = get(&session, &format!("{base}/interim")).await;
    assert_eq!(ex.response.status, 200);
    assert_eq!(&ex.response.body[..], b"ok");
    assert_eq!(ex.response.header("Link"), None);
    // All on one connection.
    assert_eq!(ex.hops[0].timings.connecting, std::time::Duration::ZERO);
}

#[tokio::test]
async fn large_bodies_both_ways() {
    let addr = echo_server().await;
    let session = client().session();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let req = Request::new(Method::POST, url(&format!("http://{addr}/big"))).body(big.clone());
    let ex = session.request(req, None).await;
    assert_eq!(ex.response.status, 200, "{:?}", ex.response.error);
    assert!(ex.response.body.ends_with(&big));
    assert!(ex.hops[0].bytes_sent > 3_000_000);
    assert!(ex.hops[0].bytes_received > 3_000_000);
}

#[tokio::test]
async fn close_delimited_body() {
    let addr = canned(b"HTTP/1.1 200 OK\r\n\r\nuntil close", false).await;
    let session = client().session();
    let ex = get(&session, &format!("http://{addr}/")).await;
    assert_eq!(&ex.response.body[..], b"until close");
    assert_eq!(session.idle_connections(), 0);
}

#[tokio::test]
async fn request_body_compression() {
    let addr = echo_server().await;
    let session = client().session();
    let mut req =
        Request::new(Method::POST, url(&format!("http://{addr}/"))).body("a".repeat(1000));
    req.compression = vec![Encoding::Gzip, Encoding::Br];
    let ex = session.request(req, None).await;
    let text = String::from_utf8_lossy(&ex.response.body).into_owned();
    assert!(text.contains("Content-Encoding: gzip, br\r\n"), "{text}");
    let cl: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(cl < 1000);
}

#[tokio::test]
async fn large_chunked_body_collected_and_discarded() {
    let addr = raw_server(|mut s| async move {
        while read_request(&mut s).await.is_some() {
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await;
            let chunk = vec![b'x'; 65536];
            for _ in 0..16 {
                let _ = s.write_all(b"10000\r\n").await;
                let _ = s.write_all(&chunk).await;
                let _ = s.write_all(b"\r\n").await;
            }
            if s.write_all(b"0\r\n\r\n").await.is_err() {
                return;
            }
        }
    })
    .await;
    let session = client().session();
    let u = format!("http://{addr}/");
    let ex = get(&session, &u).await;
    assert_eq!(ex.response.body.len(), 16 * 65536);
    let mut req = Request::get(url(&u));
    req.discard_body = true;
    let ex = session.request(req, None).await;
    assert!(ex.response.body.is_empty());
    assert!(ex.hops[0].bytes_received > 16 * 65536);
    assert_eq!(ex.hops[0].timings.connecting, std::time::Duration::ZERO);
}
